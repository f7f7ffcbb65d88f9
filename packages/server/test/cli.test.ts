// The `keyward` command in local mode, run for real: in process through `main` with injected
// streams, standard input, environment and working directory (on SQLite and on PostgreSQL), and
// as a child process through the built bin (`npm test` builds dist/ first; run
// `npx tsc -b packages/server` before running this file alone).
// Every command finds the store through the server's configuration (loadConfig), and only
// `serve` and `migrate --create` make one: the others refuse a store that is not there.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { formatKeywardString, identify } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { loadConfig, storeConfigOf } from '../src/config/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { createPostgresDatabase, ENGINES, type Engine } from './support/databases.js';
import { rowCounts } from './support/stores.js';

const PASSWORD = 'correct horse battery staple';
const DAY = 24 * 60 * 60 * 1000;
const root = new URL('../../../', import.meta.url).pathname;
const bin = join(root, 'packages/server/bin/keyward.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A fresh store location: a temp data directory, plus a fresh PostgreSQL database for that
 * engine. The store is made there first, as the server's first start makes it (commands other
 * than `serve` refuse a store that is not there), unless `create` is false.
 */
async function freshEnv(
  engine: Engine,
  { create = true }: { create?: boolean } = {},
): Promise<{ env: NodeJS.ProcessEnv; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-'));
  const pg = engine === 'postgres' ? await createPostgresDatabase() : undefined;
  const env: NodeJS.ProcessEnv = { KEYWARD_DATA_DIR: join(dir, 'data') };
  if (pg !== undefined) env.KEYWARD_DATABASE_URL = pg.url;
  if (create) await (await openStore({ dataDir: env.KEYWARD_DATA_DIR, databaseUrl: pg?.url, usageFlushMs: 0 })).close();
  return {
    env,
    async cleanup() {
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `keyward …args` in process (in the directory `cwd`, by default this process's). */
async function run(env: NodeJS.ProcessEnv, args: string[], stdin = '', cwd?: string): Promise<Run> {
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
    cwd,
    readStdin: async () => Buffer.from(stdin, 'utf8'),
  });
  return { code, stdout, stderr };
}

/** Runs `keyward …args` as a child process through the built bin (in `cwd`, by default the repository). */
function runBin(env: NodeJS.ProcessEnv, args: string[], input = '', cwd = root): Run {
  const child = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    input,
    encoding: 'utf8',
    // The store must be closed for the process to exit on its own; a leak shows as a timeout.
    timeout: 15_000,
  });
  return { code: child.status ?? -1, stdout: child.stdout, stderr: child.stderr };
}

/** Parses stdout of a successful run as exactly one JSON document. */
function json<T = Record<string, unknown>>(r: Run): T {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** Opens the same store the command uses, for checks the command cannot make. */
async function withTestStore<T>(env: NodeJS.ProcessEnv, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir: env.KEYWARD_DATA_DIR, databaseUrl: env.KEYWARD_DATABASE_URL });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Row counts, to prove a failed command wrote nothing. */
function counts(env: NodeJS.ProcessEnv): Promise<Record<string, number>> {
  return withTestStore(env, rowCounts);
}

/** Checks a printed secret against the store: it is the key's real secret. */
function verify(env: NodeJS.ProcessEnv, secret: string, keyId: string) {
  const id = identify(keyId);
  const sk = identify(secret);
  if (id?.id === undefined || sk?.secret === undefined) throw new Error('not a key id and secret');
  return withTestStore(env, (store) => store.keys.verifySecret(id.id as string, sk.secret as string));
}

function expectFailure(r: Run, code: string, exitCode = 1): void {
  expect(r.code).toBe(exitCode);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(new RegExp(`^error: ${code}: .+\\n$`));
}

