/**
 * What every method's verification shares: resolved options, the credential cache, the
 * limiter, and one way to build a refusal.
 *
 * @packageDocumentation
 */

import { constantTimeEqual, identify, type OAuth1Secrets, prepareOAuth1Secrets } from '@keyward/core';
import type { JWTVerifyGetKey } from 'jose';
import type { ErrorCode } from '../errors/codes.js';
import { LruCache } from '../state/cache.js';
import { addressFailures, keyAddressFailures } from '../state/limiter.js';
import type { KeyCredential } from '../store/keys.js';
import type { AccessToken } from '../store/tokens.js';
import type { JwtOptions } from './jwt.js';
import { keyStateProblem } from './key-state.js';
import {
  type Clock,
  type CredentialSource,
  type InvalidationBus,
  type Limit,
  type Limiter,
  type LimitState,
  type NonceStore,
  UNMATCHABLE,
} from './ports.js';
import { type ChallengeDetail, type Challenger, makeRefusal, type RefusalExtras } from './refusals.js';
import type { Scheme } from './scheme.js';
import type { SessionIpPolicy } from './schemes/session.js';
import type { Transport, TrustedProxies } from './transport.js';
import type { AuthMethod, Outcome, Principal, Refusal, VerifyRequest } from './types.js';

/** Resolved verifier settings. */
export interface VerifierSettings {
  readonly origin: string;
  readonly realm: string;
  /** The schemes accepted, in the order they are tried. */
  readonly schemes: readonly Scheme[];
  /** Every registered scheme, enabled or not (a disabled one's request is `scheme_unsupported`). */
  readonly registered: readonly Scheme[];
  readonly timestampWindowSeconds: number;
  readonly plaintext: boolean;
  readonly apiKeyHeader: boolean;
  readonly failuresPerIp: Limit;
  readonly failuresPerKey: Limit;
  readonly sessionIpPolicy: SessionIpPolicy;
  readonly sessionIdleMs: number;
  readonly voidSessionOnBadSignature: boolean;
  /** How JWT access tokens are checked, when the deployment issues them. */
  readonly jwt?: { readonly options: JwtOptions; readonly getKey: JWTVerifyGetKey } | undefined;
}

/** A cached key: its credential, or null for an id known not to exist. */
export interface CachedKey {
  readonly credential: KeyCredential | null;
  /** Sealed secrets opened once, filled on first use: `kw_sk_…` and its raw secret part. */
  opened?: {
    readonly secret: string;
    readonly raw: string;
    readonly expiresAt: number | null;
    /** The secret prepared for OAuth 1.0a (its HMAC key made once), filled on first use. */
    oauth1?: OAuth1Secrets;
  }[];
  /** For an unknown id: the decoy OAuth 1.0a secrets, prepared once like a hit's. */
  oauth1Decoy?: OAuth1Secrets[];
}

/**
 * The shared machinery of the schemes: settings, the ports, the credential caches, failure
 * accounting, and one way to build a refusal. What a scheme registered from outside gets too.
 */
export class VerifierContext implements Challenger {
  private readonly keys: LruCache<CachedKey>;
  private readonly tokens: LruCache<AccessToken & { readonly hash: string }>;
  private readonly revokedJtis: LruCache<boolean>;

  constructor(
    readonly settings: VerifierSettings,
    readonly credentials: CredentialSource,
    invalidations: InvalidationBus,
    readonly nonces: NonceStore,
    readonly limiter: Limiter,
    readonly proxies: TrustedProxies,
    readonly clock: Clock,
    cache: { maxEntries?: number; ttlMs?: number },
  ) {
    // While a shared bus cannot vouch that it hears every change, the caches hold nothing.
    const trusted = invalidations.trusted?.bind(invalidations);
    this.keys = new LruCache<CachedKey>({ clock, trusted, ...cache });
    this.tokens = new LruCache<AccessToken & { readonly hash: string }>({ clock, trusted, ...cache });
    this.revokedJtis = new LruCache<boolean>({ clock, trusted, ...cache });
    // Revoke, rotate, disable, create: drop the cached copy at once (RFC-free, our promise).
    invalidations.subscribe((event) => {
      // A key's or an account's change may have revoked their tokens in the same transaction.
      if (event.kind === 'key') {
        this.keys.delete(event.id);
        this.tokens.deleteWhere((t) => t.keyId === event.id);
        // A JWT's cached "not revoked" carries no owner to match: forget them all (rare event).
        this.revokedJtis.clear();
      } else if (event.kind === 'account') {
        this.keys.deleteWhere((v) => v.credential?.key.accountId === event.id);
        this.tokens.deleteWhere((t) => t.accountId === event.id);
        this.revokedJtis.clear();
      } else if (event.kind === 'token') {
        this.tokens.delete(event.id);
        this.revokedJtis.delete(event.id);
      } else {
        // The bus may have missed changes: nothing cached can be vouched for.
        this.keys.clear();
        this.tokens.clear();
        this.revokedJtis.clear();
      }
    });
  }

