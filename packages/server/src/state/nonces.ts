/**
 * Nonce stores: the replay protection of OAuth 1.0a and signed sessions. A nonce is unique per
 * scope (consumer key and token) for as long as its timestamp could be accepted; `consume`
 * records it atomically and says whether it was new. The verifier calls it only after the
 * signature verified, so floods of bad requests cannot grow the store.
 *
 * @packageDocumentation
 */

import type { Kysely } from 'kysely';
import { type Clock, deleteInBatches, PURGE_BATCH } from '../store/context.js';
import type { Database } from '../store/schema.js';
import { type NonceStore, StoreUnavailableError } from '../verify/ports.js';
import { every } from './every.js';

export type { NonceStore } from '../verify/ports.js';

/** Thrown when a nonce store cannot record a nonce; the verifier fails closed (503). */
export class NonceStoreUnavailableError extends StoreUnavailableError {
  override readonly name = 'NonceStoreUnavailableError';
}

/**
 * One string for a scope and a nonce, as both stores key them. NUL cannot occur in a scope (key
 * ids and tokens are base62), so the join is unambiguous.
 */
function nonceKey(scope: string, nonce: string): string {
  return `${scope}\u0000${nonce}`;
}

/** Options of {@link MemoryNonceStore}. */
export interface MemoryNonceStoreOptions {
  readonly clock: Clock;
  /** Most nonces held at once. Default 1,000,000 (about 150 MB at worst, with 32-character nonces). */
  readonly maxEntries?: number;
}

/**
 * An in-process nonce store for a single instance: a Map for lookups and a queue of the same
 * records in arrival order, swept from its head, so every operation is amortized O(1).
 * Arrival order is nearly expiry order (every record lives for the timestamp window); a record
 * that expires before the one ahead of it is swept with it, and until then still refuses
 * nothing it should not, since `consume` checks expiry itself. When full of unexpired nonces it
 * refuses new ones (fails closed) rather than forget a nonce that could then be replayed.
 */
export class MemoryNonceStore implements NonceStore {
  private readonly entries = new Map<string, number>();
  // The queue, as two arrays and a head index. Sweeping by iterating the Map from its front
  // instead would step over every entry deleted since V8 last compacted the Map, so a sweep
  // would cost more the fuller the window: hundreds of microseconds per request at steady state.
  private queueKeys: string[] = [];
  private queueExpiries: number[] = [];
  private head = 0;
  private readonly maxEntries: number;

  constructor(private readonly options: MemoryNonceStoreOptions) {
    this.maxEntries = options.maxEntries ?? 1_000_000;
  }

  /** Number of nonces held. */
  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    const keys = this.queueKeys;
    const expiries = this.queueExpiries;
    let head = this.head;
    while (head < keys.length && (expiries[head] as number) <= now) {
      const key = keys[head] as string;
      // The Map may hold a later record of the same key (consumed again once this one had
      // expired); only the record this queue slot stands for goes.
      if (this.entries.get(key) === expiries[head]) this.entries.delete(key);
      keys[head] = '';
      head++;
    }
    // Drop the swept part once it is most of the arrays: a copy of what is left, amortized O(1).
    if (head > 1024 && head * 2 > keys.length) {
      this.queueKeys = keys.slice(head);
      this.queueExpiries = expiries.slice(head);
      head = 0;
    }
    this.head = head;
  }

  async consume(scope: string, nonce: string, expiresAt: number): Promise<boolean> {
    const now = this.options.clock.now();
    this.sweep(now);
    const key = nonceKey(scope, nonce);
    const existing = this.entries.get(key);
    if (existing !== undefined && existing > now) return false;
    if (existing === undefined && this.entries.size >= this.maxEntries) {
      throw new NonceStoreUnavailableError(`nonce store is full (${this.maxEntries} unexpired nonces)`);
    }
    this.entries.set(key, expiresAt);
    this.queueKeys.push(key);
    this.queueExpiries.push(expiresAt);
    return true;
  }
}

