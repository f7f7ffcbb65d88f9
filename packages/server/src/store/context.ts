/**
 * What every repository is given: the database, the keyring, and the injected clock and
 * randomness, so tests can freeze time.
 *
 * @packageDocumentation
 */

import { type RandomBytes, randomBase62 } from '@keyward/core';
import type { Kysely, Transaction } from 'kysely';
import type { Clock, Invalidation, InvalidationBus } from '../verify/ports.js';
import type { AuditEntry, AuditLog } from './audit.js';
import type { UnsyncedWrite } from './database.js';
import type { Keyring } from './keyring.js';
import type { Database } from './schema.js';

export { type Clock, type Invalidation, systemClock } from '../verify/ports.js';

/**
 * The in-process {@link InvalidationBus}: tells caches in this process that a key, account or
 * token changed (created, rotated, revoked, disabled, enabled, expired by update). Published
 * after the change committed.
 */
export class Invalidations implements InvalidationBus {
  private readonly listeners = new Set<(event: Invalidation) => void>();

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: (event: Invalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every listener. */
  publish(event: Invalidation): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** Shared dependencies of the repositories. */
export interface StoreContext {
  readonly db: Kysely<Database>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  /** Where changes that make cached credentials stale are published (awaited before a change returns). */
  readonly invalidations: InvalidationBus;
  readonly random?: RandomBytes | undefined;
  /** Writes of rows a client can ask for again, without a sync per commit (`OpenDatabase.unsynced`). */
  readonly unsynced?: UnsyncedWrite | undefined;
}

/** Who did something, for the audit log. */
export interface Actor {
  readonly type: 'account' | 'key' | 'cli' | 'system';
  readonly id?: string | undefined;
  readonly ip?: string | undefined;
}

/** A database handle or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** True when a database error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  const { code } = error as { code?: unknown };
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * True when a database error is a violated constraint of the row itself (unique, foreign key,
 * not null, check): PostgreSQL's SQLSTATE class 23, SQLite's `SQLITE_CONSTRAINT_*` codes.
 * Anything else (a database that cannot be reached, a broken statement) is not.
 */
export function isConstraintViolation(error: unknown): boolean {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && (/^23[0-9A-Z]{3}$/.test(code) || code.startsWith('SQLITE_CONSTRAINT'));
}

/** A new random id with a readable prefix: `acc_…`, `sec_…`. */
export function newId(prefix: string, ctx: StoreContext, length = 22): string {
  return `${prefix}_${randomBase62(length, ctx.random)}`;
}

let lastAt = 0;
let sequence = 0;

/**
 * An id that sorts by creation time: the time in base 36 (fixed width), a sequence number that
 * keeps events of the same millisecond in the order this process made them, then randomness.
 * Used for audit events, whose order matters.
 */
export function timeOrderedId(at: number, ctx: StoreContext): string {
  const t = Math.max(0, at);
  if (t > lastAt) {
    lastAt = t;
    sequence = 0;
  } else sequence++;
  return `${lastAt.toString(36).padStart(10, '0')}${sequence.toString(36).padStart(4, '0')}${randomBase62(10, ctx.random)}`;
}

/** Rows a purge deletes per statement: a large backlog never holds the write lock for long. */
export const PURGE_BATCH = 1000;

/**
 * Runs `deleteBatch` (one statement deleting at most `batchSize` rows; resolves how many it
 * deleted) until a batch comes back short. Resolves the total. Between batches it lets the
 * event loop run: better-sqlite3 executes on it, and without the pause a backlog of batches
 * would hold every request up until the last one.
 */
export async function deleteInBatches(batchSize: number, deleteBatch: () => Promise<bigint | number>): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = Number(await deleteBatch());
    total += deleted;
    if (deleted < batchSize) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Ends one row of `table` that has not ended yet (sets `revoked_at`). With an actor and an
 * audit log, the end is audited in the same transaction, and only when it changed the row.
 * Resolves whether it did.
 */
export function endRow(
  ctx: StoreContext,
  table: 'sessions' | 'access_tokens',
  id: string,
  audited: { readonly audit: AuditLog | undefined; readonly actor: Actor | undefined; readonly entry: AuditEntry },
): Promise<boolean> {
  const now = ctx.clock.now();
  const end = async (db: Executor) => {
    const result = await db
      .updateTable(table)
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  };
  const { audit, actor, entry } = audited;
  return actor === undefined || audit === undefined ? end(ctx.db) : audit.recordIfChanged(actor, entry, end);
}