  /**
   * A refusal for `code`. `presented` is the `Authorization` scheme (lower case) the request
   * used: its challenge carries the details (RFC 6750 §3.1 `error`, `oauth_problem`).
   */
  refuse(code: ErrorCode, extras: RefusalExtras = {}, presented?: string): Refusal {
    return makeRefusal(this, code, extras, presented);
  }

  /** The challenges of a refusal (see {@link Challenger}). */
  challenges(detail: ChallengeDetail, presented: string | undefined): string[] {
    const { realm, schemes, registered } = this.settings;
    if (detail.status === 401) {
      const out: string[] = [];
      const seen = new Set<string>();
      for (const scheme of schemes) {
        if (seen.has(scheme.httpScheme)) continue;
        seen.add(scheme.httpScheme);
        const challenge = scheme.challenge(realm, scheme.httpScheme === presented ? detail : undefined);
        // A scheme outside HTTP authentication (a cookie) has no challenge to offer.
        if (challenge !== '') out.push(challenge);
      }
      return out;
    }
    if ((detail.status === 400 || detail.status === 403) && presented !== undefined) {
      // Only a challenge that says something about the failure (Basic has nothing to say).
      const scheme =
        schemes.find((s) => s.httpScheme === presented) ?? registered.find((s) => s.httpScheme === presented);
      const challenge = scheme?.challenge(realm, detail);
      if (challenge !== undefined && challenge !== scheme?.challenge(realm)) return [challenge];
    }
    return [];
  }

  /** The `Authorization` scheme a method's credentials travel in, if the method is registered. */
  httpSchemeOf(method: AuthMethod): string | undefined {
    return this.settings.registered.find((s) => s.method === method)?.httpScheme;
  }

  // A limiter in memory answers at once: no promise (and no extra turn of the event loop) on
  // the hot path then; a shared one answers with a promise, which the caller awaits.
  private limitRefusal(state: LimitState | Promise<LimitState>): Refusal | undefined | Promise<Refusal | undefined> {
    if (state instanceof Promise) return state.then((s) => this.limitRefusal(s) as Refusal | undefined);
    return state.allowed ? undefined : this.refuse('rate_limited', { retryAfter: state.retryAfter });
  }

  /**
   * 429 when this address has failed too often, without counting (a promise only when the
   * limiter answers with one). For a scheme registered from outside that wants to refuse before
   * doing any work; the built-in schemes check the credential first and call
   * {@link VerifierContext.recordFailure} only when it failed, so the right secret is never
   * refused because of failures.
   */
  checkIp(transport: Transport): Refusal | undefined | Promise<Refusal | undefined> {
    return this.limitRefusal(this.limiter.check(addressFailures(transport.clientIp), this.settings.failuresPerIp));
  }

  /**
   * Counts a failed attempt against the address (IPv6 by /64) and, when a key id was named,
   * against that key id from this address; resolves to 429 `rate_limited` (with the longer
   * Retry-After) when either is now over its limit, else undefined: the caller answers the
   * 429 instead of its own refusal. Called only after the credential was checked and did not
   * match, so a client with the right secret is admitted however many failures others caused,
   * and a limited stranger pays and learns the same for a known and an unknown id.
   */
  async recordFailure(transport: Transport, rawId?: string): Promise<Refusal | undefined> {
    const { failuresPerIp, failuresPerKey } = this.settings;
    const byIp = await this.limiter.hit(addressFailures(transport.clientIp), failuresPerIp);
    const byKey =
      rawId === undefined
        ? undefined
        : await this.limiter.hit(keyAddressFailures(rawId, transport.clientIp), failuresPerKey);
    const over = [byIp, byKey].filter((s) => s !== undefined && !s.allowed) as LimitState[];
    if (over.length === 0) return undefined;
    return this.refuse('rate_limited', { retryAfter: Math.max(...over.map((s) => s.retryAfter)) });
  }

  /** A key's credential from the cache or the store; null when the id is unknown. */
  async keyCredential(rawId: string): Promise<CachedKey> {
    const cached = this.keys.get(rawId);
    if (cached !== undefined) return cached;
    const version = this.keys.version();
    const credential = (await this.credentials.key(rawId)) ?? null;
    const entry: CachedKey = { credential };
    this.keys.set(rawId, entry, version);
    return entry;
  }

  /**
   * A key's credential when the cache holds it, without a promise: the hot path of every
   * key-based method then runs without waiting a turn; else undefined (ask
   * {@link VerifierContext.keyCredential}).
   */
  cachedKey(rawId: string): CachedKey | undefined {
    return this.keys.get(rawId);
  }

  /**
   * Whether `rawSecret` is a valid secret of the key: compared in constant time against every
   * secret valid now (opened once per cache entry, so a cached key costs no hash), with no early
   * exit; an unknown key costs one comparison against a dummy of the same length.
   */
  secretMatches(rawId: string, entry: CachedKey, rawSecret: string): boolean {
    const live = this.liveSecrets(rawId, entry);
    if (live.length === 0) constantTimeEqual(UNMATCHABLE, rawSecret);
    let matched = false;
    for (const s of live) matched = constantTimeEqual(s.raw, rawSecret) || matched;
    return matched;
  }

