/**
 * The two methods that present a key id and its secret directly: HTTP Basic (RFC 7617) with
 * `kw_kid_…:kw_sk_…`, and the API key token `kw_key_…` as `Authorization: Bearer` (RFC 6750
 * syntax) or, when enabled, in `X-API-Key`.
 *
 * @packageDocumentation
 */

import { identify } from '@keyward/core';
import type { VerifierContext } from './context.js';
import type { Transport } from './transport.js';
import type { Outcome } from './types.js';

/**
 * Verifies a key id and secret (raw parts). Unknown id and wrong secret are refused alike, with
 * the same code and the same work; the key's state is told only once the secret matched.
 */
export async function verifyKeySecret(
  ctx: VerifierContext,
  transport: Transport,
  method: 'basic' | 'api-key',
  rawId: string,
  rawSecret: string,
): Promise<Outcome> {
  const bearer = method === 'api-key';
  const limited = ctx.checkKeyFailures(rawId);
  if (limited !== undefined) return limited;
  const entry = await ctx.keyCredential(rawId);
  if (!ctx.secretMatches(rawId, entry, rawSecret) || entry.credential === null) {
    ctx.recordFailure(transport, rawId);
    return ctx.refuse('key_unknown', { bearerPresented: bearer });
  }
  return ctx.keyProblem(entry.credential, method) ?? ctx.admit(rawId, entry.credential, method);
}

/** Basic credentials: user-id is the key id, password is the key secret. */
export function verifyBasic(
  ctx: VerifierContext,
  transport: Transport,
  userId: string,
  password: string,
): Promise<Outcome> | Outcome {
  const id = identify(userId);
  const secret = identify(password);
  if (id?.type !== 'key_id' || secret?.type !== 'key_secret' || id.id === undefined || secret.secret === undefined) {
    ctx.recordFailure(transport);
    return ctx.refuse('malformed_token', { detail: 'Basic credentials must be a kw_kid_ key id and a kw_sk_ secret' });
  }
  return verifyKeySecret(ctx, transport, 'basic', id.id, secret.secret);
}

/** An API key token (`kw_key_…`). */
export function verifyApiKeyToken(
  ctx: VerifierContext,
  transport: Transport,
  token: string,
): Promise<Outcome> | Outcome {
  const parts = identify(token);
  if (parts?.type !== 'api_key' || parts.id === undefined || parts.secret === undefined) {
    ctx.recordFailure(transport);
    return ctx.refuse('malformed_token', { bearerPresented: true });
  }
  return verifyKeySecret(ctx, transport, 'api-key', parts.id, parts.secret);
}
