/**
 * OAuth 2.0 bearer access tokens (RFC 6750): opaque `kw_at_…` tokens issued by the token
 * endpoint, and, when configured, JWT access tokens (RFC 9068, EdDSA). Verified tokens are
 * cached like keys; a revocation invalidates the cached copy. The key the token was issued to
 * must still be usable.
 *
 * @packageDocumentation
 */

import { identify, METHOD_TABLE } from '@keyward/core';
import { errors, type JWTPayload } from 'jose';
import type { VerifierContext } from '../context.js';
import { looksLikeJwt, verifyAccessTokenJwt } from '../jwt.js';
import { bearerChallenge } from '../refusals.js';
import { defineScheme } from '../scheme.js';
import type { Transport } from '../transport.js';
import type { Outcome } from '../types.js';

const BEARER = 'bearer';

/** An opaque access token (`kw_at_…`). */
async function verifyOpaque(ctx: VerifierContext, transport: Transport, token: string): Promise<Outcome> {
  const parts = identify(token);
  if (parts?.type !== 'access_token' || parts.id === undefined || parts.secret === undefined) {
    return (await ctx.recordFailure(transport)) ?? ctx.refuse('malformed_token', {}, BEARER);
  }
  const found = await ctx.accessToken(parts.id, parts.secret);
  if (found === undefined || found.revokedAt !== null) {
    return (await ctx.recordFailure(transport)) ?? ctx.refuse('token_invalid', {}, BEARER);
  }
  if (found.expiresAt <= ctx.clock.now()) return ctx.refuse('token_expired', {}, BEARER);
  const entry = await ctx.keyCredential(found.keyId);
  if (entry.credential === null) return ctx.refuse('token_invalid', {}, BEARER);
  return (
    ctx.keyProblem(entry.credential, 'oauth2', BEARER) ??
    ctx.admit(found.keyId, entry.credential, 'oauth2', found.scopes)
  );
}

/** A JWT access token (RFC 9068). */
async function verifyJwt(ctx: VerifierContext, transport: Transport, token: string): Promise<Outcome> {
  const jwt = ctx.settings.jwt;
  if (jwt === undefined) return ctx.refuse('token_invalid', {}, BEARER);
  let payload: JWTPayload;
  try {
    payload = await verifyAccessTokenJwt(token, jwt.getKey, { ...jwt.options, now: ctx.clock.now() });
  } catch (error) {
    // Anything but a JOSE verdict (a store that cannot be read for the signing key) propagates:
    // the verifier answers 503 for a store that is down, 500 for anything else.
    if (!(error instanceof errors.JOSEError)) throw error;
    if (error instanceof errors.JWTExpired) return ctx.refuse('token_expired', {}, BEARER);
    return (await ctx.recordFailure(transport)) ?? ctx.refuse('token_invalid', {}, BEARER);
  }
  const client = typeof payload.client_id === 'string' ? identify(payload.client_id) : undefined;
  const jti = payload.jti;
  if (client?.type !== 'key_id' || client.id === undefined || typeof jti !== 'string') {
    return ctx.refuse('token_invalid', {}, BEARER);
  }
  if (await ctx.jtiRevoked(jti)) return ctx.refuse('token_invalid', {}, BEARER);
  const entry = await ctx.keyCredential(client.id);
  const credential = entry.credential;
  if (credential === null || payload.sub !== credential.key.accountId) return ctx.refuse('token_invalid', {}, BEARER);
  // RFC 9068 §2.2.3: `scope` is a space-separated list, as in RFC 6749 §3.3.
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter((s) => s !== '') : [];
  return ctx.keyProblem(credential, 'oauth2', BEARER) ?? ctx.admit(client.id, credential, 'oauth2', scopes);
}

/** The `oauth2` scheme: claims `kw_at_…` bearer tokens and JWS compact tokens. */
export const oauth2Scheme = defineScheme<string>({
  method: 'oauth2',
  httpScheme: METHOD_TABLE.oauth2.httpScheme,
  sendsSecret: METHOD_TABLE.oauth2.sendsSecret,
  needsBody: () => false,
  claim({ authorization }) {
    if (authorization?.scheme !== BEARER) return undefined;
    const token = authorization.credentials;
    return token.startsWith('kw_at_') || looksLikeJwt(token) ? { claimed: token } : undefined;
  },
  verify(token, { transport }, ctx) {
    return ctx.settings.jwt !== undefined && looksLikeJwt(token)
      ? verifyJwt(ctx, transport, token)
      : verifyOpaque(ctx, transport, token);
  },
  challenge: bearerChallenge,
});
