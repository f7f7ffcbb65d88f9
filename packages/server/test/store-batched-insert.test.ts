// Group commit of access tokens, on SQLite and PostgreSQL: the tokens asked for in one turn of
// the event loop are written in one statement, every caller is answered only after its row is
// committed, a row that breaks a constraint fails its own caller alone, and any other failure
// fails the batch's callers at once, without a statement more per row. On SQLite the tokens are
// committed without a sync of the disk (synchronous = NORMAL for their statement alone).
import { identify } from '@keyward/core';
import { type Kysely, type KyselyPlugin, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchedInsert } from '../src/store/batched-insert.js';
import type { UnsyncedWrite } from '../src/store/database.js';
import type { Store } from '../src/store/index.js';
import { parseKeyId } from '../src/store/keys.js';
import type { Database } from '../src/store/schema.js';
import { ENGINES } from './support/databases.js';
import { freshStore } from './support/stores.js';

const actor = { type: 'cli' } as const;

/** A plugin counting the INSERT statements sent through it. */
function countingInserts(): { plugin: KyselyPlugin; inserts: () => number } {
  let inserts = 0;
  return {
    plugin: {
      transformQuery(args) {
        if (args.node.kind === 'InsertQueryNode') inserts++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    },
    inserts: () => inserts,
  };
}

describe.each(ENGINES)('batched inserts of access tokens (%s)', (engine) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let keyId: string;
  let accountId: string;

  beforeAll(async () => {
    ({ store, cleanup } = await freshStore(engine));
    const account = await store.accounts.create(
      { email: 'batch@example.com', password: 'a long passphrase nobody guesses' },
      actor,
    );
    if (!account.ok) throw new Error(account.code);
    accountId = account.value.id;
    const key = await store.keys.create(accountId, { name: 'batch' }, actor);
    if (!key.ok) throw new Error(key.code);
    keyId = parseKeyId(key.value.id) as string;
  });
  afterAll(() => cleanup());

  const grant = () => ({ keyId, accountId, scopes: ['read'], ttlMs: 60_000 });
  // A row written directly, not through the token store.
  const row = (id: string) => ({
    id,
    key_id: keyId,
    account_id: accountId,
    token_hash: 'x',
    scopes: '[]',
    created_at: 1,
    expires_at: 2,
    revoked_at: null,
  });

  it('issues 300 tokens asked for at once, every one stored and found by its id', async () => {
    const issued = await Promise.all(Array.from({ length: 300 }, () => store.tokens.issue(grant())));
    const ids = new Set<string>();
    for (const result of issued) {
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      const raw = identify(result.value.token)?.id as string;
      ids.add(raw);
      // Answered only once committed: the row is there as soon as the promise resolved.
      expect((await store.tokens.lookup(raw))?.keyId).toBe(keyId);
    }
    expect(ids.size).toBe(300);
  });

  it('writes the rows of one turn in one statement, 500 rows at most per statement', async () => {
    const counter = countingInserts();
    const inserts = new BatchedInsert(store.context.db.withPlugin(counter.plugin), 'access_tokens');
    await Promise.all(Array.from({ length: 40 }, (_, i) => inserts.insert(row(`one-turn-${i}`))));
    expect(counter.inserts()).toBe(1);
    await Promise.all(Array.from({ length: 1_001 }, (_, i) => inserts.insert(row(`many-${i}`))));
    expect(counter.inserts()).toBe(1 + 3);
    const stored = await store.context.db
      .selectFrom('access_tokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => eb.or([eb('id', 'like', 'one-turn-%'), eb('id', 'like', 'many-%')]))
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(1_041);
  });

  it('fails every caller of a batch at once, with no retry per row, when the failure is not a constraint', async () => {
    const counter = countingInserts();
    // A table that does not exist: the statement fails as it would on a database gone away.
    const inserts = new BatchedInsert(store.context.db.withPlugin(counter.plugin), 'no_such_table' as 'access_tokens');
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => inserts.insert(row(`x${i}`))));
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    expect(counter.inserts()).toBe(1);
  });

  it('fails only the caller whose row cannot be written (its key is gone); the others are committed', async () => {
    const results = await Promise.allSettled([
      store.tokens.issue(grant()),
      store.tokens.issue({ ...grant(), keyId: 'no-such-key' }),
      store.tokens.issue(grant()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    for (const r of [results[0], results[2]]) {
      if (r?.status !== 'fulfilled' || !r.value.ok) throw new Error('expected a token');
      const raw = identify(r.value.value.token)?.id as string;
      expect(await store.tokens.lookup(raw)).toBeDefined();
    }
  });

  it('runs its statements through the write it is given (the token store: the unsynced one)', async () => {
    const unsynced = store.context.unsynced as UnsyncedWrite;
    let writes = 0;
    const counting: UnsyncedWrite = (write) => {
      writes++;
      return unsynced(write);
    };
    const inserts = new BatchedInsert(store.context.db, 'access_tokens', counting);
    await Promise.all(Array.from({ length: 10 }, (_, i) => inserts.insert(row(`unsynced-${i}`))));
    expect(writes).toBe(1);
    const stored = await store.context.db
      .selectFrom('access_tokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('id', 'like', 'unsynced-%')
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(10);
  });

  it('relaxes the sync for the unsynced write alone on SQLite, and leaves PostgreSQL as it is set', async () => {
    const unsynced = store.context.unsynced as UnsyncedWrite;
    if (engine === 'postgres') {
      const setting = async (db: Kysely<Database>) =>
        (await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(db)).rows[0]?.synchronous_commit;
      // The test server's own setting (off, for speed), unchanged inside.
      expect(await unsynced(setting)).toBe(await setting(store.context.db));
      return;
    }
    // 2 is FULL, 1 NORMAL (https://sqlite.org/pragma.html#pragma_synchronous).
    const level = async (db: Kysely<Database>) =>
      (await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]?.synchronous;
    expect(await level(store.context.db)).toBe(2);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inside = unsynced(async (db) => {
      const seen = await level(db);
      await held;
      return seen;
    });
    // A statement of anyone else waits for the connection: it never commits relaxed.
    const outside = level(store.context.db);
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    expect(await inside).toBe(1);
    expect(await outside).toBe(2);
    await expect(
      unsynced(async () => {
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    expect(await level(store.context.db)).toBe(2);
  });
});
