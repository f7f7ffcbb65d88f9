/**
 * Finding the access token a client presents to introspection (RFC 7662) or revocation
 * (RFC 7009): an opaque `kw_at_…` token whose secret matches, or (in JWT mode) a JWT this server
 * signed whose `jti` row agrees with its claims. Anything else is no token at all.
 *
 * @packageDocumentation
 */

import { constantTimeEqual, hashSecret, identify } from '@keyward/core';
import type { FastifyRequest } from 'fastify';
import type { AccessToken } from '../../store/tokens.js';
import { looksLikeJwt } from '../../verify/jwt.js';
import { UNMATCHABLE } from '../../verify/ports.js';
import type { ServerContext } from '../context.js';
import { guardStore } from './errors.js';
import { verifyOwnJwt } from './jwt.js';

/** A token found from its string; `audience` is set for a JWT. */
export interface FoundToken {
  readonly token: AccessToken;
  readonly audience?: string | string[] | undefined;
}

/**
 * The recorded token behind `presented`, whatever its state (revoked, expired: the caller
 * decides), or `undefined` when the string is not a token this server issued. Throws (503) when
 * the store fails.
 */
export async function findAccessToken(
  kw: ServerContext,
  request: FastifyRequest,
  presented: string,
): Promise<FoundToken | undefined> {
  const { store } = kw;
  const parts = identify(presented);
  if (parts !== undefined) {
    if (parts.type !== 'access_token' || parts.id === undefined || parts.secret === undefined) return undefined;
    const rawId = parts.id;
    const row = await guardStore(kw, request, () => store.tokens.lookup(rawId));
    const matched = constantTimeEqual(row?.hash ?? UNMATCHABLE, hashSecret(store.context.keyring.pepper, parts.secret));
    if (row === undefined || !matched || row.format !== 'opaque') return undefined;
    const { hash: _hash, ...token } = row;
    return { token };
  }
  // JWTs are this server's only in JWT mode; otherwise a JWT is someone else's token.
  if (kw.config.tokenFormat !== 'jwt' || !looksLikeJwt(presented)) return undefined;
  return guardStore(kw, request, async () => {
    const claims = await verifyOwnJwt(kw.config, store, kw.clock, presented);
    if (claims?.jti === undefined) return undefined;
    const row = await store.tokens.lookup(claims.jti);
    // The row must be the one this JWT was signed for: same key, same account.
    const client = typeof claims.client_id === 'string' ? identify(claims.client_id) : undefined;
    if (row === undefined || row.format !== 'jwt' || client?.id !== row.keyId || claims.sub !== row.accountId) {
      return undefined;
    }
    const { hash: _hash, ...token } = row;
    return { token, audience: claims.aud };
  });
}
