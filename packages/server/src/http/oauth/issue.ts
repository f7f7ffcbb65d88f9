/**
 * Issuing an access token for an authenticated client: opaque (`kw_at_…`, stored hashed) by
 * default, or a signed JWT recorded by its `jti` when the server is configured for JWTs.
 *
 * @packageDocumentation
 */

import type { FastifyRequest } from 'fastify';
import { MAX_TOKEN_TTL_SECONDS } from '../../config/index.js';
import type { ServerContext } from '../context.js';
import type { OAuthClient } from './client-auth.js';
import { guardStore, OAuthError } from './errors.js';
import { signAccessToken } from './jwt.js';

/** A token as the token endpoint returns it. */
export interface IssuedAccessToken {
  /** The token string, shown once. */
  readonly accessToken: string;
  /** Seconds until it expires (RFC 6749 §5.1 `expires_in`). */
  readonly expiresIn: number;
}

/**
 * The lifetime of a new token, in seconds: the configured one (never above an hour), cut short so
 * that the token does not outlive its key (it would be refused after that anyway).
 */
export function tokenLifetime(kw: ServerContext, client: OAuthClient): number {
  let seconds = Math.min(kw.config.tokenTtlSeconds, MAX_TOKEN_TTL_SECONDS);
  const { expiresAt } = client.key;
  if (expiresAt !== null) seconds = Math.min(seconds, Math.floor((expiresAt - kw.clock.now()) / 1000));
  return Math.max(1, seconds);
}

/** Issues a token with `scopes` (already narrowed) for `client`; a store failure is 503. */
export async function issueAccessToken(
  kw: ServerContext,
  request: FastifyRequest,
  client: OAuthClient,
  scopes: readonly string[],
): Promise<IssuedAccessToken> {
  const expiresIn = tokenLifetime(kw, client);
  const grant = { keyId: client.rawId, accountId: client.key.accountId, scopes, ttlMs: expiresIn * 1000 };
  const { store } = kw;
  if (kw.config.tokenFormat === 'jwt') {
    return guardStore(kw, request, async () => {
      // The key first: if none can be had, nothing is recorded.
      const key = await store.signingKeys.current();
      const recorded = await store.tokens.record(grant);
      if (!recorded.ok) throw new OAuthError('server_error', 'the token lifetime is out of range');
      return { accessToken: await signAccessToken(kw.config, key, recorded.value), expiresIn };
    });
  }
  return guardStore(kw, request, async () => {
    const issued = await store.tokens.issue(grant);
    if (!issued.ok) throw new OAuthError('server_error', 'the token lifetime is out of range');
    return { accessToken: issued.value.token, expiresIn };
  });
}
