/**
 * Verification outcomes per key and hour: accepted and refused requests by method and refusal
 * code, with when a refused row was first and last seen and a few of the client addresses it
 * came from. Batched in memory and written on an interval and at shutdown, like usage
 * (`usage.ts`), never once per request.
 *
 * A row is written against a key only if the key exists when the batch is written: a stranger
 * who invents key ids cannot make rows for them. Outcomes that name no existing key (an unknown
 * or absent key id, a session, an access token) are counted in one row per hour, method,
 * outcome and code without a key. The batch is bounded: past {@link MAX_PENDING_KEYED_REFUSALS}
 * refused rows naming a key id, further refusals for ids not yet in the batch are counted
 * without their key id, so a flood of garbage ids costs a fixed amount of memory.
 *
 * @packageDocumentation
 */

import { formatKeywardString } from '@keyward/core';
import { sql } from 'kysely';
import { every } from '../state/every.js';
import type { Executor, StoreContext } from './context.js';

const HOUR = 60 * 60 * 1000;

/** Distinct client addresses kept per refused row. */
export const MAX_ADDRESSES = 10;

/** Refused rows naming a key id held in one batch; beyond, new ones are counted without their key. */
export const MAX_PENDING_KEYED_REFUSALS = 10_000;

// Rows per INSERT: 9 parameters each, well under SQLite's and PostgreSQL's parameter limits.
const ROWS_PER_STATEMENT = 500;

/** Whether a verification let the request through. */
export type OutcomeKind = 'accepted' | 'refused';

/** One verification, as the server's instrumented verifier reports it. */
export interface OutcomeEvent {
  /** The raw key id (not `kw_kid_…`) the request named or was verified as, if any. */
  readonly rawKeyId?: string | undefined;
  /** The method used (accepted) or tried (refused). */
  readonly method: string;
  readonly outcome: OutcomeKind;
  /** The refusal code; ignored for an accepted request. */
  readonly code?: string | undefined;
  /** The client address; kept for refusals only. */
  readonly address?: string | undefined;
}

/** Requests of one hour, method, outcome and code. */
export interface OutcomeHour {
  /** Start of the hour, in milliseconds. */
  readonly hour: number;
  readonly method: string;
  readonly outcome: OutcomeKind;
  /** The refusal code; null for accepted requests. */
  readonly code: string | null;
  readonly count: number;
}

/** Refused requests of one key (or of no known key), hour, method and code. */
export interface RefusalRow {
  /** The key (`kw_kid_…`), or null for refusals that named no existing key. */
  readonly keyId: string | null;
  readonly hour: number;
  readonly method: string;
  readonly code: string;
  readonly count: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Up to {@link MAX_ADDRESSES} distinct client addresses. */
  readonly addresses: string[];
}

/** What {@link OutcomeCounter.refusals} takes. */
export interface RefusalQuery {
  /** One key's refusals (raw id); all, unattributed ones included, when absent. */
  readonly rawKeyId?: string | undefined;
  /** Only rows last seen at or after this time (milliseconds). */
  readonly since?: number | undefined;
  readonly limit: number;
}

interface Pending {
  /** Raw key id; the empty string for no key. */
  readonly keyId: string;
  readonly hour: number;
  readonly method: string;
  readonly outcome: OutcomeKind;
  /** The empty string for accepted requests. */
  readonly code: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  readonly addresses: Set<string>;
}

// NUL cannot occur in a key id, a method name or a code.
function rowKey(keyId: string, hour: number, method: string, outcome: string, code: string): string {
  return `${keyId}\0${hour}\0${method}\0${outcome}\0${code}`;
}

function keyOf(p: Pending, keyId = p.keyId): string {
  return rowKey(keyId, p.hour, p.method, p.outcome, p.code);
}

/** Adds `from` into `into`: counts add up, times widen, addresses join up to the cap. */
function mergeInto(into: Pending, from: Pending): void {
  into.count += from.count;
  into.firstSeen = Math.min(into.firstSeen, from.firstSeen);
  into.lastSeen = Math.max(into.lastSeen, from.lastSeen);
  for (const a of from.addresses) {
    if (into.addresses.size >= MAX_ADDRESSES) break;
    into.addresses.add(a);
  }
}