describe.each(ENGINES)('keyward (in process, %s)', (engine) => {
  let env: NodeJS.ProcessEnv;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ env, cleanup } = await freshEnv(engine));
  });
  afterEach(async () => {
    await cleanup();
  });

  const createAccount = async (email: string, ...more: string[]) => {
    const r = await run(
      env,
      ['accounts', 'create', '--email', email, '--password-stdin', '--json', ...more],
      `${PASSWORD}\n`,
    );
    expect(r.code).toBe(0);
    return json<{ id: string; email: string; role: string; status: string; displayName: string | null }>(r);
  };

  const createKey = async (...more: string[]) => {
    const r = await run(env, ['keys', 'create', '--account', 'ada@example.com', '--name', 'ci', '--json', ...more]);
    expect(r.code, r.stderr).toBe(0);
    return json<{ id: string; secret: string; token: string; expiresAt: number | null }>(r);
  };

  it('migrate --create makes a new store and reports what ran, then that the schema is up to date', async () => {
    const fresh = await freshEnv(engine, { create: false });
    try {
      // Without --create, migrate is like every command but serve: it makes no store.
      expectFailure(await run(fresh.env, ['migrate']), 'store_unavailable');
      const first = await run(fresh.env, ['migrate', '--create']);
      expect(first).toMatchObject({ code: 0, stderr: '' });
      expect(first.stdout).toContain('0001_initial');
      expect((await run(fresh.env, ['migrate'])).stdout).toContain('up to date');
      expect(json(await run(fresh.env, ['migrate', '--json']))).toEqual({ engine, applied: [] });
      expect(json(await run(fresh.env, ['migrate', '--create', '--json']))).toEqual({ engine, applied: [] });
    } finally {
      await fresh.cleanup();
    }
  });

  it('creates accounts and lists, shows, disables and enables them', async () => {
    const admin = await createAccount('Ada@Example.com', '--admin', '--name', 'Ada');
    expect(admin).toMatchObject({ email: 'ada@example.com', role: 'admin', status: 'active', displayName: 'Ada' });
    expect(admin.id).toMatch(/^acc_/);
    const member = await createAccount('bob@example.com');
    expect(member).toMatchObject({ email: 'bob@example.com', role: 'member' });

    const list = json<{ id: string }[]>(await run(env, ['accounts', 'list', '--json']));
    expect(list.map((a) => a.id)).toEqual([admin.id, member.id]);
    const table = await run(env, ['accounts', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID +EMAIL +ROLE +STATUS +CREATED\n/);
    expect(table.stdout).toContain('ada@example.com');
    expect(table.stdout).toContain('bob@example.com');
    const searched = json<{ email: string }[]>(await run(env, ['accounts', 'list', '--search', 'BOB', '--json']));
    expect(searched.map((a) => a.email)).toEqual(['bob@example.com']);

    expect(json(await run(env, ['accounts', 'show', 'ADA@example.com', '--json']))).toMatchObject({ id: admin.id });
    const shown = await run(env, ['accounts', 'show', member.id]);
    expect(shown.stdout).toMatch(/^id: +acc_/);
    expect(shown.stdout).toMatch(/^role: +member$/m);

    const disabled = json(await run(env, ['accounts', 'disable', 'bob@example.com', '--json']));
    expect(disabled).toMatchObject({ id: member.id, status: 'disabled' });
    expect(json(await run(env, ['accounts', 'show', member.id, '--json']))).toMatchObject({ status: 'disabled' });
    const enabled = await run(env, ['accounts', 'enable', member.id]);
    expect(enabled.stdout).toMatch(/^status: +active$/m);

    // Every change is audited as the operating-system user who ran the command.
    const events = await withTestStore(env, (store) => store.audit.list());
    expect(events.map((e) => e.action).sort()).toEqual([
      'account.create',
      'account.create',
      'account.disable',
      'account.enable',
    ]);
    for (const e of events) expect(e.actor).toEqual({ type: 'cli', id: userInfo().username });

    const missing = await run(env, ['accounts', 'show', 'nobody@example.com']);
    expectFailure(missing, 'account_not_found');
    expectFailure(await run(env, ['accounts', 'disable', 'nobody@example.com']), 'account_not_found');
  });

  it('refuses a duplicate email and a weak password with exit 1, writing nothing', async () => {
    await createAccount('ada@example.com');
    const before = await counts(env);

    const duplicate = await run(
      env,
      ['accounts', 'create', '--email', 'ADA@example.com', '--password-stdin'],
      `${PASSWORD}\n`,
    );
    expectFailure(duplicate, 'email_taken');
    const weak = await run(
      env,
      ['accounts', 'create', '--email', 'bob@example.com', '--password-stdin'],
      'password1\n',
    );
    expectFailure(weak, 'password_rejected');
    const short = await run(env, ['accounts', 'create', '--email', 'bob@example.com', '--password-stdin'], 'short\n');
    expectFailure(short, 'password_rejected');
    // The password is never echoed, in an error or anywhere else.
    expect(weak.stderr).not.toContain('password1');
    expect(short.stderr).not.toContain('short\n');

    const asJson = await run(
      env,
      ['accounts', 'create', '--email', 'ada@example.com', '--password-stdin', '--json'],
      `${PASSWORD}\n`,
    );
    expect(asJson.code).toBe(1);
    expect(asJson.stdout).toBe('');
    expect(JSON.parse(asJson.stderr)).toEqual({
      error: { code: 'email_taken', message: expect.any(String) },
    });

    expect(await counts(env)).toEqual(before);
    expect(json<unknown[]>(await run(env, ['accounts', 'list', '--json']))).toHaveLength(1);
  });

  it('takes the password from stdin exactly as typed, minus one line ending', async () => {
    const typed = '  spaced out pass  ';
    const r = await run(env, ['accounts', 'create', '--email', 'ada@example.com', '--password-stdin'], `${typed}\r\n`);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(typed);
    const twoNewlines = await run(
      env,
      ['accounts', 'create', '--email', 'bob@example.com', '--password-stdin'],
      `${PASSWORD}\n\n`,
    );
    expect(twoNewlines.code).toBe(0);
    await withTestStore(env, async (store) => {
      expect((await store.accounts.authenticate('ada@example.com', typed)).ok).toBe(true);
      expect((await store.accounts.authenticate('ada@example.com', typed.trim())).ok).toBe(false);
      expect((await store.accounts.authenticate('bob@example.com', `${PASSWORD}\n`)).ok).toBe(true);
      expect((await store.accounts.authenticate('bob@example.com', PASSWORD)).ok).toBe(false);
    });
  });

  it('creates a key with scopes, expiry, methods and metadata, and prints its secret only then', async () => {
    await createAccount('ada@example.com');
    const before = Date.now();
    const issued = await createKey(
      '--scopes',
      'read,write',
      '--expires',
      '30d',
      '--methods',
      'basic,oauth1',
      '--metadata',
      '{"team":"infra"}',
    );
    expect(issued.id).toMatch(/^kw_kid_/);
    expect(issued.secret).toMatch(/^kw_sk_/);
    expect(issued.token).toMatch(/^kw_key_/);
    expect(issued).toMatchObject({
      name: 'ci',
      scopes: ['read', 'write'],
      methods: ['basic', 'oauth1'],
      metadata: { team: 'infra' },
      status: 'active',
    });
    expect(issued.expiresAt).toBeGreaterThanOrEqual(before + 30 * DAY);
    expect(issued.expiresAt).toBeLessThanOrEqual(Date.now() + 30 * DAY);
    expect((await verify(env, issued.secret, issued.id)).ok).toBe(true);

    // The raw secret part as well as the full strings: none may appear anywhere after creation.
    const rawSecret = identify(issued.secret)?.secret as string;
    for (const args of [
      ['keys', 'show', issued.id],
      ['keys', 'show', issued.id, '--json'],
      ['keys', 'list'],
      ['keys', 'list', '--json'],
      ['keys', 'list', '--account', 'ada@example.com', '--json'],
    ]) {
      const r = await run(env, args);
      expect(r.code).toBe(0);
      for (const s of [issued.secret, issued.token, rawSecret]) {
        expect(r.stdout).not.toContain(s);
        expect(r.stderr).not.toContain(s);
      }
    }
    const shown = json(await run(env, ['keys', 'show', issued.id, '--json']));
    expect(shown).toMatchObject({ id: issued.id, scopes: ['read', 'write'] });
    expect(shown).not.toHaveProperty('secret');
    expect(shown).not.toHaveProperty('token');
    const human = await run(env, ['keys', 'show', issued.id]);
    expect(human.stdout).toMatch(/^scopes: +read, write$/m);
    expect(human.stdout).toMatch(/^methods: +basic, oauth1$/m);

    // Human create output shows the secret once, with a reminder on stderr.
    const again = await run(env, ['keys', 'create', '--account', 'ada@example.com', '--name', 'second']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^secret: +kw_sk_\S+$/m);
    expect(again.stdout).toMatch(/^token: +kw_key_\S+$/m);
    expect(again.stderr).toContain('only this once');
    expect(json<unknown[]>(await run(env, ['keys', 'list', '--json']))).toHaveLength(2);
  });

  it('accepts an ISO 8601 expiry and refuses one in the past or malformed, writing nothing', async () => {
    await createAccount('ada@example.com');
    const dated = await createKey('--expires', '2099-01-31T12:00:00Z');
    expect(dated.expiresAt).toBe(Date.UTC(2099, 0, 31, 12));
    const before = await counts(env);
    for (const when of ['2001-01-01', '2001-01-01T00:00:00Z', '0s']) {
      expectFailure(
        await run(env, ['keys', 'create', '--account', 'ada@example.com', '--name', 'x', '--expires', when]),
        'expiry_invalid',
      );
    }
    for (const when of ['tomorrow', '2099-02-30', '30 days', '-5d']) {
      expectFailure(
        await run(env, ['keys', 'create', '--account', 'ada@example.com', '--name', 'x', '--expires', when]),
        'expiry_invalid',
      );
    }
    expect(await counts(env)).toEqual(before);
  });

  it('refuses a bad scope, method, metadata or owner, writing nothing', async () => {
    await createAccount('ada@example.com');
    const before = await counts(env);
    const create = (...more: string[]) => run(env, ['keys', 'create', '--name', 'x', ...more]);
    expectFailure(await create('--account', 'ada@example.com', '--scopes', 'read,bad scope'), 'scope_invalid');
    expectFailure(await create('--account', 'ada@example.com', '--scopes', 'a"b'), 'scope_invalid');
    expectFailure(await create('--account', 'ada@example.com', '--methods', 'basic,telepathy'), 'invalid_input');
    expectFailure(await create('--account', 'ada@example.com', '--metadata', '{nope'), 'invalid_input');
    expectFailure(await create('--account', 'ada@example.com', '--metadata', '[1,2]'), 'invalid_input');
    expectFailure(await create('--account', 'nobody@example.com'), 'account_not_found');
    const asJson = await create('--account', 'ada@example.com', '--scopes', 'bad scope', '--json');
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stderr)).toMatchObject({ error: { code: 'scope_invalid' } });
    expect(await counts(env)).toEqual(before);
    expect(await run(env, ['keys', 'list', '--json'])).toMatchObject({ code: 0, stdout: '[]\n' });

    await run(env, ['accounts', 'disable', 'ada@example.com']);
    expectFailure(await create('--account', 'ada@example.com'), 'invalid_state');
  });

  it('rotates a key: a new secret once, the old one kept for the grace period', async () => {
    await createAccount('ada@example.com');
    const issued = await createKey();
    const rotated = json<{ id: string; secret: string; token: string }>(
      await run(env, ['keys', 'rotate', issued.id, '--grace', '1h', '--json']),
    );
    expect(rotated.id).toBe(issued.id);
    expect(rotated.secret).toMatch(/^kw_sk_/);
    expect(rotated.secret).not.toBe(issued.secret);
    expect(rotated.token).not.toBe(issued.token);
    expect((await verify(env, rotated.secret, issued.id)).ok).toBe(true);
    expect((await verify(env, issued.secret, issued.id)).ok).toBe(true);

    const human = await run(env, ['keys', 'rotate', issued.id, '--grace', '0']);
    expect(human.code).toBe(0);
    const newest = /^secret: +(kw_sk_\S+)$/m.exec(human.stdout)?.[1] as string;
    expect(newest).toMatch(/^kw_sk_/);
    expect(human.stderr).toContain('stopped working');
    expect((await verify(env, newest, issued.id)).ok).toBe(true);
    expect((await verify(env, rotated.secret, issued.id)).ok).toBe(false);
    const shown = await run(env, ['keys', 'show', issued.id, '--json']);
    expect(shown.stdout).not.toContain(newest);

    expectFailure(await run(env, ['keys', 'rotate', issued.id, '--grace', 'forever']), 'invalid_input');
    expectFailure(await run(env, ['keys', 'rotate', issued.id, '--grace', '31d']), 'invalid_input');
  });

  it('disables, enables and revokes keys', async () => {
    await createAccount('ada@example.com');
    const issued = await createKey();
    expect(json(await run(env, ['keys', 'disable', issued.id, '--json']))).toMatchObject({ status: 'disabled' });
    expect(await verify(env, issued.secret, issued.id)).toMatchObject({ ok: false, code: 'key_disabled' });
    const enabled = await run(env, ['keys', 'enable', issued.id]);
    expect(enabled.stdout).toMatch(/^status: +active$/m);

    const revoked = json(await run(env, ['keys', 'revoke', issued.id, '--json']));
    expect(revoked).toMatchObject({ id: issued.id, status: 'revoked', revokedAt: expect.any(Number) });
    expect(await verify(env, issued.secret, issued.id)).toMatchObject({ ok: false, code: 'key_revoked' });
    expect(json<unknown[]>(await run(env, ['keys', 'list', '--json']))).toHaveLength(0);
    expect(json<unknown[]>(await run(env, ['keys', 'list', '--include-revoked', '--json']))).toHaveLength(1);
    expect((await run(env, ['keys', 'list'])).stdout).toBe('no keys\n');
    expectFailure(await run(env, ['keys', 'enable', issued.id]), 'invalid_state');
    expectFailure(await run(env, ['keys', 'rotate', issued.id]), 'invalid_state');

    const events = await withTestStore(env, (store) => store.audit.list({ objectId: issued.id }));
    expect(events.map((e) => e.action).reverse()).toEqual(['key.create', 'key.disable', 'key.enable', 'key.revoke']);
  });

  it('answers key_not_found for an unknown or malformed key id', async () => {
    await run(env, ['migrate']);
    const unknown = formatKeywardString('key_id', { id: 'A'.repeat(22) });
    for (const sub of ['show', 'revoke', 'rotate', 'disable', 'enable']) {
      expectFailure(await run(env, ['keys', sub, 'no-such-key']), 'key_not_found');
      expectFailure(await run(env, ['keys', sub, 'A'.repeat(22)]), 'key_not_found');
    }
    const r = await run(env, ['keys', 'show', unknown, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'key_not_found', message: 'No key has this id.' } });
    expectFailure(await run(env, ['keys', 'list', '--account', 'nobody@example.com']), 'account_not_found');
  });
});

