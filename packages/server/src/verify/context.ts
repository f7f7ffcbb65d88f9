/**
 * What every method's verification shares: resolved options, the credential cache, the
 * limiter, and one way to build a refusal.
 *
 * @packageDocumentation
 */

import {
  constantTimeEqual,
  ERROR_CODES,
  type ErrorCode,
  hashSecret,
  identify,
  type OAuth1Secrets,
  oauthProblem,
  prepareOAuth1Secrets,
} from '@keyward/core';
import { LruCache } from '../state/cache.js';
import { addressFailures, keyIdFailures, type Limit, type Limiter } from '../state/limiter.js';
import type { NonceStore } from '../state/nonces.js';
import type { Clock } from '../store/context.js';
import type { Store } from '../store/index.js';
import { type KeyCredential, type KeyMethod, keyStateProblem } from '../store/keys.js';
import type { AccessToken } from '../store/tokens.js';
import type { SessionIpPolicy } from './sessions.js';
import type { Transport, TrustedProxies } from './transport.js';
import type { AuthMethod, Outcome, Principal, Refusal, VerifyRequest } from './types.js';

/** Resolved verifier settings. */
export interface VerifierSettings {
  readonly origin: string;
  readonly realm: string;
  readonly methods: ReadonlySet<AuthMethod>;
  readonly timestampWindowSeconds: number;
  readonly plaintext: boolean;
  readonly apiKeyHeader: boolean;
  readonly failuresPerIp: Limit;
  readonly failuresPerKey: Limit;
  readonly sessionIpPolicy: SessionIpPolicy;
  readonly sessionIdleMs: number;
  readonly voidSessionOnBadSignature: boolean;
}

/** A cached key: its credential, or null for an id known not to exist. */
interface CachedKey {
  readonly credential: KeyCredential | null;
  /** Sealed secrets opened once, filled on first use: `kw_sk_…` and its raw secret part. */
  opened?: {
    readonly secret: string;
    readonly raw: string;
    readonly expiresAt: number | null;
    /** The secret prepared for OAuth 1.0a (its HMAC key made once), filled on first use. */
    oauth1?: OAuth1Secrets;
  }[];
}

/** Extra parts of a refusal. */
export interface RefusalExtras {
  readonly detail?: string | undefined;
  readonly retryAfter?: number | undefined;
  readonly headers?: Record<string, string> | undefined;
  /** Extra `OAuth` challenge parameters (OAuth Problem Reporting). */
  readonly oauthParams?: Record<string, string> | undefined;
  /** Whether a bearer credential was presented (RFC 6750 §3.1 `error="invalid_token"`). */
  readonly bearerPresented?: boolean | undefined;
}

// Compared against when a key id is unknown, so the miss costs what a hit costs.
// Compared against when there is nothing to compare (an unknown key or token), so a miss costs
// what a hit costs: as long as a secret hash (base64url of 32 bytes) and a raw key secret (43
// base62 characters), and equal to neither.
const UNMATCHABLE = '#'.repeat(43);

/** The shared machinery of the methods. */
export class VerifierContext {
  private readonly keys: LruCache<CachedKey>;
  private readonly tokens: LruCache<AccessToken & { readonly hash: string }>;
  private readonly revokedJtis: LruCache<boolean>;

  constructor(
    readonly settings: VerifierSettings,
    readonly store: Store,
    readonly nonces: NonceStore,
    readonly limiter: Limiter,
    readonly proxies: TrustedProxies,
    readonly clock: Clock,
    cache: { maxEntries?: number; ttlMs?: number },
  ) {
    this.keys = new LruCache<CachedKey>({ clock, ...cache });
    this.tokens = new LruCache<AccessToken & { readonly hash: string }>({ clock, ...cache });
    this.revokedJtis = new LruCache<boolean>({ clock, ...cache });
    // Revoke, rotate, disable, create: drop the cached copy at once (RFC-free, our promise).
    store.context.invalidations.subscribe((event) => {
      // A key's or an account's change may have revoked their tokens in the same transaction.
      if (event.kind === 'key') {
        this.keys.delete(event.id);
        this.tokens.deleteWhere((t) => t.keyId === event.id);
        // A JWT's cached "not revoked" carries no owner to match: forget them all (rare event).
        this.revokedJtis.deleteWhere(() => true);
      } else if (event.kind === 'account') {
        this.keys.deleteWhere((v) => v.credential?.key.accountId === event.id);
        this.tokens.deleteWhere((t) => t.accountId === event.id);
        this.revokedJtis.deleteWhere(() => true);
      } else {
        this.tokens.delete(event.id);
        this.revokedJtis.delete(event.id);
      }
    });
  }