function copyOf(p: Pending, keyId = p.keyId): Pending {
  return { ...p, keyId, addresses: new Set(p.addresses) };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * How a row already stored for the same hour, method, outcome and code takes in a new one: the
 * counts add up, first and last seen widen, and the addresses are the new row's (already joined
 * with the stored ones by the writer). One expression for both outcome tables.
 */
function mergedWith(table: 'usage_outcomes' | 'unattributed_outcomes') {
  const stored = (column: string) => sql.ref(`${table}.${column}`);
  return {
    count: sql<number>`${stored('count')} + excluded.count`,
    first_seen: sql<number>`case when ${stored('first_seen')} < excluded.first_seen then ${stored('first_seen')} else excluded.first_seen end`,
    last_seen: sql<number>`case when ${stored('last_seen')} > excluded.last_seen then ${stored('last_seen')} else excluded.last_seen end`,
    addresses: sql<string>`excluded.addresses`,
  };
}

function parseAddresses(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((a): a is string => typeof a === 'string') : [];
  } catch {
    return [];
  }
}

/** Newest first: by hour, then last seen, then the row's names (for a stable order). */
function newestFirst(a: RefusalRow, b: RefusalRow): number {
  return (
    b.hour - a.hour ||
    b.lastSeen - a.lastSeen ||
    (a.keyId ?? '').localeCompare(b.keyId ?? '') ||
    a.method.localeCompare(b.method) ||
    a.code.localeCompare(b.code)
  );
}

function byHour(a: OutcomeHour, b: OutcomeHour): number {
  return (
    a.hour - b.hour ||
    a.method.localeCompare(b.method) ||
    a.outcome.localeCompare(b.outcome) ||
    (a.code ?? '').localeCompare(b.code ?? '')
  );
}

