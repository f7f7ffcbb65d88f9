/**
 * OAuth 2.0 access tokens as JWTs (RFC 9068 profile, EdDSA), for deployments that issue them:
 * signature and `iss`/`aud`/`exp` checked with jose, then the key named by `client_id` must
 * still be usable, and a token whose `jti` was revoked is refused.
 *
 * @packageDocumentation
 */

import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';

/** The JWS algorithm of every signing key (RFC 8037 §3.1). */
export const SIGNING_ALGORITHM = 'EdDSA';

/** How the verifier checks JWT access tokens. */
export interface JwtOptions {
  /** The `iss` the tokens must carry (the token endpoint's issuer identifier). */
  readonly issuer: string;
  /** The `aud` the tokens must carry. */
  readonly audience: string | readonly string[];
  /** The signing keys: a JWK set (as served at /.well-known/jwks.json) or a jose key resolver. */
  readonly keys: JSONWebKeySet | JWTVerifyGetKey;
}

/** RFC 9068 §2.1: the `typ` header of a JWT access token. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/**
 * The claims of a JWT access token (RFC 9068) valid at `now` (milliseconds): an EdDSA signature
 * by one of `getKey`'s keys, `typ` `at+jwt` (§4: resource servers must check it, so that no
 * other JWT signed with the same key is taken for an access token), `iss`, `aud`, `exp`, and
 * the claims §2.2 requires. Throws jose's error for a token that fails any of that; any other
 * error (a store that cannot be read for the signing key) propagates as it is.
 */
export async function verifyAccessTokenJwt(
  token: string,
  getKey: JWTVerifyGetKey,
  expected: { readonly issuer: string; readonly audience: string | readonly string[]; readonly now: number },
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, getKey, {
    issuer: expected.issuer,
    audience: typeof expected.audience === 'string' ? expected.audience : [...expected.audience],
    // EdDSA only: never `none`, never an HMAC "signed" with a public key (RFC 8725 §3.1).
    algorithms: [SIGNING_ALGORITHM],
    typ: ACCESS_TOKEN_TYP,
    requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
    currentDate: new Date(expected.now),
  });
  return payload;
}

/** A token in JWS compact serialization (RFC 7515 §7.1): three base64url parts. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/** Resolves the option's keys once. */
export function jwtKeyResolver(options: JwtOptions): JWTVerifyGetKey {
  return typeof options.keys === 'function' ? options.keys : createLocalJWKSet(options.keys);
}
