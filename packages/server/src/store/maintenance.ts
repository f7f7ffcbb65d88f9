/**
 * Store maintenance: what the server's hourly job deletes, kept with the store it drives so
 * that an embedder running its own scheduler can call it too.
 *
 * @packageDocumentation
 */

import type { Store } from './index.js';

/**
 * How long an access token or session is kept once it ended (expired or revoked) before the
 * hourly maintenance deletes it: a week, so that admins still find recently ended sessions and
 * tokens in the admin listings (and next to their audit events) when looking into an incident,
 * while the tables stop growing with every token ever issued.
 */
export const ENDED_RETENTION_MS = 7 * 24 * 60 * 60_000;

/**
 * Deletes the access tokens and sessions that ended more than `retentionMs` before `now`
 * (milliseconds): tokens by expiry (a revoked token expires within the hour anyway, and its row
 * must outlive its JWT's `exp` for the revocation to hold), sessions by absolute expiry, idle
 * expiry or revocation. Resolves how many of each were deleted. Safe to run from several
 * instances at once.
 */
export async function purgeEnded(
  store: Store,
  now: number,
  retentionMs: number = ENDED_RETENTION_MS,
): Promise<{ tokens: number; sessions: number }> {
  const before = now - retentionMs;
  const tokens = await store.tokens.purgeExpired(before);
  const sessions = await store.sessions.purgeEnded(before);
  return { tokens, sessions };
}