describe('keyward usage and store errors (in process)', () => {
  let env: NodeJS.ProcessEnv;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ env, cleanup } = await freshEnv('sqlite'));
  });
  afterEach(async () => {
    await cleanup();
  });

  it('exits 2 on usage errors, with a JSON error under --json', async () => {
    for (const args of [
      ['accounts', 'create', '--email', 'ada@example.com'], // no --password-stdin
      ['accounts', 'create', '--password-stdin'], // no --email
      ['keys', 'create', '--account', 'ada@example.com'], // no --name
      ['keys', 'show'], // no id
      ['keys', 'show', 'a', 'b'],
      ['keys', 'list', '--bogus'],
      ['keys', 'frobnicate'],
      ['keys'],
      ['nonsense'],
    ]) {
      const r = await run(env, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/error|Usage/);
    }
    const r = await run(env, ['keys', 'list', '--bogus', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'usage', message: "unknown option '--bogus'" } });
    // A usage error happens before the store is touched.
    expect(await run(env, ['migrate', '--json'])).toMatchObject({ code: 0 });
    expect(json(await run(env, ['migrate', '--json']))).toMatchObject({ applied: [] });
  });

  it('prints help with exit 0', async () => {
    const r = await run(env, ['keys', 'create', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--expires <when>');
    expect(r.stdout).toContain('--json');
    expect((await run(env, [])).stdout).toContain('Usage: keyward');
  });

  it('reports a store whose keys do not match as store_unavailable', async () => {
    expect((await run(env, ['migrate'])).code).toBe(0);
    const wrongKey = randomBytes(32).toString('base64url');
    const r = await run({ ...env, KEYWARD_MASTER_KEY: wrongKey }, ['accounts', 'list']);
    expectFailure(r, 'store_unavailable');
    expect(r.stderr).toContain('KEYWARD_MASTER_KEY');
    expect(r.stderr).not.toContain(wrongKey);
    const bad = await run({ ...env, KEYWARD_DATABASE_URL: 'mysql://x' }, ['migrate', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: 'store_unavailable' } });
  });

  it('refuses a password that is not UTF-8', async () => {
    let stderr = '';
    const code = await main(['node', 'keyward', 'accounts', 'create', '--email', 'a@example.com', '--password-stdin'], {
      out: () => {},
      err: (t) => {
        stderr += t;
      },
      env,
      readStdin: async () => Uint8Array.from([0x70, 0x61, 0x73, 0x73, 0xff, 0x77, 0x6f, 0x72, 0x64, 0x0a]),
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: invalid_input: /);
  });
});