/** Batches verification outcomes and writes them in one transaction per flush. */
export class OutcomeCounter {
  private pending = new Map<string, Pending>();
  private keyedRefusals = 0;
  private stopTimer: () => void = () => {};
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: StoreContext) {}

  /** Counts one verification now. O(1), no I/O. */
  record(event: OutcomeEvent): void {
    const now = this.ctx.clock.now();
    const hour = now - (now % HOUR);
    const refused = event.outcome === 'refused';
    const code = refused ? (event.code ?? 'unknown') : '';
    let keyId = event.rawKeyId ?? '';
    let key = rowKey(keyId, hour, event.method, event.outcome, code);
    let p = this.pending.get(key);
    if (p === undefined && refused && keyId !== '' && this.keyedRefusals >= MAX_PENDING_KEYED_REFUSALS) {
      keyId = '';
      key = rowKey(keyId, hour, event.method, event.outcome, code);
      p = this.pending.get(key);
    }
    if (p === undefined) {
      p = {
        keyId,
        hour,
        method: event.method,
        outcome: event.outcome,
        code,
        count: 0,
        firstSeen: now,
        lastSeen: now,
        addresses: new Set(),
      };
      this.pending.set(key, p);
      if (refused && keyId !== '') this.keyedRefusals++;
    }
    p.count++;
    if (now < p.firstSeen) p.firstSeen = now;
    if (now > p.lastSeen) p.lastSeen = now;
    if (refused && event.address !== undefined && event.address !== '' && p.addresses.size < MAX_ADDRESSES)
      p.addresses.add(event.address);
  }

  /** Number of unflushed rows. */
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

  /** Flushes every `intervalMs` until {@link OutcomeCounter.stop}. Errors are passed to `onError`. */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.stopTimer();
    this.stopTimer = every(intervalMs, () => this.flush(), onError);
  }

  /** Stops the interval and flushes what is left. */
  async stop(): Promise<void> {
    this.stopTimer();
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.keyedRefusals = 0;
    try {
      await this.ctx.db.transaction().execute(async (trx) => {
        const named = [...new Set([...batch.values()].map((p) => p.keyId).filter((id) => id !== ''))];
        const existing = new Set<string>();
        for (const ids of chunks(named, ROWS_PER_STATEMENT)) {
          for (const row of await trx.selectFrom('api_keys').select('id').where('id', 'in', ids).execute())
            existing.add(row.id);
        }
        // Rows of keys that do not exist (invented ids, or deleted since) are counted without a key.
        const keyed: Pending[] = [];
        const unattributed = new Map<string, Pending>();
        for (const p of batch.values()) {
          if (p.keyId !== '' && existing.has(p.keyId)) {
            keyed.push(p);
            continue;
          }
          const key = keyOf(p, '');
          const into = unattributed.get(key);
          if (into === undefined) unattributed.set(key, copyOf(p, ''));
          else mergeInto(into, p);
        }
        await this.writeKeyed(trx, keyed);
        await this.writeUnattributed(trx, [...unattributed.values()]);
      });
    } catch (error) {
      for (const [key, p] of batch) {
        const now = this.pending.get(key);
        if (now === undefined) this.pending.set(key, p);
        else mergeInto(now, p);
      }
      this.keyedRefusals = [...this.pending.values()].filter((p) => p.outcome === 'refused' && p.keyId !== '').length;
      throw error;
    }
  }

  /**
   * The addresses a row will hold: those already stored, then the batch's, up to the cap.
   * (Read, then written in the same transaction; an instance flushing the same row at the same
   * moment may have its addresses replaced by ours. The counts are added in SQL and stay exact.)
   */
  private addressesOf(p: Pending, stored: Map<string, string[]>): string {
    if (p.outcome !== 'refused') return '[]';
    const all = new Set(stored.get(keyOf(p)) ?? []);
    for (const a of p.addresses) {
      if (all.size >= MAX_ADDRESSES) break;
      all.add(a);
    }
    return JSON.stringify([...all].slice(0, MAX_ADDRESSES));
  }

  private async writeKeyed(trx: Executor, rows: readonly Pending[]): Promise<void> {
    for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) {
      const stored = new Map<string, string[]>();
      const refused = chunk.filter((p) => p.outcome === 'refused');
      if (refused.length > 0) {
        const found = await trx
          .selectFrom('usage_outcomes')
          .select(['key_id', 'hour', 'method', 'outcome', 'code', 'addresses'])
          .where('outcome', '=', 'refused')
          .where('key_id', 'in', [...new Set(refused.map((p) => p.keyId))])
          .where('hour', 'in', [...new Set(refused.map((p) => p.hour))])
          .execute();
        for (const r of found)
          stored.set(rowKey(r.key_id, Number(r.hour), r.method, r.outcome, r.code), parseAddresses(r.addresses));
      }
      await trx
        .insertInto('usage_outcomes')
        .values(
          chunk.map((p) => ({
            key_id: p.keyId,
            hour: p.hour,
            method: p.method,
            outcome: p.outcome,
            code: p.code,
            count: p.count,
            first_seen: p.firstSeen,
            last_seen: p.lastSeen,
            addresses: this.addressesOf(p, stored),
          })),
        )
        .onConflict((oc) =>
          oc.columns(['key_id', 'hour', 'method', 'outcome', 'code']).doUpdateSet(mergedWith('usage_outcomes')),
        )
        .execute();
    }
  }

  private async writeUnattributed(trx: Executor, rows: readonly Pending[]): Promise<void> {
    for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) {
      const stored = new Map<string, string[]>();
      const refused = chunk.filter((p) => p.outcome === 'refused');
      if (refused.length > 0) {
        const found = await trx
          .selectFrom('unattributed_outcomes')
          .select(['hour', 'method', 'outcome', 'code', 'addresses'])
          .where('outcome', '=', 'refused')
          .where('hour', 'in', [...new Set(refused.map((p) => p.hour))])
          .execute();
        for (const r of found)
          stored.set(rowKey('', Number(r.hour), r.method, r.outcome, r.code), parseAddresses(r.addresses));
      }
      await trx
        .insertInto('unattributed_outcomes')
        .values(
          chunk.map((p) => ({
            hour: p.hour,
            method: p.method,
            outcome: p.outcome,
            code: p.code,
            count: p.count,
            first_seen: p.firstSeen,
            last_seen: p.lastSeen,
            addresses: this.addressesOf(p, stored),
          })),
        )
        .onConflict((oc) =>
          oc.columns(['hour', 'method', 'outcome', 'code']).doUpdateSet(mergedWith('unattributed_outcomes')),
        )
        .execute();
    }
  }

  /**
   * Requests of one key (raw id) per hour, method, outcome and code, between two hour starts
   * (`from` inclusive, `to` exclusive); hour ascending, only hours with requests.
   */
  async keyHours(rawKeyId: string, from: number, to: number): Promise<OutcomeHour[]> {
    const rows = await this.ctx.db
      .selectFrom('usage_outcomes')
      .select(['hour', 'method', 'outcome', 'code', 'count'])
      .where('key_id', '=', rawKeyId)
      .where('hour', '>=', from)
      .where('hour', '<', to)
      .execute();
    return rows.map(toHour).sort(byHour);
  }

  /** Requests of every key, and of none, per hour, method, outcome and code; as {@link keyHours}. */
  async allHours(from: number, to: number): Promise<OutcomeHour[]> {
    const sums = new Map<string, OutcomeHour>();
    for (const table of ['usage_outcomes', 'unattributed_outcomes'] as const) {
      const rows = await this.ctx.db
        .selectFrom(table)
        .select(['hour', 'method', 'outcome', 'code'])
        .select((eb) => eb.fn.sum<number | string>('count').as('count'))
        .where('hour', '>=', from)
        .where('hour', '<', to)
        .groupBy(['hour', 'method', 'outcome', 'code'])
        .execute();
      for (const row of rows) {
        const h = toHour(row);
        const key = rowKey('', h.hour, h.method, h.outcome, h.code ?? '');
        const sum = sums.get(key);
        sums.set(key, sum === undefined ? h : { ...sum, count: sum.count + h.count });
      }
    }
    return [...sums.values()].filter((h) => h.count > 0).sort(byHour);
  }

  /** Refused rows, newest first (hour, then last seen). */
  async refusals(query: RefusalQuery): Promise<RefusalRow[]> {
    let keyed = this.ctx.db
      .selectFrom('usage_outcomes')
      .select(['key_id', 'hour', 'method', 'code', 'count', 'first_seen', 'last_seen', 'addresses'])
      .where('outcome', '=', 'refused');
    if (query.rawKeyId !== undefined) keyed = keyed.where('key_id', '=', query.rawKeyId);
    if (query.since !== undefined) keyed = keyed.where('last_seen', '>=', query.since);
    const rows: RefusalRow[] = (
      await keyed.orderBy('hour', 'desc').orderBy('last_seen', 'desc').limit(query.limit).execute()
    ).map((r) => toRefusal(r, formatKeywardString('key_id', { id: r.key_id })));
    if (query.rawKeyId === undefined) {
      let none = this.ctx.db
        .selectFrom('unattributed_outcomes')
        .select(['hour', 'method', 'code', 'count', 'first_seen', 'last_seen', 'addresses'])
        .where('outcome', '=', 'refused');
      if (query.since !== undefined) none = none.where('last_seen', '>=', query.since);
      const found = await none.orderBy('hour', 'desc').orderBy('last_seen', 'desc').limit(query.limit).execute();
      rows.push(...found.map((r) => toRefusal(r, null)));
    }
    return rows.sort(newestFirst).slice(0, query.limit);
  }
}

function toHour(row: {
  hour: number | string;
  method: string;
  outcome: OutcomeKind;
  code: string;
  count: number | string | null;
}): OutcomeHour {
  return {
    hour: Number(row.hour),
    method: row.method,
    outcome: row.outcome,
    code: row.code === '' ? null : row.code,
    count: Number(row.count ?? 0),
  };
}

function toRefusal(
  row: {
    hour: number;
    method: string;
    code: string;
    count: number;
    first_seen: number;
    last_seen: number;
    addresses: string;
  },
  keyId: string | null,
): RefusalRow {
  return {
    keyId,
    hour: Number(row.hour),
    method: row.method,
    code: row.code,
    count: Number(row.count),
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
    addresses: parseAddresses(row.addresses),
  };
}
