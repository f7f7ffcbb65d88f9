/**
 * OAuth 2.0 bearer access tokens (RFC 6750), opaque `kw_at_…` tokens issued by the token
 * endpoint. Verified tokens are cached like keys; revocation invalidates the cached copy.
 *
 * @packageDocumentation
 */

import { identify } from '@keyward/core';
import type { VerifierContext } from './context.js';
import type { Transport } from './transport.js';
import type { Outcome } from './types.js';

/** An access token presented as `Authorization: Bearer` (RFC 6750 §2.1). */
export async function verifyAccessToken(ctx: VerifierContext, transport: Transport, token: string): Promise<Outcome> {
  const parts = identify(token);
  if (parts?.type !== 'access_token' || parts.id === undefined || parts.secret === undefined) {
    ctx.recordFailure(transport);
    return ctx.refuse('malformed_token', { bearerPresented: true });
  }
  const found = await ctx.accessToken(parts.id, parts.secret);
  if (found === undefined || found.revokedAt !== null) {
    ctx.recordFailure(transport);
    return ctx.refuse('token_invalid', { bearerPresented: true });
  }
  if (found.expiresAt <= ctx.clock.now()) return ctx.refuse('token_expired', { bearerPresented: true });
  const entry = await ctx.keyCredential(found.keyId);
  if (entry.credential === null) return ctx.refuse('token_invalid', { bearerPresented: true });
  return ctx.keyProblem(entry.credential, 'oauth2') ?? ctx.admit(found.keyId, entry.credential, 'oauth2', found.scopes);
}
