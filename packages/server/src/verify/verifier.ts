/**
 * `createVerifier(...)`: one `verify(request)` for every method. It knows no framework: adapters
 * turn their request into a {@link VerifyRequest} and the {@link Outcome} back into a response.
 *
 * @packageDocumentation
 */

import { identify, parseBearerCredentials, splitAuthorizationHeader } from '@keyward/core';
import type { ErrorCode } from '../errors/codes.js';
import { MemoryLimiter } from '../state/limiter.js';
import type { ApiKey } from '../store/keys.js';
import { headerValue, VerifierContext } from './context.js';
import { type JwtOptions, jwtKeyResolver } from './jwt.js';
import { verifyPresentedKey } from './key-secret.js';
import {
  type Clock,
  type CredentialPorts,
  DEFAULT_SESSION_IDLE_MS,
  type Limit,
  type Limiter,
  type NonceStore,
  StoreUnavailableError,
  systemClock,
} from './ports.js';
import type { RefusalExtras } from './refusals.js';
import type { Presented, RequestHead, Scheme } from './scheme.js';
import { BUILTIN_SCHEMES } from './schemes/index.js';
import type { SessionIpPolicy } from './schemes/session.js';
import { checkScopes } from './scopes.js';
import { type Transport, TrustedProxies, transportOf } from './transport.js';
import type { AuthMethod, Outcome, Principal, Refusal, RouteOptions, VerifyRequest } from './types.js';

/** What a verifier is built from. */
export interface VerifierOptions {
  /** Where credentials and invalidations come from: an open store, or any implementation of the ports. */
  readonly store: CredentialPorts;
  readonly nonces: NonceStore;
  /** The public origin callers sign against (`https://api.example.com`). */
  readonly origin: string;
  readonly clock?: Clock | undefined;
  readonly limiter?: Limiter | undefined;
  /** Proxies whose `X-Forwarded-For` / `-Proto` are believed: addresses or CIDR blocks. */
  readonly trustProxy?: readonly string[] | undefined;
  /** Methods accepted, by scheme method name. Default: every registered scheme. */
  readonly methods?: readonly AuthMethod[] | undefined;
  /**
   * Schemes to register after Keyward's own (tried after them, in this order): an application's
   * own authentication methods, verified and refused like the built-in ones.
   */
  readonly schemes?: readonly Scheme[] | undefined;
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
  /** Failed attempts allowed per key id from one client address. Default 10 per minute. */
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
   * Told about a store that could not be reached (the request failed closed, 503
   * `store_unavailable`) and about a fault an adapter answered with 500 `internal_error`
   * (`requestId` then names the response). Never given a secret. Default: a process warning.
   */
  readonly onError?: ((error: unknown, info: { readonly requestId?: string | undefined }) => void) | undefined;
}

/** The `realm` of the challenges unless told otherwise (RFC 7235 §2.2). */
export const DEFAULT_REALM = 'keyward';

/** The outcome of {@link Verifier.verifyKeySecret}: on success, the key too. */
export type KeySecretOutcome = { readonly ok: true; readonly principal: Principal; readonly key: ApiKey } | Refusal;