  /**
   * An access token whose secret matches (constant time), from the cache or the store; undefined
   * for an unknown id or a wrong secret alike.
   */
  async accessToken(rawId: string, rawSecret: string): Promise<AccessToken | undefined> {
    let token = this.tokens.get(rawId);
    if (token === undefined) {
      const version = this.tokens.version();
      token = await this.credentials.accessToken(rawId);
      if (token !== undefined) this.tokens.set(rawId, token, version);
    }
    const presented = this.credentials.hashSecret(rawSecret);
    const matched = constantTimeEqual(token?.hash ?? UNMATCHABLE, presented);
    return matched ? token : undefined;
  }

  /**
   * Whether a JWT's `jti` names an access token recorded as revoked (an issuer that records its
   * JWTs can revoke them, RFC 7009). Cached either way; a revocation invalidates the entry.
   */
  async jtiRevoked(jti: string): Promise<boolean> {
    let revoked = this.revokedJtis.get(jti);
    if (revoked === undefined) {
      const version = this.revokedJtis.version();
      revoked = ((await this.credentials.accessToken(jti))?.revokedAt ?? null) !== null;
      this.revokedJtis.set(jti, revoked, version);
    }
    return revoked;
  }

  /** The key's secrets in clear (`kw_sk_…`) valid now, for OAuth 1.0a. */
  openSecrets(rawId: string, entry: CachedKey): string[] {
    return this.liveSecrets(rawId, entry).map((s) => s.secret);
  }

  /**
   * The key's secrets valid now, prepared for OAuth 1.0a verification: each HMAC key is made
   * once per cache entry rather than on every request.
   */
  openOAuth1Secrets(rawId: string, entry: CachedKey): OAuth1Secrets[] {
    const live = this.liveSecrets(rawId, entry);
    if (entry.credential === null) {
      // An unknown id prepares one decoy per cache entry, as a known key prepares its secrets,
      // so the miss costs the hit's work; nothing signs with it, and the caller refuses a null
      // credential whatever it verifies.
      entry.oauth1Decoy ??= [prepareOAuth1Secrets(UNMATCHABLE)];
      return entry.oauth1Decoy;
    }
    return live.map((s) => {
      s.oauth1 ??= prepareOAuth1Secrets(s.secret);
      return s.oauth1;
    });
  }

  // Opens the sealed secrets once per cache entry; filters those past their grace period now.
  private liveSecrets(rawId: string, entry: CachedKey): NonNullable<CachedKey['opened']> {
    if (entry.credential === null) {
      // An unknown id opens (a decoy, in the store) once per cache entry, as a known key opens
      // its sealed secrets: the miss costs the hit's AES-GCM work, cached or not. Nothing opened
      // is kept, so nothing can match.
      if (entry.opened === undefined) {
        this.credentials.openKeySecrets(rawId, null);
        entry.opened = [];
      }
      return entry.opened;
    }
    const { credential } = entry;
    entry.opened ??= this.credentials.openKeySecrets(rawId, credential).map((secret, i) => ({
      secret,
      raw: identify(secret)?.secret ?? '',
      expiresAt: credential.secrets[i]?.expiresAt ?? null,
    }));
    const now = this.clock.now();
    return entry.opened.filter((s) => s.expiresAt === null || s.expiresAt > now);
  }

  /** Refuses a key whose secret matched but whose state or settings forbid this method. */
  keyProblem(credential: KeyCredential, method: AuthMethod, presented?: string): Refusal | undefined {
    const problem = keyStateProblem(credential, this.clock.now());
    if (problem !== undefined) return this.refuse(problem, {}, presented);
    const methods: readonly string[] | null = credential.key.methods;
    if (methods !== null && !methods.includes(method))
      return this.refuse('method_not_allowed', { detail: method }, presented);
    return undefined;
  }

  /**
   * The last step for a verified key: its own rate limit, usage counting, the principal. A
   * promise only when the key has a rate limit and the limiter answers with one.
   */
  admit(
    rawId: string,
    credential: KeyCredential,
    method: AuthMethod,
    scopes: readonly string[] = credential.key.scopes,
  ): Outcome | Promise<Outcome> {
    const { key } = credential;
    const principal: Principal = { accountId: key.accountId, keyId: key.id, scopes, method };
    const admitted = (): Outcome => {
      this.credentials.recordUse(rawId);
      return { ok: true, principal };
    };
    if (key.rateLimit === null) return admitted();
    const limited = this.limitRefusal(this.limiter.hit(`rate:${rawId}`, key.rateLimit));
    if (limited instanceof Promise) return limited.then((refusal) => refusal ?? admitted());
    return limited ?? admitted();
  }
}
/** A header's single value (lists joined), or undefined. */
export function headerValue(req: VerifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(', ');
}