/** A consume waiting for its batch. */
interface Waiting {
  readonly scope: string;
  readonly nonce: string;
  readonly expiresAt: number;
  resolve(fresh: boolean): void;
  reject(error: unknown): void;
}

// Rows per statement of a batch: a flood of signed requests still makes bounded statements.
const NONCES_PER_STATEMENT = 500;

/**
 * A nonce store in the SQL database (SQLite or PostgreSQL), shared by every instance on it:
 * `INSERT … ON CONFLICT DO UPDATE … WHERE expired RETURNING`, so a live nonce is never
 * overwritten and the database decides atomically who was first. Expired rows are swept on an
 * interval.
 *
 * The consumes of one turn of the event loop are written together, in one statement: with
 * SQLite's full synchronous commits each statement costs a sync of the write-ahead log (about
 * 0.3 ms here), which one batch pays once for every request that arrived with it.
 */
export class SqlNonceStore implements NonceStore {
  private stopSweeping: () => void = () => {};
  private waiting: Waiting[] = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  consume(scope: string, nonce: string, expiresAt: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      // setImmediate runs once the requests read in this turn of the event loop have all asked.
      if (this.waiting.length === 0) setImmediate(() => this.write());
      this.waiting.push({ scope, nonce, expiresAt, resolve, reject });
    });
  }

  private async write(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    // The same scope and nonce twice in one batch: the first is the one written, the others
    // are replays of it (and one statement may not touch a row twice).
    const firsts = new Map<string, Waiting>();
    const replays: Waiting[] = [];
    for (const w of batch) {
      const key = nonceKey(w.scope, w.nonce);
      if (firsts.has(key)) replays.push(w);
      else firsts.set(key, w);
    }
    const rows = [...firsts];
    let done = 0;
    try {
      for (; done < rows.length; done += NONCES_PER_STATEMENT) {
        const chunk = rows.slice(done, done + NONCES_PER_STATEMENT);
        const now = this.clock.now();
        const written = await this.db
          .insertInto('nonces')
          .values(chunk.map(([, w]) => ({ scope: w.scope, nonce: w.nonce, expires_at: w.expiresAt })))
          .onConflict((c) =>
            c
              .columns(['scope', 'nonce'])
              .doUpdateSet((eb) => ({ expires_at: eb.ref('excluded.expires_at') }))
              .where('nonces.expires_at', '<=', now),
          )
          // Rows inserted, or updated because their record had expired: the fresh ones.
          .returning(['scope', 'nonce'])
          .execute();
        const fresh = new Set(written.map((r) => nonceKey(r.scope, r.nonce)));
        for (const [key, w] of chunk) w.resolve(fresh.has(key));
      }
    } catch (error) {
      // Fail closed: every consume not answered yet is refused as a store failure.
      const unavailable = new NonceStoreUnavailableError('nonce store query failed', { cause: error });
      for (const [, w] of rows.slice(done)) w.reject(unavailable);
    }
    // A replay in the batch is refused whatever became of the first copy: it was refused too,
    // or it was accepted and this one is its replay.
    for (const w of replays) w.resolve(false);
  }

  /**
   * Deletes expired nonces, `batchSize` rows a statement (a minute of traffic can be many
   * thousands of rows); resolves to how many.
   */
  sweep(batchSize = PURGE_BATCH): Promise<number> {
    const now = this.clock.now();
    return deleteInBatches(batchSize, async () => {
      const result = await this.db
        .deleteFrom('nonces')
        .where((eb) =>
          eb(
            eb.refTuple('scope', 'nonce'),
            'in',
            eb
              .selectFrom('nonces')
              .select(['scope', 'nonce'])
              .where('expires_at', '<=', now)
              .limit(batchSize)
              .$asTuple('scope', 'nonce'),
          ),
        )
        .executeTakeFirst();
      return result.numDeletedRows;
    });
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