/** A verifier. */
export interface Verifier {
  /**
   * Who is calling and what they may do, or why not. Never rejects on bad input; rejects only on
   * a fault (a bug, a sealed secret that does not open), which adapters answer with
   * {@link Verifier.fault}: 500 `internal_error`.
   */
  verify(req: VerifyRequest, route?: RouteOptions): Promise<Outcome>;
  /**
   * The one key-secret check (what Basic and the API key token use): a `kw_kid_…` key id and
   * its `kw_sk_…` secret, for `method`. The OAuth endpoints authenticate their clients here.
   */
  verifyKeySecret(input: {
    readonly transport: Transport;
    readonly keyId: string;
    readonly secret: string;
    readonly method: AuthMethod;
  }): Promise<KeySecretOutcome>;
  /** 403 `insufficient_scope` (with its challenge) unless the principal has every scope. */
  checkScopes(principal: Principal, scopes: readonly string[]): Refusal | undefined;
  /** A refusal for `code`, with this verifier's challenges; `presented` is the Authorization scheme used. */
  refuse(code: ErrorCode, extras?: RefusalExtras, presented?: string): Refusal;
  /**
   * The 500 `internal_error` refusal for a fault (`verify` rejected), after telling `onError`
   * with the id of the response; the fault's message never reaches the client.
   */
  fault(error: unknown, requestId: string): Refusal;
  /** Whether verifying this request needs its raw body (asked before reading it). */
  needsBody(head: RequestHead): boolean;
  /** Where the request comes from (forwarded headers believed from trusted proxies only). */
  transportOf(req: Pick<VerifyRequest, 'headers' | 'remoteAddress' | 'secure'>): Transport;
  /** The realm of the challenges. */
  readonly realm: string;
}

