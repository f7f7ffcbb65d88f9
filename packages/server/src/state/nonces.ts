/**
 * Nonce stores: the replay protection of OAuth 1.0a and signed sessions. A nonce is unique per
 * scope (consumer key and token) for as long as its timestamp could be accepted; `consume`
 * records it atomically and says whether it was new. The verifier calls it only after the
 * signature verified, so floods of bad requests cannot grow the store.
 *
 * @packageDocumentation
 */

import type { Kysely } from 'kysely';
import type { Clock } from '../store/context.js';
import type { Database } from '../store/schema.js';
import { every } from './every.js';

/** Thrown when a nonce store cannot record a nonce; the verifier fails closed (503). */
export class NonceStoreUnavailableError extends Error {
  override readonly name = 'NonceStoreUnavailableError';
}

/** Records nonces atomically. */
export interface NonceStore {
  /**
   * Records `nonce` under `scope` until `expiresAt` (milliseconds). Resolves true when the nonce
   * was not already recorded (or its record had expired), false when it is a replay. Atomic:
   * of any number of concurrent calls with the same scope and nonce, exactly one gets true.
   */
  consume(scope: string, nonce: string, expiresAt: number): Promise<boolean>;
}

/** Options of {@link MemoryNonceStore}. */
export interface MemoryNonceStoreOptions {
  readonly clock: Clock;
  /** Most nonces held at once. Default 1,000,000 (about 100 MB at worst). */
  readonly maxEntries?: number;
}

/**
 * An in-process nonce store for a single instance: a Map in insertion order, swept from the
 * front, so every operation is amortized O(1). With one window for all nonces, insertion order
 * is expiry order. When full of unexpired nonces it refuses new ones (fails closed) rather than
 * forget a nonce that could then be replayed.
 */
export class MemoryNonceStore implements NonceStore {
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;

  constructor(private readonly options: MemoryNonceStoreOptions) {
    this.maxEntries = options.maxEntries ?? 1_000_000;
  }

  /** Number of nonces held. */
  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    for (const [key, expiresAt] of this.entries) {
      if (expiresAt > now) break;
      this.entries.delete(key);
    }
  }

  async consume(scope: string, nonce: string, expiresAt: number): Promise<boolean> {
    const now = this.options.clock.now();
    this.sweep(now);
    // NUL cannot occur in a scope (key ids and tokens are base62), so the join is unambiguous.
    const key = `${scope}\u0000${nonce}`;
    const existing = this.entries.get(key);
    if (existing !== undefined) {
      if (existing > now) return false;
      this.entries.delete(key);
    }
    if (this.entries.size >= this.maxEntries) {
      throw new NonceStoreUnavailableError(`nonce store is full (${this.maxEntries} unexpired nonces)`);
    }
    this.entries.set(key, expiresAt);
    return true;
  }
}

/**
 * A nonce store in the SQL database (SQLite or PostgreSQL), shared by every instance on it:
 * `INSERT … ON CONFLICT DO UPDATE … WHERE expired`, so a live nonce is never overwritten and
 * the database decides atomically who was first. Expired rows are swept on an interval.
 */
export class SqlNonceStore implements NonceStore {
  private stopSweeping: () => void = () => {};
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async consume(scope: string, nonce: string, expiresAt: number): Promise<boolean> {
    const now = this.clock.now();
    try {
      const result = await this.db
        .insertInto('nonces')
        .values({ scope, nonce, expires_at: expiresAt })
        .onConflict((c) =>
          c.columns(['scope', 'nonce']).doUpdateSet({ expires_at: expiresAt }).where('nonces.expires_at', '<=', now),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    } catch (error) {
      throw new NonceStoreUnavailableError('nonce store query failed', { cause: error });
    }
  }

  /** Deletes expired nonces; resolves to how many. */
  async sweep(): Promise<number> {
    const result = await this.db.deleteFrom('nonces').where('expires_at', '<=', this.clock.now()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Sweeps every `intervalMs` until {@link SqlNonceStore.stop}. */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.stopSweeping();
    this.stopSweeping = every(intervalMs, () => this.sweep(), onError);
  }

  /** Stops sweeping. */
  stop(): void {
    this.stopSweeping();
  }
}
