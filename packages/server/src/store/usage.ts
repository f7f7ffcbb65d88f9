/**
 * Usage counters: last used, use count and hourly buckets per key, batched in memory and
 * flushed on an interval and at shutdown, never written per request.
 *
 * @packageDocumentation
 */

import { type RawBuilder, sql } from 'kysely';
import { every } from '../state/every.js';
import type { StoreContext } from './context.js';

const HOUR = 60 * 60 * 1000;

// Keys (or key-hours) per statement. One multi-row statement per chunk rather than one per key:
// better-sqlite3 runs statements on the event loop, and a statement per key there held every
// request up for about 0.2 ms per key used since the last flush.
const ROWS_PER_STATEMENT = 500;

/** A key id and two counts (use count and last use, or hour and count). */
type Row = readonly [string, number, number];

/**
 * `rows` as VALUES lists of at most {@link ROWS_PER_STATEMENT} tuples. The numbers are cast to
 * bigint: PostgreSQL would otherwise type the parameters of a VALUES list as text.
 */
function valueLists(rows: readonly Row[]): RawBuilder<unknown>[] {
  const lists: RawBuilder<unknown>[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const tuples = rows
      .slice(i, i + ROWS_PER_STATEMENT)
      .map(([id, a, b]) => sql`(${id}, cast(${a} as bigint), cast(${b} as bigint))`);
    lists.push(sql.join(tuples));
  }
  return lists;
}

interface Pending {
  count: number;
  lastUsed: number;
  hours: Map<number, number>;
}

/** Batches key usage and writes it in one transaction per flush. */
export class UsageCounter {
  private pending = new Map<string, Pending>();
  private stopTimer: () => void = () => {};
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: StoreContext) {}

  /** Counts one use of a key (raw id) now. O(1), no I/O. */
  record(rawKeyId: string): void {
    const now = this.ctx.clock.now();
    let p = this.pending.get(rawKeyId);
    if (p === undefined) {
      p = { count: 0, lastUsed: now, hours: new Map() };
      this.pending.set(rawKeyId, p);
    }
    p.count++;
    if (now > p.lastUsed) p.lastUsed = now;
    const hour = now - (now % HOUR);
    p.hours.set(hour, (p.hours.get(hour) ?? 0) + 1);
  }

  /** Number of keys with unflushed usage. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Writes what has been counted. Flushes run one at a time; on failure the counts go back into
   * the batch so that nothing is lost, and the error is rethrown.
   */
  flush(): Promise<void> {
    // After the previous flush, whether it succeeded or not: its failure was its caller's to
    // handle, and must not fail every flush after it.
    const next = this.flushing.catch(() => {}).then(() => this.write());
    this.flushing = next;
    return next;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const keys: Row[] = [];
    const hours: Row[] = [];
    for (const [keyId, p] of batch) {
      keys.push([keyId, p.count, p.lastUsed]);
      for (const [hour, count] of p.hours) hours.push([keyId, hour, count]);
    }
    try {
      await this.ctx.db.transaction().execute(async (trx) => {
        for (const values of valueLists(keys)) {
          await sql`with v (id, n, last_used) as (values ${values})
            update api_keys
            set use_count = use_count + v.n,
              last_used_at = case when last_used_at is null or last_used_at < v.last_used then v.last_used else last_used_at end
            from v where api_keys.id = v.id`.execute(trx);
        }
        for (const values of valueLists(hours)) {
          // A key deleted since it was used has no row to count against: skipped. (The WHERE
          // also keeps SQLite's parser from reading ON CONFLICT as a join's ON.)
          await sql`with v (key_id, hour, n) as (values ${values})
            insert into usage_hourly (key_id, hour, "count")
            select key_id, hour, n from v where key_id in (select id from api_keys)
            on conflict (key_id, hour) do update set "count" = usage_hourly."count" + excluded."count"`.execute(trx);
        }
      });
    } catch (error) {
      for (const [keyId, p] of batch) {
        const now = this.pending.get(keyId);
        if (now === undefined) this.pending.set(keyId, p);
        else {
          now.count += p.count;
          now.lastUsed = Math.max(now.lastUsed, p.lastUsed);
          for (const [h, c] of p.hours) now.hours.set(h, (now.hours.get(h) ?? 0) + c);
        }
      }
      throw error;
    }
  }

  /** Flushes every `intervalMs` until {@link UsageCounter.stop}. Errors are passed to `onError`. */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.stopTimer();
    this.stopTimer = every(intervalMs, () => this.flush(), onError);
  }

  /** Stops the interval and flushes what is left. */
  async stop(): Promise<void> {
    this.stopTimer();
    await this.flush();
  }

  /** Hourly counts of a key between two times (hour starts, milliseconds). */
  async hourly(rawKeyId: string, from: number, to: number): Promise<{ hour: number; count: number }[]> {
    return this.ctx.db
      .selectFrom('usage_hourly')
      .select(['hour', 'count'])
      .where('key_id', '=', rawKeyId)
      .where('hour', '>=', from)
      .where('hour', '<', to)
      .orderBy('hour')
      .execute();
  }
}
