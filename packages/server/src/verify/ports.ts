/**
 * The ports of the verifier: the small interfaces it (and the OAuth endpoints) talk to instead of
 * a database, so that the same verifier runs on the embedded SQLite store, on PostgreSQL, or on
 * shared state (Redis) across instances. Nothing here loads a driver: the implementations live
 * in `store/` (credentials, SQL) and `state/` (nonces, limits, invalidation; memory and SQL).
 *
 * @packageDocumentation
 */

import type { Account } from '../store/accounts.js';
import type { KeyCredential } from '../store/keys.js';
import type { Session } from '../store/sessions.js';
import type { AccessToken } from '../store/tokens.js';

/** A clock in milliseconds since the epoch; injected so that tests freeze time. */
export interface Clock {
  now(): number;
}

/** How long a session stays alive without use unless configured: 30 minutes. */
export const DEFAULT_SESSION_IDLE_MS = 30 * 60 * 1000;

/**
 * Compared against when there is nothing to compare (an unknown key or token), so a miss costs
 * what a hit costs: as long as a secret hash (base64url of 32 bytes) and a raw key secret (43
 * base62 characters), and equal to neither. The one such constant of the server.
 */
export const UNMATCHABLE = '#'.repeat(43);

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * Thrown by a port whose backing service (database, Redis) cannot answer. The only exception
 * the verifier and the server turn into 503 `store_unavailable`: the request fails closed and
 * may be retried. Anything else thrown is a fault (500 `internal_error`).
 */
export class StoreUnavailableError extends Error {
  override readonly name: string = 'StoreUnavailableError';
}

/** Where verified credentials come from: keys, access tokens, sessions and accounts. */
export interface CredentialSource {
  /**
   * A key with its account's status and the hashes and sealed copies of its secrets valid now;
   * undefined for an unknown id. An unknown id costs what a known one costs, so the time of
   * the answer does not tell whether the id exists.
   */
  key(rawKeyId: string): Promise<KeyCredential | undefined>;
  /**
   * The key's secrets in clear (`kw_sk_…`), opened from their sealed copies. Throws if one does
   * not open. Given null (an unknown id) or no secrets, does the work of opening one and answers
   * none, so that a miss costs what a hit costs.
   */
  openKeySecrets(rawKeyId: string, credential: KeyCredential | null): string[];
  /** An access token by its raw id, with the keyed hash of its secret. */
  accessToken(rawTokenId: string): Promise<(AccessToken & { readonly hash: string }) | undefined>;
  /** The keyed hash (HMAC with the server's pepper) a stored secret is compared by. */
  hashSecret(rawSecret: string): string;
  /** A session by its token (`kw_st_…`), whatever its state; undefined when none matches. */
  session(token: string): Promise<{ session: Session; sealedSecret: string | null } | undefined>;
  /** A signed session's secret in clear. Throws if it does not open. */
  openSessionSecret(sessionId: string, sealed: string): string;
  /** Ends a session (a use from another address, a bad signature with voiding on). */
  endSession(sessionId: string): Promise<void>;
  /** Slides a session's idle expiry forward after a verified use. */
  touchSession(session: Session, idleMs: number): Promise<void>;
  /** An account by id. */
  account(accountId: string): Promise<Account | undefined>;
  /** Counts one verified use of a key (batched; never a write per request). */
  recordUse(rawKeyId: string): void;
}

/** A limit: at most `limit` events per `windowSeconds`. */
export interface Limit {
  readonly limit: number;
  readonly windowSeconds: number;
}

/** A limiter's answer: whether the event is within the limit and, if not, when to retry (seconds). */
export interface LimitState {
  readonly allowed: boolean;
  readonly retryAfter: number;
}

/**
 * Counts events per key. May answer synchronously (memory) or asynchronously (a limiter shared
 * by many instances); callers await either.
 */
export interface Limiter {
  /** Counts one event; says whether it is within the limit. */
  hit(key: string, limit: Limit): LimitState | Promise<LimitState>;
  /** Whether `key` is within the limit now, without counting. */
  check(key: string, limit: Limit): LimitState | Promise<LimitState>;
  /**
   * Takes back one event counted by {@link Limiter.hit} (an attempt counted on entry that then
   * succeeded), so that a limit can count failures without a race between check and count.
   * Never below zero; nothing when the window has ended.
   */
  undo(key: string): void | Promise<void>;
  /**
   * The events counted for `key` in its current window (0 when none). A counter the limiter
   * cannot track (its table full) answers `Infinity`: newcomers are limited, not ignored.
   */
  count(key: string): number | Promise<number>;
}

/**
 * A change that makes cached credentials stale. `all` is never published by a store: a shared
 * bus tells its own listeners so when it may have missed changes (its channel was lost), and
 * every cache forgets everything.
 */
export type Invalidation =
  | { readonly kind: 'key'; readonly id: string }
  | { readonly kind: 'account'; readonly id: string }
  | { readonly kind: 'token'; readonly id: string }
  | { readonly kind: 'all' };

/**
 * Tells every cache (in this process, or in every instance for a shared bus) that a key, account
 * or token changed. `publish` resolves once the change reached every listener the bus knows of
 * (for a shared bus: every live instance acknowledged it, or fenced itself off).
 */
export interface InvalidationBus {
  publish(event: Invalidation): void | Promise<void>;
  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: (event: Invalidation) => void): () => void;
  /**
   * Whether caches may be trusted now. A shared bus answers false while it cannot be sure it
   * hears every change (its channel lost, or not yet confirmed): caches then read the store on
   * every request (fail closed, never a stale accept). Absent means always.
   */
  trusted?(): boolean;
}

/** Records nonces atomically. */
export interface NonceStore {
  /**
   * Records `nonce` under `scope` until `expiresAt` (milliseconds). Resolves true when the nonce
   * was not already recorded (or its record had expired), false when it is a replay. Atomic:
   * of any number of concurrent calls with the same scope and nonce, exactly one gets true.
   * Rejects with a {@link StoreUnavailableError} when it cannot record. `stampedAt` is the
   * request's timestamp in milliseconds: a store that keeps some nonces only in memory uses it
   * to decide which must be written durably (see {@link NonceStore.floorMs}).
   */
  consume(scope: string, nonce: string, expiresAt: number, stampedAt?: number): Promise<boolean>;
  /**
   * Present on a store that lost the nonces of its previous run (kept in memory, for speed):
   * requests stamped at or before this time (milliseconds) may be replays it cannot recognise,
   * and the verifier refuses them as out of the timestamp window. Absent: every nonce is known.
   */
  readonly floorMs?: number | undefined;
}

/** What the verifier reads credentials and invalidations from: an open store satisfies it. */
export interface CredentialPorts {
  readonly credentials: CredentialSource;
  readonly invalidations: InvalidationBus;
}
