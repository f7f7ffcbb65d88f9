/**
 * Nonce stores: the replay protection of OAuth 1.0a and signed sessions. A nonce is unique per
 * scope (consumer key and token) for as long as its timestamp could be accepted; `consume`
 * records it atomically and says whether it was new. The verifier calls it only after the
 * signature verified, so floods of bad requests cannot grow the store.
 *
 * @packageDocumentation
 */

import { hash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Clock, deleteInBatches, PURGE_BATCH } from '../store/context.js';
import type { Engine } from '../store/database.js';
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
  /**
   * Most nonces held at once. Default 1,000,000: about 115 MB of heap when full, whatever the
   * nonces' length (bench/nonce-memory.mjs measures it).
   */
  readonly maxEntries?: number;
}

/**
 * An in-process nonce store for a single instance: a Map for lookups and a queue of the same
 * records in arrival order, swept from its head, so every operation is amortized O(1).
 * A record is small and of one size: its key is a SHA-256 digest of scope and nonce (32
 * one-byte characters), never the request's own strings, of which a slice (the nonce) would
 * keep the whole `Authorization` header alive.
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
    const fresh = this.record(scope, nonce, expiresAt);
    if (fresh === undefined) {
      throw new NonceStoreUnavailableError(`nonce store is full (${this.maxEntries} unexpired nonces)`);
    }
    return fresh;
  }

  /**
   * {@link MemoryNonceStore.consume} without the promise: true when the nonce was new (it is
   * recorded now), false for a replay, undefined when the store is full of unexpired nonces
   * (nothing recorded).
   */
  record(scope: string, nonce: string, expiresAt: number): boolean | undefined {
    const now = this.options.clock.now();
    this.sweep(now);
    const key = hash('sha256', nonceKey(scope, nonce), 'binary');
    const existing = this.entries.get(key);
    if (existing !== undefined && existing > now) return false;
    if (existing === undefined && this.entries.size >= this.maxEntries) return undefined;
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

/** Options of {@link openEmbeddedNonceStore}. */
export interface EmbeddedNonceStoreOptions {
  /** The embedded SQLite database (one instance uses it: the nonces of this process are its own). */
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  /** Most nonces held in memory; beyond, nonces are written to the database. Default 1,000,000. */
  readonly maxEntries?: number;
  /** How far past the clock the durable lease reaches, in milliseconds. Default 3,000. */
  readonly leadMs?: number;
  /** How often the lease is renewed (one synced commit each), in milliseconds. Default 1,000. */
  readonly renewMs?: number;
  /**
   * Longest wait at open for the clock to pass the previous run's lease, so that clients with
   * a right clock are not refused after a quick restart. Default `leadMs + renewMs`; a lease
   * further ahead than that means the clock went back, and waiting would not help.
   */
  readonly maxStartWaitMs?: number;
}

// The lease's row in keyward_meta. Its value is milliseconds, zero-padded to a fixed width so
// that text order is number order (the upsert keeps the larger of two values).
const LEASE_NAME = 'nonce_lease';
const LEASE_WIDTH = 16;

/**
 * The nonce store of the embedded single-instance setup (SQLite): replay protection without a
 * synced commit per request. Nonces live in memory; what survives a crash is a lease, a time
 * written to the database with a synced commit before it is relied on, and renewed ahead of
 * the clock (one commit a second, whatever the traffic):
 *
 * - A request stamped at or before the durable lease has its nonce kept in memory only.
 * - A request stamped later (a client clock ahead of the server's by more than the lead) has
 *   its nonce written to the database before it is accepted, as {@link SqlNonceStore} does; so
 *   does every request while the memory is full, until what was written then has expired.
 * - On open, the previous run's lease becomes the floor ({@link NonceStore.floorMs}): every
 *   nonce the previous run kept only in memory belongs to a request stamped at or before it,
 *   and the verifier refuses those stamps. The nonces it wrote are loaded back into memory.
 *
 * So no request accepted before a crash is accepted after it, however the process ended: with
 * a stamp up to the lease it is refused by the floor, with a later one its nonce is known.
 * Wall-clock steps: the lease only ever grows, so a clock set back across a restart cannot
 * lower the floor (requests are refused until the clock passes it again); a clock set forward
 * only moves the lease further ahead.
 */
export class EmbeddedNonceStore implements NonceStore {
  readonly floorMs: number | undefined;
  private readonly memory: MemoryNonceStore;
  private readonly sql: SqlNonceStore;
  /** The lease as last committed: stamps up to it may be kept in memory only. */
  private durableUntil: number;
  /** Until then, every nonce is also written to the database (some were, while memory was full). */
  private spillUntil = 0;
  private stopRenewing: () => void = () => {};

  private constructor(
    private readonly options: EmbeddedNonceStoreOptions,
    floorMs: number | undefined,
    durableUntil: number,
  ) {
    this.floorMs = floorMs;
    this.durableUntil = durableUntil;
    this.memory = new MemoryNonceStore({ clock: options.clock, maxEntries: options.maxEntries });
    this.sql = new SqlNonceStore(options.db, options.clock);
  }

  /** Opens the store: see {@link openEmbeddedNonceStore}. */
  static async open(options: EmbeddedNonceStoreOptions): Promise<EmbeddedNonceStore> {
    const { db, clock } = options;
    const lead = options.leadMs ?? 3000;
    const renew = options.renewMs ?? 1000;
    const row = await db.selectFrom('keyward_meta').select('value').where('name', '=', LEASE_NAME).executeTakeFirst();
    let floor: number | undefined;
    if (row !== undefined) {
      floor = Number(row.value);
      if (!Number.isSafeInteger(floor) || floor < 0) throw new TypeError(`keyward_meta.${LEASE_NAME} is not a time`);
    }
    const store = new EmbeddedNonceStore(options, floor, 0);
    // The nonces the previous runs wrote (stamped past their lease, or spilled) that can still
    // be replayed, in expiry order (the memory store sweeps from the front).
    const now = clock.now();
    const rows = await db
      .selectFrom('nonces')
      .select(['scope', 'nonce', 'expires_at'])
      .where('expires_at', '>', now)
      .orderBy('expires_at')
      .execute();
    for (const r of rows) {
      if (store.memory.record(r.scope, r.nonce, r.expires_at) === undefined) {
        store.spillUntil = Math.max(store.spillUntil, r.expires_at);
      }
    }
    // The first lease, committed (synced) before any request is accepted.
    await store.renew(lead);
    // A quick restart lands inside the previous lease: wait for the clock to pass it rather than
    // refuse the first seconds of correctly stamped requests.
    const maxWait = options.maxStartWaitMs ?? lead + renew;
    if (floor !== undefined && floor - clock.now() < maxWait) {
      // OAuth 1.0a stamps are whole seconds: a request signed now passes the floor only once the
      // clock is in the second after it.
      const passable = (Math.floor(floor / 1000) + 1) * 1000;
      const started = Date.now();
      while (clock.now() < passable && Date.now() - started < maxWait + 1000) await sleep(Math.min(50, maxWait));
    }
    return store;
  }

  /** Commits the lease `lead` ms past the clock (never lower than it was), then relies on it. */
  private async renew(lead: number): Promise<void> {
    const until = Math.max(this.durableUntil, this.options.clock.now() + lead);
    const value = String(until).padStart(LEASE_WIDTH, '0');
    // The database's synchronous=FULL makes this commit durable before it returns; the larger
    // of the stored and the new value stays (another process on the same file may renew too).
    await this.options.db
      .insertInto('keyward_meta')
      .values({ name: LEASE_NAME, value })
      .onConflict((c) => c.column('name').doUpdateSet({ value }).where('keyward_meta.value', '<', value))
      .execute();
    this.durableUntil = until;
  }

  consume(scope: string, nonce: string, expiresAt: number, stampedAt?: number): Promise<boolean> {
    // The verifier refuses these stamps before asking; a caller that did not is refused here.
    if (this.floorMs !== undefined && (stampedAt === undefined || stampedAt <= this.floorMs)) {
      return Promise.resolve(false);
    }
    const fresh = this.memory.record(scope, nonce, expiresAt);
    if (fresh === false) return Promise.resolve(false);
    if (fresh === undefined) this.spillUntil = Math.max(this.spillUntil, expiresAt);
    const durable =
      stampedAt === undefined || stampedAt > this.durableUntil || this.options.clock.now() < this.spillUntil;
    if (!durable) return Promise.resolve(true);
    // Recorded in memory first (when there was room), so that a copy arriving while this one is
    // being written is refused; the database decides against what earlier runs wrote.
    return this.sql.consume(scope, nonce, expiresAt);
  }

  /**
   * Renews the lease every `renewMs` and sweeps expired rows every `sweepMs` until
   * {@link EmbeddedNonceStore.stop}. A failed renewal keeps the last lease: later stamps are
   * then written to the database, which fails closed if it is down.
   */
  start(sweepMs: number, onError: (error: unknown) => void): void {
    this.stop();
    const lead = this.options.leadMs ?? 3000;
    this.stopRenewing = every(this.options.renewMs ?? 1000, () => this.renew(lead), onError);
    this.sql.start(sweepMs, onError);
  }

  /** Stops renewing and sweeping. */
  stop(): void {
    this.stopRenewing();
    this.sql.stop();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Opens the {@link EmbeddedNonceStore} of a SQLite database: reads the previous run's lease
 * (the floor), loads the nonces written to the database, commits a new lease, and waits (a few
 * seconds at most) for the clock to pass the floor. Call {@link EmbeddedNonceStore.start} once
 * the server is built. For the embedded single-instance setup only: instances sharing a
 * database (PostgreSQL) need a shared store, {@link SqlNonceStore} or Redis.
 */
export function openEmbeddedNonceStore(options: EmbeddedNonceStoreOptions): Promise<EmbeddedNonceStore> {
  return EmbeddedNonceStore.open(options);
}

/** A nonce store with its background chores (lease renewal, sweeps). */
export type OwnNonceStore = NonceStore & {
  start(sweepMs: number, onError: (error: unknown) => void): void;
  stop(): void;
};

/**
 * The nonce store a server or gateway keeps in its own database when no shared state keeps
 * nonces: on SQLite (the embedded single-instance setup) an {@link EmbeddedNonceStore}, opened
 * (its floor committed) before this resolves; on PostgreSQL, which many instances share, a
 * {@link SqlNonceStore}.
 */
export async function ownNonceStore(
  store: { readonly engine: Engine; readonly context: { readonly db: Kysely<Database> } },
  clock: Clock,
): Promise<OwnNonceStore> {
  if (store.engine === 'sqlite') return openEmbeddedNonceStore({ db: store.context.db, clock });
  return new SqlNonceStore(store.context.db, clock);
}
