// `keyward audit` and `keyward audit failures`, run in process through `main` on both engines:
// the audit log filtered by account, key, action, time and count, and the failed
// authentications aggregated per key and hour, as tables and as JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identify } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { openStore } from '../src/store/index.js';
import { createPostgresDatabase, ENGINES } from './support/databases.js';

const actor = { type: 'system' as const };

async function run(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
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
  });
  return { code, stdout, stderr };
}

describe.each(ENGINES)('keyward audit on %s', (engine) => {
  let env: NodeJS.ProcessEnv;
  let cleanup: () => Promise<void>;
  let keyId: string;
  let accountId: string;

  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-audit-'));
    const pg = engine === 'postgres' ? await createPostgresDatabase() : undefined;
    env = { KEYWARD_DATA_DIR: join(dir, 'data'), ...(pg === undefined ? {} : { KEYWARD_DATABASE_URL: pg.url }) };
    cleanup = async () => {
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    };
    // What a running server would have left: an account, a key, a revocation, failures.
    const store = await openStore({ dataDir: env.KEYWARD_DATA_DIR, databaseUrl: pg?.url, usageFlushMs: 0 });
    try {
      const account = await store.accounts.create(
        { email: 'ada@example.com', password: 'correct horse battery' },
        actor,
      );
      if (!account.ok) throw new Error(account.code);
      accountId = account.value.id;
      const key = await store.keys.create(accountId, { name: 'k' }, { type: 'account', id: accountId });
      if (!key.ok) throw new Error(key.code);
      keyId = key.value.id;
      const other = await store.keys.create(accountId, { name: 'other' }, actor);
      if (!other.ok) throw new Error(other.code);
      await store.keys.revoke(other.value.id, actor);
      const rawKeyId = identify(keyId)?.id;
      for (let i = 0; i < 3; i++)
        store.outcomes.record({
          rawKeyId,
          method: 'basic',
          outcome: 'refused',
          code: 'key_unknown',
          address: '192.0.2.1',
        });
      store.outcomes.record({ method: 'none', outcome: 'refused', code: 'credentials_missing', address: '192.0.2.2' });
      store.outcomes.record({ rawKeyId, method: 'basic', outcome: 'accepted' });
    } finally {
      await store.close();
    }
  });
  afterEach(() => cleanup());

  it('lists audit events newest first, filtered by account, key, action, since and limit', async () => {
    const all = await run(env, ['audit', '--json']);
    expect(all.code).toBe(0);
    const events = JSON.parse(all.stdout);
    expect(events.map((e: { action: string }) => e.action)).toEqual([
      'key.revoke',
      'key.create',
      'key.create',
      'account.create',
    ]);
    const byAccount = JSON.parse((await run(env, ['audit', '--account', 'ada@example.com', '--json'])).stdout);
    expect(byAccount.map((e: { action: string; object: { id: string } }) => [e.action, e.object.id])).toEqual([
      ['key.create', keyId],
    ]);
    const byKey = JSON.parse((await run(env, ['audit', 'list', '--key', keyId, '--json'])).stdout);
    expect(byKey).toHaveLength(1);
    const revokes = JSON.parse((await run(env, ['audit', '--action', 'key.*', '--limit', '1', '--json'])).stdout);
    expect(revokes.map((e: { action: string }) => e.action)).toEqual(['key.revoke']);
    expect(JSON.parse((await run(env, ['audit', '--since', '2999-01-01', '--json'])).stdout)).toEqual([]);
    const table = await run(env, ['audit', '--since', '1h']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+OBJECT\s+IP$/);
    expect(table.stdout).toContain('account.create');
  });

  it('lists failed authentications per key and hour, and those without a key', async () => {
    const res = await run(env, ['audit', 'failures', '--json']);
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout);
    expect(
      rows.map((r: { keyId: string | null; code: string; count: number; addresses: string[] }) => [
        r.keyId,
        r.code,
        r.count,
        r.addresses,
      ]),
    ).toEqual(
      expect.arrayContaining([
        [keyId, 'key_unknown', 3, ['192.0.2.1']],
        [null, 'credentials_missing', 1, ['192.0.2.2']],
      ]),
    );
    expect(rows).toHaveLength(2);
    const one = JSON.parse((await run(env, ['audit', 'failures', '--key', keyId, '--since', '7d', '--json'])).stdout);
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ keyId, method: 'basic', code: 'key_unknown', count: 3 });
    const table = await run(env, ['audit', 'failures']);
    expect(table.stdout.split('\n')[0]).toMatch(/^HOUR\s+KEY\s+METHOD\s+CODE\s+COUNT\s+FIRST\s+LAST\s+ADDRESSES$/);
    expect(table.stdout).toContain('(none)');
    expect((await run(env, ['audit', 'failures', '--since', '2999-01-01'])).stdout).toBe('no failures\n');
  });

  it('refuses a bad --since, --limit, --action or an unknown key with invalid_input or key_not_found', async () => {
    for (const args of [
      ['audit', 'failures', '--since', 'yesterday'],
      ['audit', '--limit', '0'],
      ['audit', '--action', 'DROP TABLE'],
    ]) {
      const res = await run(env, [...args, '--json']);
      expect(res.code, args.join(' ')).toBe(1);
      expect(JSON.parse(res.stderr).error.code).toBe('invalid_input');
    }
    const unknown = await run(env, ['audit', 'failures', '--key', 'kw_kid_nope', '--json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stderr).error.code).toBe('key_not_found');
  });
});
