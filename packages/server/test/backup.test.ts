// `keyward backup` and `keyward restore`, run for real (in process through `main`) against a
// SQLite store that a running server is using and writing: keys of several methods are made,
// backed up while more are being written, the data directory is wiped, the backup restored
// (refused first without the keys, with the wrong keys, and over a live database without
// --force), and every key then verifies again through a new server: HTTP Basic, an API key
// token and an OAuth 1.0a signed request.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, KeywardError } from '@keyward/client';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { loadConfig } from '../src/config/index.js';
import { createServer, type KeywardServer } from '../src/http/app.js';
import { type IssuedKey, openStore, type Store } from '../src/store/index.js';
import { freePort } from './support/ports.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function keyward(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'keyward', ...args], {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
    env,
    readStdin: async () => new Uint8Array(),
  });
  return { code, stdout, stderr };
}

interface Running {
  url: string;
  store: Store;
  server: KeywardServer;
  close(): Promise<void>;
}

/** A Keyward server on a free loopback port over the store in `dataDir` (made if absent). */
async function serve(dataDir: string): Promise<Running> {
  const port = await freePort();
  const store = await openStore({ dataDir, usageFlushMs: 0 });
  const config = loadConfig({
    env: {},
    cwd: dataDir,
    overrides: { dataDir, port, host: '127.0.0.1', logLevel: 'silent' },
  });
  const server = await createServer(config, { store });
  await server.app.listen({ port, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    server,
    async close() {
      await server.close();
      await store.close();
    },
  };
}

const actor = { type: 'system' } as const;

/** Calls /v1/whoami with each key by the one method it allows; the methods it was verified with. */
async function verifyAll(url: string, keys: { basic: IssuedKey; apiKey: IssuedKey; oauth1: IssuedKey }) {
  const basic = createClient({
    baseUrl: url,
    auth: { type: 'basic', keyId: keys.basic.id, secret: keys.basic.secret },
  });
  const apiKey = createClient({ baseUrl: url, auth: { type: 'api-key', token: keys.apiKey.token } });
  const oauth1 = createClient({
    baseUrl: url,
    auth: { type: 'oauth1', consumerKey: keys.oauth1.id, consumerSecret: keys.oauth1.secret },
  });
  const seen: string[] = [];
  for (const client of [basic, apiKey, oauth1]) {
    const body = (await client.get('/v1/whoami')) as { principal: { method: string; keyId: string } };
    seen.push(`${body.principal.method} ${body.principal.keyId}`);
  }
  // A signed POST with a form body: its parameters are in the signature too.
  const form = (await oauth1.post('/v1/whoami', new URLSearchParams({ item: 'widget' }))) as { body: string };
  seen.push(`form ${form.body}`);
  return seen;
}

describe('keyward backup and restore (SQLite)', () => {
  // Made in beforeAll, so that a run that filters these tests out leaves nothing behind.
  let work = '';
  let dataDir = '';
  let env: NodeJS.ProcessEnv = {};
  let backupFile = '';
  let keysFile = '';
  let keys: { basic: IssuedKey; apiKey: IssuedKey; oauth1: IssuedKey };
  let expected: string[];
  let running: Running | undefined;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'keyward-backup-'));
    dataDir = join(work, 'data');
    env = { KEYWARD_DATA_DIR: dataDir };
    backupFile = join(work, 'backups', 'keyward.db');
    keysFile = `${backupFile}.keys.json`;
    running = await serve(dataDir);
    const { store } = running;
    const account = await store.accounts.create(
      { email: 'ops@example.com', password: 'a long passphrase nobody guesses' },
      actor,
    );
    if (!account.ok) throw new Error(account.code);
    const make = async (name: string, methods: string[]) => {
      const made = await store.keys.create(account.value.id, { name, methods }, actor);
      if (!made.ok) throw new Error(made.code);
      return made.value;
    };
    keys = {
      basic: await make('basic', ['basic']),
      apiKey: await make('api-key', ['api-key']),
      oauth1: await make('oauth1', ['oauth1']),
    };
    expected = [`basic ${keys.basic.id}`, `api-key ${keys.apiKey.id}`, `oauth1 ${keys.oauth1.id}`, 'form item=widget'];
    expect(await verifyAll(running.url, keys)).toEqual(expected);
  }, 30_000);

  afterAll(async () => {
    await running?.close();
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('copies the live store while the server writes, and says the keys are not in it', async () => {
    const store = (running as Running).store;
    const account = await store.accounts.find('ops@example.com');
    if (account === undefined) throw new Error('no account');
    // Writes going on during the copy: the backup is a consistent snapshot all the same.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing && written < 200) {
        const made = await store.keys.create(account.id, { name: `busy ${written}` }, actor);
        expect(made.ok).toBe(true);
        written++;
      }
    })();
    const [plain, withKeys] = [
      await keyward(env, 'backup', join(work, 'plain.db')),
      await keyward(env, 'backup', backupFile, '--with-keys'),
    ];
    writing = false;
    await writer;
    expect(written).toBeGreaterThan(0);

    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^master key: +${join(dataDir, 'master.key')}$`, 'm'));
    expect(plain.stdout).toMatch(new RegExp(`^pepper: +${join(dataDir, 'pepper.key')}$`, 'm'));
    expect(plain.stdout).toMatch(/keys: +NOT in the backup: back up the master key and the pepper separately/);
    expect(plain.stderr).toBe('');
    expect(existsSync(`${join(work, 'plain.db')}.keys.json`)).toBe(false);

    expect(withKeys.code, withKeys.stderr).toBe(0);
    expect(withKeys.stdout).toContain(`written to ${keysFile} (mode 0600)`);
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    const keyring = JSON.parse(readFileSync(keysFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(keyring).sort()).toEqual(['kind', 'masterKey', 'pepper']);
    // The keys file holds the keys; the database copy does not.
    const backupBytes = readFileSync(backupFile);
    expect(backupBytes.includes(Buffer.from(keyring.masterKey as string))).toBe(false);
    expect(backupBytes.includes(Buffer.from(keys.basic.secret))).toBe(false);

    const copy = new BetterSqlite3(backupFile, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const count = (copy.prepare('SELECT count(*) AS n FROM api_keys').get() as { n: number }).n;
      expect(count).toBeGreaterThanOrEqual(3);
      expect(count).toBeLessThanOrEqual(3 + written);
    } finally {
      copy.close();
    }

    // Never over an existing file without --force.
    const again = await keyward(env, 'backup', backupFile);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  }, 60_000);

  it('refuses to restore over the live database without --force', async () => {
    const r = await keyward(env, 'restore', backupFile, '--keys', keysFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: invalid_state: a database is already at .*keyward\.db.*pass --force/);
  });

  it('after a wipe: refuses without the keys and with the wrong keys, then restores; every key verifies', async () => {
    await (running as Running).close();
    running = undefined;
    rmSync(dataDir, { recursive: true, force: true });

    const withoutKeys = await keyward(env, 'restore', backupFile);
    expect(withoutKeys.code).toBe(1);
    expect(withoutKeys.stderr).toMatch(/^error: store_unavailable: .*master\.key is missing.*--keys/);
    expect(existsSync(join(dataDir, 'keyward.db'))).toBe(false);

    const wrong = join(work, 'wrong.keys.json');
    writeFileSync(
      wrong,
      JSON.stringify({
        kind: 'keyward-keyring',
        masterKey: randomBytes(32).toString('base64url'),
        pepper: randomBytes(32).toString('base64url'),
      }),
      { mode: 0o600 },
    );
    const mismatched = await keyward(env, 'restore', backupFile, '--keys', wrong);
    expect(mismatched.code).toBe(1);
    // The store's own keyring check refuses it.
    expect(mismatched.stderr).toMatch(
      /^error: store_unavailable: the backup was not restored: The master key does not open/,
    );
    expect(existsSync(join(dataDir, 'keyward.db'))).toBe(false);
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);

    const restored = await keyward(env, 'restore', backupFile, '--keys', keysFile);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^restored: +.*keyward\.db into .*data\/keyward\.db$/m);
    expect(restored.stdout).toMatch(/^accounts: +1$/m);
    expect(restored.stdout).toMatch(new RegExp(`^written: +${join(dataDir, 'master.key')}$`, 'm'));
    expect(restored.stdout).toMatch(/^keyring: +the master key and pepper open the restored secrets$/m);
    expect(statSync(join(dataDir, 'keyward.db')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'pepper.key')).mode & 0o777).toBe(0o600);

    running = await serve(dataDir);
    expect(await verifyAll(running.url, keys)).toEqual(expected);
    // A wrong secret is still refused after the round trip.
    const wrongSecret = createClient({
      baseUrl: running.url,
      auth: { type: 'oauth1', consumerKey: keys.oauth1.id, consumerSecret: keys.basic.secret },
    });
    await expect(wrongSecret.get('/v1/whoami')).rejects.toBeInstanceOf(KeywardError);
  }, 60_000);

  it('replaces the database with --force once the server is stopped', async () => {
    await (running as Running).close();
    running = undefined;
    const r = await keyward(env, '--json', 'restore', backupFile, '--force');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      database: join(dataDir, 'keyward.db'),
      accounts: 1,
      keyFilesWritten: [],
    });
    running = await serve(dataDir);
    expect(await verifyAll(running.url, keys)).toEqual(expected);
  }, 60_000);
});

describe('keyward backup and restore on PostgreSQL', () => {
  it('say to use pg_dump and pg_restore, and that the keys are kept apart', async () => {
    const env = {
      KEYWARD_DATABASE_URL: 'postgres://keyward@127.0.0.1:1/keyward',
      KEYWARD_DATA_DIR: join(tmpdir(), 'unused'),
    };
    for (const command of ['backup', 'restore']) {
      const r = await keyward(env, command, 'keyward.dump');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('pg_dump --format=custom');
      expect(r.stderr).toContain('pg_restore --clean --if-exists');
      expect(r.stderr).toContain('KEYWARD_MASTER_KEY and KEYWARD_PEPPER');
    }
  });
});
