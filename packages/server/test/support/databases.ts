// Fresh, isolated databases for store tests: a new PostgreSQL database on the run's shared embedded
// server (see ./postgres.ts), or a new SQLite file in its own temp dir. Each test (or file) gets
// its own, so tests can run in parallel and never see each other's rows.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

export interface PostgresDatabase {
  /** Connection URL (admin user) of the new, empty database. */
  url: string;
  /** Terminates every connection still open on it and drops it. Safe to call twice. */
  drop(): Promise<void>;
}

export async function createPostgresDatabase(): Promise<PostgresDatabase> {
  const adminUrl = inject('postgresUrl');
  if (!adminUrl) {
    throw new Error('no postgresUrl provided: test/support/postgres.ts must be a globalSetup of this Vitest project');
  }
  // Random, so parallel test files never collide; lowercase hex needs no quoting rules beyond "".
  const name = `keyward_test_${randomBytes(8).toString('hex')}`;
  await onAdmin(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      // FORCE (PostgreSQL 13+) terminates the remaining sessions first, so a pool a test forgot to
      // close cannot make the drop fail.
      await onAdmin(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

export interface SqliteFile {
  /** Path of the (not yet existing) database file. */
  path: string;
  /** Its own temp dir, which also holds SQLite's -wal/-shm/-journal side files. */
  dir: string;
  /** Removes the dir and everything in it. */
  cleanup(): void;
}

export function createSqliteFile(): SqliteFile {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-sqlite-'));
  return {
    path: join(dir, 'keyward.db'),
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs one statement on the maintenance database (CREATE/DROP DATABASE cannot run in the target). */
async function onAdmin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