  /** A refusal for `code`, with the challenges of the enabled schemes on 401. */
  refuse(code: ErrorCode, extras: RefusalExtras = {}): Refusal {
    const { status, meaning } = ERROR_CODES[code];
    const refusal: {
      ok: false;
      status: number;
      code: ErrorCode;
      message: string;
      challenge?: string[];
      retryAfter?: number;
      headers?: Record<string, string>;
    } = { ok: false, status, code, message: extras.detail === undefined ? meaning : `${meaning} (${extras.detail})` };
    if (status === 401) refusal.challenge = this.challenges(code, extras);
    if (extras.retryAfter !== undefined) refusal.retryAfter = extras.retryAfter;
    if (extras.headers !== undefined) refusal.headers = extras.headers;
    return refusal;
  }

  private challenges(code: ErrorCode, extras: RefusalExtras): string[] {
    const realm = `realm="${this.settings.realm}"`;
    const m = this.settings.methods;
    const out: string[] = [];
    if (m.has('basic')) out.push(`Basic ${realm}, charset="UTF-8"`);
    if (m.has('api-key') || m.has('oauth2') || m.has('session')) {
      out.push(extras.bearerPresented === true ? `Bearer ${realm}, error="invalid_token"` : `Bearer ${realm}`);
    }
    if (m.has('oauth1') || m.has('signed-session')) {
      const problem = oauthProblem(code);
      const params = { ...(problem === undefined ? {} : { oauth_problem: problem }), ...extras.oauthParams };
      out.push(`OAuth ${[realm, ...Object.entries(params).map(([k, v]) => `${k}="${v}"`)].join(', ')}`);
    }
    return out;
  }

  /** 429 when this address has failed too often. */
  checkIp(transport: Transport): Refusal | undefined {
    const state = this.limiter.check(addressFailures(transport.clientIp), this.settings.failuresPerIp);
    return state.allowed ? undefined : this.refuse('rate_limited', { retryAfter: state.retryAfter });
  }

  /** 429 when this key id has failed too often. */
  checkKeyFailures(rawId: string): Refusal | undefined {
    const state = this.limiter.check(keyIdFailures(rawId), this.settings.failuresPerKey);
    return state.allowed ? undefined : this.refuse('rate_limited', { retryAfter: state.retryAfter });
  }

  /** Counts a failed attempt against the address and, when known, the key id. */
  recordFailure(transport: Transport, rawId?: string): void {
    this.limiter.hit(addressFailures(transport.clientIp), this.settings.failuresPerIp);
    if (rawId !== undefined) this.limiter.hit(keyIdFailures(rawId), this.settings.failuresPerKey);
  }

  /** A key's credential from the cache or the store; null when the id is unknown. */
  async keyCredential(rawId: string): Promise<CachedKey> {
    const cached = this.keys.get(rawId);
    if (cached !== undefined) return cached;
    const credential = (await this.store.keys.credential(rawId)) ?? null;
    const entry: CachedKey = { credential };
    this.keys.set(rawId, entry);
    return entry;
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
      token = await this.store.tokens.lookup(rawId);
      if (token !== undefined) this.tokens.set(rawId, token);
    }
    const presented = hashSecret(this.store.context.keyring.pepper, rawSecret);
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
      revoked = ((await this.store.tokens.lookup(jti))?.revokedAt ?? null) !== null;
      this.revokedJtis.set(jti, revoked);
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
    return this.liveSecrets(rawId, entry).map((s) => {
      s.oauth1 ??= prepareOAuth1Secrets(s.secret);
      return s.oauth1;
    });
  }

  // Opens the sealed secrets once per cache entry; filters those past their grace period now.
  private liveSecrets(rawId: string, entry: CachedKey): NonNullable<CachedKey['opened']> {
    if (entry.credential === null) return [];
    const { credential } = entry;
    entry.opened ??= this.store.keys.openSecrets(rawId, credential).map((secret, i) => ({
      secret,
      raw: identify(secret)?.secret ?? '',
      expiresAt: credential.secrets[i]?.expiresAt ?? null,
    }));
    const now = this.clock.now();
    return entry.opened.filter((s) => s.expiresAt === null || s.expiresAt > now);
  }

  /** Refuses a key whose secret matched but whose state or settings forbid this method. */
  keyProblem(credential: KeyCredential, method: AuthMethod & KeyMethod): Refusal | undefined {
    const problem = keyStateProblem(credential, this.clock.now());
    if (problem !== undefined) return this.refuse(problem);
    const { methods } = credential.key;
    if (methods !== null && !methods.includes(method)) return this.refuse('method_not_allowed', { detail: method });
    return undefined;
  }

  /** The last step for a verified key: its own rate limit, usage counting, the principal. */
  admit(
    rawId: string,
    credential: KeyCredential,
    method: AuthMethod & KeyMethod,
    scopes: readonly string[] = credential.key.scopes,
  ): Outcome {
    const { key } = credential;
    if (key.rateLimit !== null) {
      const state = this.limiter.hit(`rate:${rawId}`, key.rateLimit);
      if (!state.allowed) return this.refuse('rate_limited', { retryAfter: state.retryAfter });
    }
    this.store.usage.record(rawId);
    const principal: Principal = { accountId: key.accountId, keyId: key.id, scopes, method };
    return { ok: true, principal };
  }
}

/** A header's single value (lists joined), or undefined. */
export function headerValue(req: VerifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(', ');
}
