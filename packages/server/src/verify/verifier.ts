/**
 * `createVerifier(...)`: one `verify(request)` for every method. It knows no framework: adapters
 * turn their request into a {@link VerifyRequest} and the {@link Outcome} back into a response.
 *
 * @packageDocumentation
 */

import { parseBasicCredentials, parseBearerCredentials, splitAuthorizationHeader } from '@keyward/core';
import { type Limit, type Limiter, MemoryLimiter } from '../state/limiter.js';
import type { NonceStore } from '../state/nonces.js';
import { type Clock, systemClock } from '../store/context.js';
import type { Store } from '../store/index.js';
import { DEFAULT_SESSION_IDLE_MS } from '../store/sessions.js';
import { headerValue, VerifierContext } from './context.js';
import { type JwtOptions, jwtKeyResolver, looksLikeJwt, verifyJwtAccessToken } from './jwt.js';
import { verifyApiKeyToken, verifyBasic } from './key-secret.js';
import { verifyOAuth1Request } from './oauth1.js';
import { checkScopes } from './scopes.js';
import { type SessionIpPolicy, verifySessionToken } from './sessions.js';
import { verifyAccessToken } from './tokens.js';
import { TrustedProxies, transportOf } from './transport.js';
import { AUTH_METHODS, type AuthMethod, type Outcome, type RouteOptions, type VerifyRequest } from './types.js';

