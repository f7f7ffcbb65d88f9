/**
 * Usage counters: last used, use count and hourly buckets per key, batched in memory and
 * flushed on an interval and at shutdown, never written per request.
 *
 * @packageDocumentation
 */

import { sql } from 'kysely';
import { every } from '../state/every.js';
import type { StoreContext } from './context.js';

const HOUR = 60 * 60 * 1000;

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
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.ctx.db.transaction().execute(async (trx) => {
        for (const [keyId, p] of batch) {
          await trx
            .updateTable('api_keys')
            .set((eb) => ({
              use_count: eb('use_count', '+', p.count),
              last_used_at: sql<number>`case when last_used_at is null or last_used_at < ${p.lastUsed} then ${p.lastUsed} else last_used_at end`,
            }))
            .where('id', '=', keyId)
            .execute();
          for (const [hour, count] of p.hours) {
            // A key deleted since it was used has no row to count against: skip it.
            await trx
              .insertInto('usage_hourly')
              .columns(['key_id', 'hour', 'count'])
              .expression((eb) =>
                eb
                  .selectFrom('api_keys')
                  .select([eb.val(keyId).as('key_id'), eb.val(hour).as('hour'), eb.val(count).as('count')])
                  .where('id', '=', keyId),
              )
              .onConflict((c) =>
                c
                  .columns(['key_id', 'hour'])
                  .doUpdateSet((eb) => ({ count: eb('usage_hourly.count', '+', eb.ref('excluded.count')) })),
              )
              .execute();
          }
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
