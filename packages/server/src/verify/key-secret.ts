/**
 * The one key-secret check: a key id and its secret, presented directly. HTTP Basic, the API key
 * token and the OAuth endpoints' client authentication (RFC 6749 §2.3.1) all come here, so
 * there is one failure accounting and one equal-cost miss for all of them.
 *
 * @packageDocumentation
 */

import { identify } from '@keyward/core';
import type { CachedKey, VerifierContext } from './context.js';
import type { Transport } from './transport.js';
import type { AuthMethod, Outcome } from './types.js';

/**
 * Verifies a key id and secret (raw parts). Unknown id and wrong secret are refused alike, with
 * the same code and the same work; the key's state is told only once the secret matched. A
 * failure counts per address and per (key id, address); over either limit it answers 429
 * `rate_limited` instead of 401, for a known and an unknown id alike.
 * `presented` is the `Authorization` scheme they came in (for the refusal's challenge).
 */
export function verifyKeySecret(
  ctx: VerifierContext,
  transport: Transport,
  method: AuthMethod,
  rawId: string,
  rawSecret: string,
  presented: string | undefined,
): Outcome | Promise<Outcome> {
  // A cached key is checked without a promise (an outcome at once, unless a limiter answers
  // with one); only a cache miss waits for the store.
  const cached = ctx.cachedKey(rawId);
  if (cached !== undefined) return checkKeySecret(ctx, transport, method, rawId, rawSecret, presented, cached);
  return ctx
    .keyCredential(rawId)
    .then((entry) => checkKeySecret(ctx, transport, method, rawId, rawSecret, presented, entry));
}

function checkKeySecret(
  ctx: VerifierContext,
  transport: Transport,
  method: AuthMethod,
  rawId: string,
  rawSecret: string,
  presented: string | undefined,
  entry: CachedKey,
): Outcome | Promise<Outcome> {
  // The secret is checked before any limit: the right one is admitted however many failures
  // others caused (from this address or any other); a wrong one over a limit becomes 429.
  if (!ctx.secretMatches(rawId, entry, rawSecret) || entry.credential === null) {
    return ctx.recordFailure(transport, rawId).then((limited) => limited ?? ctx.refuse('key_unknown', {}, presented));
  }
  return ctx.keyProblem(entry.credential, method, presented) ?? ctx.admit(rawId, entry.credential, method);
}

/**
 * {@link verifyKeySecret} for a `kw_kid_…` key id and a `kw_sk_…` secret as presented: strings
 * that are not those are refused as `malformed_token` (counted against the address, before any
 * lookup). HTTP Basic and the OAuth endpoints' client authentication both come here.
 */
export function verifyPresentedKey(
  ctx: VerifierContext,
  transport: Transport,
  method: AuthMethod,
  keyId: string,
  secret: string,
  presented: string | undefined,
): Outcome | Promise<Outcome> {
  const id = identify(keyId);
  const parts = identify(secret);
  if (id?.type !== 'key_id' || id.id === undefined || parts?.type !== 'key_secret' || parts.secret === undefined) {
    return ctx
      .recordFailure(transport)
      .then(
        (limited) =>
          limited ??
          ctx.refuse('malformed_token', { detail: 'expected a kw_kid_ key id and a kw_sk_ secret' }, presented),
      );
  }
  return verifyKeySecret(ctx, transport, method, id.id, parts.secret, presented);
}
