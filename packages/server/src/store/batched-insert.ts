/**
 * Group commit for a table written on a hot path (the token endpoint's `access_tokens`).
 *
 * @packageDocumentation
 */

import type { Insertable, Kysely } from 'kysely';
import { isConstraintViolation } from './context.js';
import type { UnsyncedWrite } from './database.js';
import type { Database } from './schema.js';

// Rows per statement: a flood of requests still makes bounded statements (SQLite allows 32,766
// bound parameters; a token row has 8 columns).
const ROWS_PER_STATEMENT = 500;

interface Pending<Row> {
  readonly row: Row;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Inserts into one table, the rows asked for in one turn of the event loop written together in
 * one statement. With SQLite's full synchronous commits every statement costs a sync of the
 * write-ahead log, and better-sqlite3 holds the event loop while it waits for it; a batch pays
 * that once for every request that arrived with it (the batched nonce store does the same).
 * Given `write` (`OpenDatabase.unsynced`), its statements are run through it instead: for rows
 * a client can ask for again, committed without that sync.
 *
 * Each caller's promise resolves only once its row is committed, so nothing is answered before
 * it is stored. If a batch's statement fails on a violated constraint, its rows are tried one by
 * one, so that one bad row (a key deleted in the meantime) fails only its own caller; any other
 * failure (the database unreachable) fails the batch's callers at once, rather than once more
 * per row.
 */
export class BatchedInsert<T extends keyof Database & string> {
  private waiting: Pending<Insertable<Database[T]>>[] = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly table: T,
    private readonly write?: UnsyncedWrite | undefined,
  ) {}

  /** Inserts `row`; resolves once it is committed, rejects with the database's error. */
  insert(row: Insertable<Database[T]>): Promise<void> {
    return new Promise((resolve, reject) => {
      // setImmediate runs once the requests read in this turn of the event loop have all asked.
      if (this.waiting.length === 0) setImmediate(() => void this.flush());
      this.waiting.push({ row, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    for (let start = 0; start < batch.length; start += ROWS_PER_STATEMENT) {
      const chunk = batch.slice(start, start + ROWS_PER_STATEMENT);
      try {
        await this.statement(chunk.map((p) => p.row));
        for (const p of chunk) p.resolve();
      } catch (error) {
        if (chunk.length === 1 || !isConstraintViolation(error)) {
          for (const p of chunk) p.reject(error);
          continue;
        }
        for (const p of chunk) {
          try {
            await this.statement([p.row]);
            p.resolve();
          } catch (own) {
            p.reject(own);
          }
        }
      }
    }
  }

  private async statement(rows: Insertable<Database[T]>[]): Promise<void> {
    // Kysely cannot relate a generic table name to its row type; the rows are typed by T above.
    const insert = (db: Kysely<Database>) =>
      db
        .insertInto(this.table)
        .values(rows as never)
        .execute();
    await (this.write === undefined ? insert(this.db) : this.write(insert));
  }
}