/** Builds a verifier. Throws `TypeError` on bad options (an origin that is not an origin, a bad CIDR, an unknown method). */
export function createVerifier(options: VerifierOptions): Verifier {
  const clock = options.clock ?? systemClock;
  const realm = options.realm ?? DEFAULT_REALM;
  if (!/^[\x20-\x7e]*$/.test(realm) || /["\\]/.test(realm))
    throw new TypeError('realm must be printable ASCII without quotes');
  new URL(options.origin); // fail fast on a malformed origin
  const registered = [...BUILTIN_SCHEMES, ...(options.schemes ?? [])];
  const names = new Set<string>();
  for (const scheme of registered) {
    if (names.has(scheme.method)) throw new TypeError(`two schemes for method ${scheme.method}`);
    names.add(scheme.method);
  }
  const enabled = new Set<string>(options.methods ?? names);
  for (const method of enabled) if (!names.has(method)) throw new TypeError(`no scheme for method ${method}`);
  const schemes = registered.filter((s) => enabled.has(s.method));
  const ctx = new VerifierContext(
    {
      origin: options.origin,
      realm,
      schemes,
      registered,
      timestampWindowSeconds: options.timestampWindowSeconds ?? 300,
      plaintext: options.plaintext ?? false,
      apiKeyHeader: options.apiKeyHeader ?? false,
      failuresPerIp: options.failuresPerIp ?? { limit: 30, windowSeconds: 60 },
      failuresPerKey: options.failuresPerKey ?? { limit: 10, windowSeconds: 60 },
      sessionIpPolicy: options.sessionIpPolicy ?? 'revoke',
      sessionIdleMs: options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS,
      voidSessionOnBadSignature: options.voidSessionOnBadSignature ?? false,
      jwt: options.jwt === undefined ? undefined : { options: options.jwt, getKey: jwtKeyResolver(options.jwt) },
    },
    options.store.credentials,
    options.store.invalidations,
    options.nonces,
    options.limiter ?? new MemoryLimiter(clock),
    new TrustedProxies(options.trustProxy ?? []),
    clock,
    options.cache ?? {},
  );

  // Not async: a scheme that answers at once (a cached key) gives its outcome without a promise.
  function dispatch(req: VerifyRequest, route: RouteOptions): Outcome | Promise<Outcome> {
    // No failure check up front: every scheme checks the credential first and answers 429 only
    // to a failure over a limit (ctx.recordFailure), so failures never refuse the right secret.
    const transport = transportOf(req, ctx.proxies);

    // The Authorization header is split once; each scheme reads its own credentials from it.
    let authorization: Presented['authorization'];
    const header = headerValue(req, 'authorization');
    if (header !== undefined) {
      const split = splitAuthorizationHeader(header);
      if (!split.ok) {
        if (split.code !== 'credentials_missing') return ctx.refuse(split.code, { detail: split.detail });
      } else if (split.value.scheme === 'bearer') {
        // RFC 6750 §2.1: one token68; checked here once for every bearer scheme.
        const bearer = parseBearerCredentials(split.value.credentials);
        if (!bearer.ok) return ctx.refuse(bearer.code, { detail: bearer.detail }, 'bearer');
        authorization = { scheme: 'bearer', credentials: bearer.value.token };
      } else authorization = split.value;
    }
    const presented: Presented = { request: req, transport, authorization, route };

    let unsupported = false;
    for (const scheme of registered) {
      const claim = scheme.claim(presented, ctx);
      if (claim === undefined) continue;
      if (!enabled.has(scheme.method) || (route.methods !== undefined && !route.methods.includes(scheme.method))) {
        // Another enabled scheme may still take it (the two OAuth 1.0a schemes share a parse).
        unsupported = true;
        continue;
      }
      if (!('claimed' in claim)) return claim;
      if (scheme.sendsSecret && !transport.secure && !transport.loopback)
        return ctx.refuse('transport_insecure', {}, authorization?.scheme);
      return scheme.verify(claim.claimed, presented, ctx);
    }
    if (unsupported) return ctx.refuse('scheme_unsupported', {}, authorization?.scheme);
    if (authorization === undefined) return ctx.refuse('credentials_missing');
    // A bearer token no scheme recognises is malformed (RFC 6750 §3.1 invalid_token); any other
    // scheme is one this server does not accept.
    if (authorization.scheme === 'bearer') {
      return ctx.recordFailure(transport).then((limited) => limited ?? ctx.refuse('malformed_token', {}, 'bearer'));
    }
    return ctx.refuse('scheme_unsupported');
  }

  const onError =
    options.onError ??
    ((error: unknown, info: { readonly requestId?: string | undefined }) =>
      process.emitWarning(
        `keyward verifier: ${String(error)}${info.requestId === undefined ? '' : ` (request ${info.requestId})`}`,
      ));

  // A store that is down fails closed (503), never open; anything else is a fault and rejects.
  const failClosed = (error: unknown): Refusal => {
    if (!(error instanceof StoreUnavailableError)) throw error;
    onError(error, {});
    return ctx.refuse('store_unavailable');
  };

  const scoped = (outcome: Outcome, route: RouteOptions): Outcome => {
    if (!outcome.ok || route.scopes === undefined) return outcome;
    return checkScopes(ctx, outcome.principal, route.scopes) ?? outcome;
  };

  return {
    realm,
    verify(req, route = {}) {
      // One promise per verification (the caller's), not one per step.
      let outcome: Outcome | Promise<Outcome>;
      try {
        outcome = dispatch(req, route);
      } catch (error) {
        try {
          return Promise.resolve(failClosed(error));
        } catch (fault) {
          return Promise.reject(fault);
        }
      }
      // Every outcome has `ok`; anything else is a promise (or a scheme's thenable).
      if (!('ok' in outcome)) return Promise.resolve(outcome).then((o) => scoped(o, route), failClosed);
      try {
        return Promise.resolve(scoped(outcome, route));
      } catch (fault) {
        return Promise.reject(fault);
      }
    },
    async verifyKeySecret({ transport, keyId, secret, method }) {
      try {
        const outcome = await verifyPresentedKey(ctx, transport, method, keyId, secret, 'basic');
        if (!outcome.ok) return outcome;
        // The key was just read (or found in the cache): this costs no query.
        const { credential } = await ctx.keyCredential(identify(keyId)?.id ?? '');
        if (credential === null) return ctx.refuse('key_unknown', {}, 'basic');
        return { ...outcome, key: credential.key };
      } catch (error) {
        return failClosed(error);
      }
    },
    checkScopes: (principal, scopes) => checkScopes(ctx, principal, scopes),
    fault(error, requestId) {
      onError(error, { requestId });
      return ctx.refuse('internal_error');
    },
    refuse: (code, extras, presented) => ctx.refuse(code, extras, presented),
    needsBody: (head) => schemes.some((s) => s.needsBody(head)),
    transportOf: (req) => transportOf(req, ctx.proxies),
  };
}
