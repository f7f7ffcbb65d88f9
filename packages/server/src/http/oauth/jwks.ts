/**
 * `GET /.well-known/jwks.json`: the public keys that verify this server's JWT access tokens
 * (RFC 7517 §5), served in JWT mode. The current key is made on first request if there is none
 * yet, so resource servers can fetch keys before the first token; retired keys stay listed
 * until every token they signed has expired.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import type { OAuthApp, OAuthContext } from './context.js';
import { guardStore, OAuthErrorBody } from './errors.js';

/** RFC 7517 §5 JWK set of Ed25519 public keys (RFC 8037 §2). */
export const JwkSet = Type.Object({
  keys: Type.Array(
    Type.Object({
      kty: Type.String(),
      crv: Type.String(),
      x: Type.String(),
      kid: Type.String(),
      alg: Type.String(),
      use: Type.String(),
    }),
  ),
});

// Short, because a new key appears at each rotation (clients re-fetch on an unknown kid anyway).
const MAX_AGE_SECONDS = 60;

/** Registers `GET /.well-known/jwks.json`. */
export function jwksRoute(app: OAuthApp, ctx: OAuthContext): void {
  const { kw } = ctx;
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Public keys of the JWT access tokens (RFC 7517 JWK set)',
        response: { 200: JwkSet, 503: OAuthErrorBody },
      },
    },
    async (request, reply) => {
      const keys = await guardStore(kw, request, async () => {
        await kw.store.signingKeys.current();
        return kw.store.signingKeys.publishedKeys();
      });
      return reply
        .header('cache-control', `public, max-age=${MAX_AGE_SECONDS}`)
        .send({ keys: keys.map((k) => ({ ...k.jwk })) });
    },
  );
}