/** What a verifier is built from. */
export interface VerifierOptions {
  readonly store: Store;
  readonly nonces: NonceStore;
  /** The public origin callers sign against (`https://api.example.com`). */
  readonly origin: string;
  readonly clock?: Clock | undefined;
  readonly limiter?: Limiter | undefined;
  /** Proxies whose `X-Forwarded-For` / `-Proto` are believed: addresses or CIDR blocks. */
  readonly trustProxy?: readonly string[] | undefined;
  /** Methods accepted. Default: all of them. */
  readonly methods?: readonly AuthMethod[] | undefined;
  /** OAuth 1.0a timestamp window, seconds either side. Default 300. */
  readonly timestampWindowSeconds?: number | undefined;
  /** Accept OAuth 1.0a PLAINTEXT (over TLS only). Default false. */
  readonly plaintext?: boolean | undefined;
  /** Accept the API key token in `X-API-Key`. Default false. */
  readonly apiKeyHeader?: boolean | undefined;
  /** `realm` of the challenges. Default {@link DEFAULT_REALM}. */
  readonly realm?: string | undefined;
  /** Failed attempts allowed per client address. Default 30 per minute. */
  readonly failuresPerIp?: Limit | undefined;
  /** Failed attempts allowed per key id. Default 10 per minute. */
  readonly failuresPerKey?: Limit | undefined;
  /** Credential cache bounds. Default 10,000 keys for 60 s. */
  readonly cache?: { maxEntries?: number; ttlMs?: number } | undefined;
  /** Verify JWT access tokens too (EdDSA, RFC 9068): the issuer, audience and signing keys. */
  readonly jwt?: JwtOptions | undefined;
  /** A session used from another address than it was issued to: revoke it (default), reject the request, or allow. */
  readonly sessionIpPolicy?: SessionIpPolicy | undefined;
  /** Idle timeout a session's use slides forward, in milliseconds. Default 30 minutes. */
  readonly sessionIdleMs?: number | undefined;
  /** End a signed session on a request with its token but a bad signature. Default false. */
  readonly voidSessionOnBadSignature?: boolean | undefined;
  /**
   * Told about an error that made the verifier fail closed (503 `store_unavailable`), such as
   * a database that cannot be reached. Never given a secret. Default: a process warning.
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** The `realm` of the challenges unless told otherwise (RFC 7235 §2.2). */
export const DEFAULT_REALM = 'keyward';

/** A verifier. */
export interface Verifier {
  /** Who is calling and what they may do, or why not. Never throws on bad input. */
  verify(req: VerifyRequest, route?: RouteOptions): Promise<Outcome>;
}

// Which method a bearer token is for, by its prefix (RFC 6750 tokens are opaque to clients,
// not to us); anything unrecognised is treated as an API key and refused as malformed.
function bearerMethod(token: string): 'api-key' | 'oauth2' | 'session' {
  if (token.startsWith('kw_at_') || looksLikeJwt(token)) return 'oauth2';
  if (token.startsWith('kw_st_')) return 'session';
  return 'api-key';
}

// Methods that put a secret on the wire: over plain HTTP only from loopback or a trusted proxy
// that says https.
function carriesSecret(method: AuthMethod): boolean {
  return method === 'basic' || method === 'api-key' || method === 'oauth2' || method === 'session';
}

/** Builds a verifier. Throws `TypeError` on bad options (an origin that is not an origin, a bad CIDR). */
export function createVerifier(options: VerifierOptions): Verifier {
  const clock = options.clock ?? systemClock;
  const realm = options.realm ?? DEFAULT_REALM;
  if (!/^[\x20-\x7e]*$/.test(realm) || /["\\]/.test(realm))
    throw new TypeError('realm must be printable ASCII without quotes');
  new URL(options.origin); // fail fast on a malformed origin
  const ctx = new VerifierContext(
    {
      origin: options.origin,
      realm,
      methods: new Set(options.methods ?? AUTH_METHODS),
      timestampWindowSeconds: options.timestampWindowSeconds ?? 300,
      plaintext: options.plaintext ?? false,
      apiKeyHeader: options.apiKeyHeader ?? false,
      failuresPerIp: options.failuresPerIp ?? { limit: 30, windowSeconds: 60 },
      failuresPerKey: options.failuresPerKey ?? { limit: 10, windowSeconds: 60 },
      sessionIpPolicy: options.sessionIpPolicy ?? 'revoke',
      sessionIdleMs: options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS,
      voidSessionOnBadSignature: options.voidSessionOnBadSignature ?? false,
    },
    options.store,
    options.nonces,
    options.limiter ?? new MemoryLimiter(clock),
    new TrustedProxies(options.trustProxy ?? []),
    clock,
    options.cache ?? {},
  );
  const { methods } = ctx.settings;
  const jwt = options.jwt === undefined ? undefined : { options: options.jwt, getKey: jwtKeyResolver(options.jwt) };

  async function dispatch(req: VerifyRequest, route: RouteOptions): Promise<Outcome> {
    const transport = transportOf(req, ctx.proxies);
    const limited = ctx.checkIp(transport);
    if (limited !== undefined) return limited;
    const insecure = (method: AuthMethod) => carriesSecret(method) && !transport.secure && !transport.loopback;

    const authorization = headerValue(req, 'authorization');
    if (authorization !== undefined) {
      // Each scheme's credentials are parsed once, by that scheme's parser: an OAuth header goes
      // whole to the OAuth 1.0a parser, which scans its parameters itself.
      const split = splitAuthorizationHeader(authorization);
      if (!split.ok) {
        if (split.code !== 'credentials_missing') return ctx.refuse(split.code, { detail: split.detail });
      } else if (split.value.scheme === 'oauth') {
        if (!methods.has('oauth1') && !methods.has('signed-session')) return ctx.refuse('scheme_unsupported');
        return verifyOAuth1Request(ctx, transport, req, route);
      } else if (split.value.scheme === 'basic') {
        const basic = parseBasicCredentials(split.value.credentials);
        if (!basic.ok) return ctx.refuse(basic.code, { detail: basic.detail });
        if (!methods.has('basic')) return ctx.refuse('scheme_unsupported');
        if (insecure('basic')) return ctx.refuse('transport_insecure');
        return verifyBasic(ctx, transport, basic.value.userId, basic.value.password);
      } else if (split.value.scheme === 'bearer') {
        const bearer = parseBearerCredentials(split.value.credentials);
        if (!bearer.ok) return ctx.refuse(bearer.code, { detail: bearer.detail });
        const token = bearer.value.token;
        const method = bearerMethod(token);
        if (!methods.has(method)) return ctx.refuse('scheme_unsupported', { bearerPresented: true });
        if (insecure(method)) return ctx.refuse('transport_insecure');
        if (method === 'oauth2') {
          if (jwt !== undefined && looksLikeJwt(token))
            return verifyJwtAccessToken(ctx, transport, token, jwt.options, jwt.getKey);
          return verifyAccessToken(ctx, transport, token);
        }
        if (method === 'session') return verifySessionToken(ctx, transport, token);
        return verifyApiKeyToken(ctx, transport, token);
      } else {
        return ctx.refuse('scheme_unsupported');
      }
    }
    const apiKey = ctx.settings.apiKeyHeader ? headerValue(req, 'x-api-key') : undefined;
    if (apiKey !== undefined && methods.has('api-key')) {
      if (insecure('api-key')) return ctx.refuse('transport_insecure');
      return verifyApiKeyToken(ctx, transport, apiKey.trim());
    }
    // Protocol parameters may also travel in the query or a form body (RFC 5849 §3.5.2, §3.5.3).
    if (methods.has('oauth1') && (req.url.includes('oauth_') || req.body !== undefined)) {
      const outcome = await verifyOAuth1Request(ctx, transport, req, route);
      if (outcome.ok || outcome.code !== 'credentials_missing') return outcome;
    }
    return ctx.refuse('credentials_missing');
  }

  const onError = options.onError ?? ((error: unknown) => process.emitWarning(`keyward verifier: ${String(error)}`));

  return {
    async verify(req, route = {}) {
      let outcome: Outcome;
      try {
        outcome = await dispatch(req, route);
      } catch (error) {
        // A store that is down fails closed, never open.
        onError(error);
        return ctx.refuse('store_unavailable');
      }
      if (!outcome.ok || route.scopes === undefined) return outcome;
      return checkScopes(outcome.principal, route.scopes) ?? outcome;
    },
  };
}