describe('keyward finds the store through the server configuration', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-cli-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** A server directory: a keyward.config.json that moves the data directory, and the store serve makes there. */
  async function serverDir(settings: Record<string, unknown> = {}) {
    const server = join(dir, 'server');
    mkdirSync(server);
    writeFileSync(
      join(server, 'keyward.config.json'),
      JSON.stringify({ dataDir: 'state/db', port: 4123, registration: false, ...settings }),
    );
    // The store as `keyward serve` opens it there on its first start: the same loader, creating.
    const config = loadConfig({ env: {}, cwd: server });
    expect(config.dataDir).toBe(join(server, 'state/db'));
    await (await openStore(storeConfigOf(config, { create: true }))).close();
    return { server, config };
  }

  /** Opens the store the way `keyward serve` in `cwd` does, for checks the command cannot make. */
  async function withServerStore<T>(cwd: string, fn: (store: Store) => Promise<T>): Promise<T> {
    const store = await openStore(storeConfigOf(loadConfig({ env: {}, cwd }), { create: false }));
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  it('writes keys to the database the server uses when keyward.config.json moves the data directory', async () => {
    const { server } = await serverDir();
    const account = await run(
      {},
      ['accounts', 'create', '--email', 'ada@example.com', '--password-stdin'],
      `${PASSWORD}\n`,
      server,
    );
    expect(account.code, account.stderr).toBe(0);
    const key = json<{ id: string; secret: string }>(
      await run({}, ['keys', 'create', '--account', 'ada@example.com', '--name', 'ci', '--json'], '', server),
    );
    const id = identify(key.id)?.id as string;
    const secret = identify(key.secret)?.secret as string;
    expect((await withServerStore(server, (store) => store.keys.verifySecret(id, secret))).ok).toBe(true);
    // Nothing went to the default place beside the file.
    expect(existsSync(join(server, '.keyward'))).toBe(false);

    // From another directory, the server's configuration named by --config or KEYWARD_CONFIG.
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const file = join(server, 'keyward.config.json');
    for (const [env, args] of [
      [{}, ['--config', file, 'keys', 'list', '--json']],
      [{}, ['keys', 'list', '--json', '--config', '../server/keyward.config.json']],
      [{ KEYWARD_CONFIG: file }, ['keys', 'list', '--json']],
    ] as const) {
      const listed = json<{ id: string }[]>(await run({ ...env }, [...args], '', elsewhere));
      expect(listed.map((k) => k.id)).toEqual([key.id]);
    }
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('refuses, creating nothing, where there is no configuration and no store', async () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    for (const [args, stdin] of [
      [['keys', 'list'], ''],
      [['accounts', 'list'], ''],
      [['accounts', 'create', '--email', 'ada@example.com', '--password-stdin'], `${PASSWORD}\n`],
      [['keys', 'create', '--account', 'ada@example.com', '--name', 'x'], ''],
      [['admin', 'create'], ''],
      [['migrate'], ''],
    ] as const) {
      const r = await run({}, [...args], stdin, elsewhere);
      expectFailure(r, 'store_unavailable');
      expect(r.stderr).toContain(`no Keyward store at ${join(elsewhere, '.keyward')}: the directory does not exist.`);
      expect(r.stderr).toContain(`no configuration file (${join(elsewhere, 'keyward.config.json')} does not exist)`);
      for (const hint of ["server's directory", '--config', 'KEYWARD_CONFIG', 'KEYWARD_DATA_DIR']) {
        expect(r.stderr).toContain(hint);
      }
      expect(existsSync(join(elsewhere, '.keyward')), args.join(' ')).toBe(false);
    }
    expect(readdirSync(elsewhere)).toEqual([]);

    // A data directory named by the environment, or by a file, that is not there: named in the message.
    const missing = join(dir, 'nowhere');
    const r = await run({ KEYWARD_DATA_DIR: missing }, ['accounts', 'list', '--json'], '', elsewhere);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'store_unavailable' } });
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toContain('because KEYWARD_DATA_DIR names it');
    writeFileSync(join(elsewhere, 'keyward.config.json'), JSON.stringify({ dataDir: '../nowhere' }));
    const fromFile = await run({}, ['keys', 'list'], '', elsewhere);
    expectFailure(fromFile, 'store_unavailable');
    expect(fromFile.stderr).toContain(`no Keyward store at ${missing}`);
    expect(fromFile.stderr).toContain(`following the configuration file ${join(elsewhere, 'keyward.config.json')}`);
    expect(existsSync(missing)).toBe(false);

    // A data directory that is there without its database or keys is not a store either.
    mkdirSync(missing);
    const empty = await run({}, ['accounts', 'list'], '', elsewhere);
    expectFailure(empty, 'store_unavailable');
    for (const file of ['keyward.db', 'master.key', 'pepper.key']) expect(empty.stderr).toContain(join(missing, file));
    expect(readdirSync(missing)).toEqual([]);
  });

  it('refuses a PostgreSQL store whose key files are not there, before migrating it', async () => {
    const pg = await createPostgresDatabase();
    try {
      const env = { KEYWARD_DATABASE_URL: pg.url, KEYWARD_DATA_DIR: join(dir, 'keys') };
      const r = await run(env, ['accounts', 'list']);
      expectFailure(r, 'store_unavailable');
      expect(r.stderr).toContain(join(dir, 'keys', 'master.key'));
      expect(r.stderr).toContain('KEYWARD_MASTER_KEY and KEYWARD_PEPPER');
      expect(existsSync(join(dir, 'keys'))).toBe(false);
      // Nothing was migrated: the first migrate --create still applies the schema.
      expect((await run(env, ['migrate', '--create'])).stdout).toContain('0001_initial');
    } finally {
      await pg.drop();
    }
  });

  it('names the environment variable or the file and field of a bad setting', async () => {
    const { server } = await serverDir();
    const port = await run({ PORT: 'abc' }, ['keys', 'list'], '', server);
    expectFailure(port, 'invalid_input');
    expect(port.stderr).toBe('error: invalid_input: PORT: must be a whole number\n');
    // serve reads the same loader, and stops before it opens anything.
    expect((await run({ PORT: 'abc' }, ['serve'], '', dir)).stderr).toBe(port.stderr);
    expect(existsSync(join(dir, '.keyward'))).toBe(false);

    writeFileSync(join(server, 'keyward.config.json'), JSON.stringify({ dataDir: 'state/db', port: 'http' }));
    const file = await run({}, ['accounts', 'list'], '', server);
    expectFailure(file, 'invalid_input');
    expect(file.stderr).toMatch(/^error: invalid_input: keyward\.config\.json: port: /);
    const named = await run(
      {},
      ['--config', join(server, 'keyward.config.json'), 'accounts', 'list', '--json'],
      '',
      dir,
    );
    expect(JSON.parse(named.stderr)).toEqual({
      error: {
        code: 'invalid_input',
        message: expect.stringMatching(new RegExp(`^${join(server, 'keyward.config.json')}: port: `)),
      },
    });
    const absent = await run({}, ['--config', 'absent.json', 'keys', 'list'], '', dir);
    expectFailure(absent, 'invalid_input');
    expect(absent.stderr).toContain(`--config: cannot read ${join(dir, 'absent.json')}`);
  });
});

