/**
 * JWT access tokens (RFC 9068 profile), signed with EdDSA (Ed25519, RFC 8037) by the store's
 * current signing key; and the verifier settings that make the server accept its own tokens.
 *
 * Claims: `iss` and `aud` are the public URL (the server is both the issuer and the resource
 * server it protects; RFC 9068 §3 lets the issuer choose the audience), `sub` the account,
 * `client_id` the key (`kw_kid_…`), `scope`, `iat`, `exp`, and `jti` = the id of the
 * `access_tokens` row that records the token, which is how revocation reaches it.
 *
 * @packageDocumentation
 */

import { errors, type JWTPayload, SignJWT } from 'jose';
import type { KeywardConfig } from '../../config/index.js';
import type { Clock } from '../../store/context.js';
import type { Store } from '../../store/index.js';
import { SIGNING_ALGORITHM, type SigningKey } from '../../store/signing-keys.js';
import type { AccessToken } from '../../store/tokens.js';
import { ACCESS_TOKEN_TYP, type JwtOptions, verifyAccessTokenJwt } from '../../verify/jwt.js';
import { clientIdOf } from './client-auth.js';

/** The `aud` of every JWT the server issues: its own public URL. */
export function tokenAudience(config: KeywardConfig): string {
  return config.publicUrl;
}

/**
 * The verifier's `jwt` option when the server issues JWTs (`tokenFormat: 'jwt'`): its own issuer
 * and audience, and a key resolver over the signing keys in the store (a key another instance
 * made is read from the database on first sight). `undefined` for opaque tokens.
 */
export function jwtVerifierOptions(config: KeywardConfig, store: Store): JwtOptions | undefined {
  if (config.tokenFormat !== 'jwt') return undefined;
  return { issuer: config.publicUrl, audience: tokenAudience(config), keys: store.signingKeys.keyResolver() };
}

/** Signs the JWT for a recorded token; its times are the row's, in seconds (RFC 7519 §2 NumericDate). */
export function signAccessToken(config: KeywardConfig, key: SigningKey, token: AccessToken): Promise<string> {
  const claims: JWTPayload = { client_id: clientIdOf(token.keyId) };
  // RFC 9068 §2.2.3: scope as in RFC 6749 §3.3; left out when the token has none.
  if (token.scopes.length > 0) claims.scope = token.scopes.join(' ');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(config.publicUrl)
    .setSubject(token.accountId)
    .setAudience(tokenAudience(config))
    .setIssuedAt(Math.floor(token.createdAt / 1000))
    .setExpirationTime(Math.floor(token.expiresAt / 1000))
    .setJti(token.id)
    .sign(key.privateKey);
}

/**
 * The claims of a JWT this server signed and that is valid now (signature by a published key,
 * `typ`, `iss`, `aud`, `exp`); `undefined` for anything else. A store failure while looking up
 * the signing key is thrown, not taken for an invalid token.
 */
export async function verifyOwnJwt(
  config: KeywardConfig,
  store: Store,
  clock: Clock,
  jwt: string,
): Promise<JWTPayload | undefined> {
  try {
    return await verifyAccessTokenJwt(jwt, store.signingKeys.keyResolver(), {
      issuer: config.publicUrl,
      audience: tokenAudience(config),
      now: clock.now(),
    });
  } catch (error) {
    if (error instanceof errors.JOSEError) return undefined;
    throw error;
  }
}
