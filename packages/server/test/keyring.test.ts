// The data directory and keyring: generated once with tight modes, never regenerated over
// existing data, refused when they do not match the database.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyringMismatchError, openStore } from '../src/store/index.js';
import { createPostgresDatabase } from './support/databases.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-keyring-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

/** Opens a store, creates an account and a key, closes it; returns the data dir. */
async function populated(dataDir: string, env: { masterKey?: string; pepper?: string } = {}) {
  const store = await openStore({ dataDir, ...env });
  await store.accounts.create({ email: 'ada@example.com', password: 'correct horse battery' }, { type: 'system' });
  const key = await store.keys.create('ada@example.com', { name: 'k' }, { type: 'system' });
  await store.close();
  if (!key.ok) throw new Error(key.code);
  return key.value;
}

describe('data directory and keyring', () => {
  it('creates the data directory 0700 and 32-byte key files 0600 on first start, and reuses them', async () => {
    const dataDir = join(tempDir(), 'data');
    await populated(dataDir);
    expect(mode(dataDir)).toBe(0o700);
    for (const file of ['master.key', 'pepper.key']) {
      const path = join(dataDir, file);
      expect(mode(path)).toBe(0o600);
      expect(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url')).toHaveLength(32);
    }
    const before = readFileSync(join(dataDir, 'master.key'), 'utf8');
    const store = await openStore({ dataDir });
    expect((await store.accounts.list()).length).toBe(1);
    await store.close();
    expect(readFileSync(join(dataDir, 'master.key'), 'utf8')).toBe(before);
  });

  it('refuses to start with a wrong master key, and says what to do', async () => {
    const dataDir = tempDir();
    await populated(dataDir);
    const wrong = randomBytes(32).toString('base64url');
    const attempt = openStore({ dataDir, masterKey: wrong });
    await expect(attempt).rejects.toBeInstanceOf(KeyringMismatchError);
    await expect(openStore({ dataDir, masterKey: wrong })).rejects.toThrow(/KEYWARD_MASTER_KEY/);
  });

  it('never generates a new master key over existing data', async () => {
    const dataDir = tempDir();
    await populated(dataDir);
    unlinkSync(join(dataDir, 'master.key'));
    await expect(openStore({ dataDir })).rejects.toThrow(/master\.key is missing/);
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
  });

  it('refuses a wrong pepper', async () => {
    const dataDir = tempDir();
    await populated(dataDir);
    await expect(openStore({ dataDir, pepper: randomBytes(32).toString('hex') })).rejects.toThrow(/KEYWARD_PEPPER/);
  });

  it('refuses a key file other users can read', async () => {
    const dataDir = tempDir();
    await populated(dataDir);
    chmodSync(join(dataDir, 'master.key'), 0o644);
    await expect(openStore({ dataDir })).rejects.toThrow(/chmod 600/);
  });

  it('takes the keys from the environment (hex or base64url) and then writes no key files', async () => {
    const dataDir = tempDir();
    const masterKey = randomBytes(32).toString('hex');
    const pepper = randomBytes(32).toString('base64url');
    const key = await populated(dataDir, { masterKey, pepper });
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    expect(existsSync(join(dataDir, 'pepper.key'))).toBe(false);
    const store = await openStore({ dataDir, masterKey, pepper });
    expect((await store.keys.get(key.id))?.name).toBe('k');
    await store.close();
  });

  it('refuses a malformed key in the environment', async () => {
    await expect(openStore({ dataDir: tempDir(), masterKey: 'too-short' })).rejects.toThrow(/32 bytes/);
  });

  it('on PostgreSQL with keys from the environment, needs no data directory at all', async () => {
    const pg = await createPostgresDatabase();
    const dataDir = join(tempDir(), 'never-created');
    const env = { masterKey: randomBytes(32).toString('base64url'), pepper: randomBytes(32).toString('base64url') };
    try {
      const store = await openStore({ dataDir, databaseUrl: pg.url, ...env });
      expect(store.engine).toBe('postgres');
      await store.close();
      expect(existsSync(dataDir)).toBe(false);
      // A second instance with other keys is refused: the database remembers its keyring.
      await expect(
        openStore({ dataDir, databaseUrl: pg.url, ...env, masterKey: randomBytes(32).toString('base64url') }),
      ).rejects.toBeInstanceOf(KeyringMismatchError);
    } finally {
      await pg.drop();
    }
  });

  it('refuses a database URL that is not PostgreSQL', async () => {
    await expect(openStore({ dataDir: tempDir(), databaseUrl: 'mysql://localhost/db' })).rejects.toThrow(
      /postgres:\/\//,
    );
  });
});
