/**
 * Opens the database: PostgreSQL when `KEYWARD_DATABASE_URL` is a `postgres://` URL (the
 * scale-out engine), otherwise SQLite in the data directory (the embedded default). The same
 * Kysely code runs on both.
 *
 * @packageDocumentation
 */

import { closeSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import {
  type DialectAdapter,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
  sql,
} from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

/** Which engine a store runs on. */
export type Engine = 'sqlite' | 'postgres';

/** Where the database is. */
export interface DatabaseLocation {
  /** A `postgres://` or `postgresql://` URL; when absent, SQLite at `sqlitePath`. */
  readonly url?: string | undefined;
  /** The SQLite file, used when no URL is given. */
  readonly sqlitePath?: string | undefined;
  /** Most PostgreSQL connections in the pool. Default 10. */
  readonly poolSize?: number;
  /**
   * Told when a pooled PostgreSQL connection fails while idle (a restarted or failed-over
   * server, an administrator's terminate). The pool has dropped it already and connects again
   * for the next query.
   */
  readonly onIdleError?: ((error: Error) => void) | undefined;
}

/**
 * Runs `write` with commits that survive a crash of the process but may be lost with the
 * machine's (see {@link OpenDatabase.unsynced}).
 */
export type UnsyncedWrite = <T>(write: (db: Kysely<Database>) => Promise<T>) => Promise<T>;

/** An open database. */
export interface OpenDatabase {
  readonly db: Kysely<Database>;
  readonly engine: Engine;
  /**
   * For rows a client can simply ask for again (access tokens, valid for an hour at most): on
   * SQLite, `write` runs on the one connection with `synchronous = NORMAL`, so its commit is not
   * synced to disk. In WAL mode such a commit survives a crash of the process (it is in the
   * operating system's cache) and never corrupts the database; a crash or power loss of the
   * machine may lose it, until the next full commit or checkpoint syncs the log. On PostgreSQL
   * `write` runs as any other statement, as durable as the server's `synchronous_commit` says.
   */
  readonly unsynced: UnsyncedWrite;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** True when `url` names a PostgreSQL database. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

// int8 (OID 20) arrives from pg as a string; every bigint column here holds milliseconds or
// counters, far below 2^53, so a number is exact.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

// Kysely runs SQLite migrations outside a transaction (its adapter says SQLite has no
// transactional DDL, which is not so: SQLite does). A migration cut short by a crash would then
// leave half its tables and no record of having run, and every later start would fail on
// "table already exists". With this adapter each migration and its record commit together.
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

// Statements kept prepared, by their SQL: a store makes the same few dozen statements over and
// over, and Kysely's SQLite driver prepares each anew on every query (a session lookup prepared
// its statements on every request). Bounded, the oldest dropped first: a batch insert makes
// one text per row count. Kysely runs one query at a time on the connection, so a kept
// statement is never in use twice at once; SQLite prepares one again by itself after a schema
// change (a migration).
const KEPT_STATEMENTS = 500;

function keepingStatements(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const kept = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare(sql) {
      let statement = kept.get(sql);
      if (statement === undefined) {
        statement = sqlite.prepare(sql);
        if (kept.size >= KEPT_STATEMENTS) kept.delete(kept.keys().next().value as string);
        kept.set(sql, statement);
      }
      return statement;
    },
  };
}

class KeywardSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * Opens the database at `location`. SQLite runs in WAL mode with foreign keys on, a busy
 * timeout (so a second process waits instead of failing) and full synchronous commits (a
 * committed key survives a crash of the process or the machine), access tokens aside
 * ({@link OpenDatabase.unsynced}).
 */
export function openDatabase(location: DatabaseLocation): OpenDatabase {
  if (location.url !== undefined && location.url !== '') {
    if (!isPostgresUrl(location.url)) {
      throw new TypeError('KEYWARD_DATABASE_URL must be a postgres:// URL; leave it unset for SQLite');
    }
    const pool = new pg.Pool({ connectionString: location.url, max: location.poolSize ?? 10, types: pgTypes });
    // pg-pool emits 'error' for an idle connection that fails, and an 'error' event nobody
    // listens to crashes the process: one PostgreSQL restart would take every instance down.
    pool.on('error', (error) => location.onIdleError?.(error));
    // pg-pool listens for errors only on idle connections. A checked-out connection whose socket
    // fails between two statements (Kysely holds one for a whole transaction) emits 'error' with
    // no listener, which crashed the process when PostgreSQL went away under load. The statement
    // in flight, or the next one, fails and the request fails closed (503); pg-pool drops the
    // dead connection when it is released.
    // The listener only keeps the process up: the failure reaches the caller through the
    // statement that fails, and an idle connection's through the pool's 'error' above.
    pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, engine: 'postgres', unsynced: (write) => write(db), close: () => db.destroy() };
  }
  if (location.sqlitePath === undefined) throw new TypeError('either a database URL or a SQLite path is required');
  // Created owner-only before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
  closeSync(openSync(location.sqlitePath, 'a', 0o600));
  const sqlite = new BetterSqlite3(location.sqlitePath);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = FULL');
  const db = new Kysely<Database>({ dialect: new KeywardSqliteDialect({ database: keepingStatements(sqlite) }) });
  // The connection is held for the whole write (Kysely's SQLite driver lends its one connection
  // to one caller at a time), so no other statement commits while the setting is relaxed.
  const unsynced: UnsyncedWrite = (write) =>
    db.connection().execute(async (connection) => {
      await sql`pragma synchronous = NORMAL`.execute(connection);
      try {
        return await write(connection);
      } finally {
        await sql`pragma synchronous = FULL`.execute(connection);
      }
    });
  return { db, engine: 'sqlite', unsynced, close: () => db.destroy() };
}