describe('keyward bin (child process)', () => {
  let env: NodeJS.ProcessEnv;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ env, cleanup } = await freshEnv('sqlite', { create: false }));
  });
  afterEach(async () => {
    await cleanup();
  });

  it('runs the account and key lifecycle and exits on its own', () => {
    const migrated = runBin(env, ['migrate', '--create']);
    expect(migrated).toMatchObject({ code: 0, stderr: '' });
    expect(migrated.stdout).toContain('0001_initial');

    const created = runBin(
      env,
      ['accounts', 'create', '--email', 'ada@example.com', '--password-stdin', '--admin', '--json'],
      `${PASSWORD}\n`,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      email: 'ada@example.com',
      role: 'admin',
      id: expect.any(String),
    });
    expect(created.stdout).not.toContain(PASSWORD);

    const duplicate = runBin(
      env,
      ['accounts', 'create', '--email', 'ada@example.com', '--password-stdin'],
      `${PASSWORD}\n`,
    );
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/^error: email_taken: /);

    const key = runBin(env, [
      'keys',
      'create',
      '--account',
      'ada@example.com',
      '--name',
      'ci',
      '--scopes',
      'read',
      '--expires',
      '12h',
      '--json',
    ]);
    expect(key.code, key.stderr).toBe(0);
    const issued = JSON.parse(key.stdout) as { id: string; secret: string; token: string };
    expect(issued.secret).toMatch(/^kw_sk_/);

    const listed = runBin(env, ['keys', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(issued.id);
    expect(listed.stdout).not.toContain(issued.secret);
    const shown = runBin(env, ['keys', 'show', issued.id, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: issued.id, scopes: ['read'] });
    expect(shown.stdout).not.toContain(issued.secret);

    const rotated = runBin(env, ['keys', 'rotate', issued.id, '--json']);
    expect(rotated.code).toBe(0);
    expect((JSON.parse(rotated.stdout) as { secret: string }).secret).not.toBe(issued.secret);
    expect(runBin(env, ['keys', 'revoke', issued.id]).code).toBe(0);
    // Eight processes in a row, each importing the CLI: on a loaded 2-core machine that alone
    // can pass the default 20 s.
  }, 90_000);

  it('closes its PostgreSQL pool, so the process exits on its own there too', async () => {
    const pg = await freshEnv('postgres', { create: false });
    try {
      expect(runBin(pg.env, ['migrate', '--create'])).toMatchObject({ code: 0, stderr: '' });
      const listed = runBin(pg.env, ['accounts', 'list', '--json']);
      expect(listed).toMatchObject({ code: 0, stdout: '[]\n' });
      expect(runBin(pg.env, ['keys', 'show', 'nope']).code).toBe(1);
    } finally {
      await pg.cleanup();
    }
  }, 90_000);

  it('looks in its working directory, and refuses there without creating anything', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'keyward-cli-elsewhere-'));
    try {
      const r = runBin({}, ['accounts', 'list'], '', elsewhere);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: store_unavailable: no Keyward store at /);
      expect(r.stderr).toContain(join(elsewhere, '.keyward'));
      expect(readdirSync(elsewhere)).toEqual([]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('exits 1 on an unknown key and 2 on a usage error', () => {
    expect(runBin(env, ['migrate', '--create']).code).toBe(0);
    const unknown = runBin(env, ['keys', 'show', formatKeywardString('key_id', { id: 'A'.repeat(22) })]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: key_not_found: /);
    const usage = runBin(env, ['keys', 'create', '--name', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--account <id-or-email>' not specified");
  });
});
