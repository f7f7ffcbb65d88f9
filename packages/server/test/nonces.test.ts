// Nonce stores: atomic, expiring, bounded. 1,000 concurrent copies of one nonce → exactly one
// accepted, in memory and in SQL on both engines.
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryNonceStore, type NonceStore, NonceStoreUnavailableError, SqlNonceStore } from '../src/state/nonces.js';
import type { Store } from '../src/store/index.js';
import { ENGINES } from './support/databases.js';
import { freshStore } from './support/stores.js';

type Kind = 'memory' | 'sqlite' | 'postgres';
const KINDS: Kind[] = ['memory', ...ENGINES];

describe.each(KINDS)('%s nonce store', (kind) => {
  const clock = { t: 1_800_000_000_000, now: () => clock.t };
  let nonces: NonceStore;
  let store: Store | undefined;
  let cleanup: () => Promise<void> = async () => {};

  beforeEach(async () => {
    clock.t = 1_800_000_000_000;
    if (kind === 'memory') {
      nonces = new MemoryNonceStore({ clock });
      return;
    }
    const fresh = await freshStore(kind);
    store = fresh.store;
    cleanup = fresh.cleanup;
    nonces = new SqlNonceStore(fresh.store.context.db, clock);
  });
  afterEach(async () => {
    await cleanup();
  });

  it('accepts a nonce once, per scope', async () => {
    const until = clock.t + 600_000;
    expect(await nonces.consume('key-a', 'n1', until)).toBe(true);
    expect(await nonces.consume('key-a', 'n1', until)).toBe(false);
    expect(await nonces.consume('key-b', 'n1', until)).toBe(true);
    expect(await nonces.consume('key-a', 'n2', until)).toBe(true);
  });

  it('accepts a nonce again only once its record expired', async () => {
    expect(await nonces.consume('k', 'n', clock.t + 1000)).toBe(true);
    clock.t += 999;
    expect(await nonces.consume('k', 'n', clock.t + 1000)).toBe(false);
    clock.t += 1;
    expect(await nonces.consume('k', 'n', clock.t + 1000)).toBe(true);
    expect(await nonces.consume('k', 'n', clock.t + 1000)).toBe(false);
  });

  it('1,000 concurrent copies of one nonce: exactly one is accepted', async () => {
    const until = clock.t + 600_000;
    const results = await Promise.all(Array.from({ length: 1000 }, () => nonces.consume('kw_kid_x', 'same', until)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  if (kind !== 'memory') {
    it('sweeps expired rows', async () => {
      const sqlNonces = nonces as SqlNonceStore;
      await sqlNonces.consume('k', 'old', clock.t + 10);
      await sqlNonces.consume('k', 'live', clock.t + 10_000);
      clock.t += 10;
      expect(await sqlNonces.sweep()).toBe(1);
      expect(await sqlNonces.consume('k', 'live', clock.t + 10_000)).toBe(false);
      expect(store).toBeDefined();
    });

    it('sweeps in batches until none is left, live rows untouched', async () => {
      const sqlNonces = nonces as SqlNonceStore;
      for (let i = 0; i < 7; i++) expect(await sqlNonces.consume(`k${i % 2}`, `old${i}`, clock.t + 10)).toBe(true);
      expect(await sqlNonces.consume('k0', 'live', clock.t + 10_000)).toBe(true);
      clock.t += 10;
      expect(await sqlNonces.sweep(2)).toBe(7);
      expect(await sqlNonces.sweep(2)).toBe(0);
      expect(await sqlNonces.consume('k0', 'live', clock.t + 10_000)).toBe(false);
      expect(await sqlNonces.consume('k1', 'old1', clock.t + 10_000)).toBe(true);
    });

    it('answers every consume of one batch: fresh, recorded, repeated and expired nonces together', async () => {
      const until = clock.t + 600_000;
      expect(await nonces.consume('k', 'recorded', until)).toBe(true);
      expect(await nonces.consume('k', 'expired', clock.t + 5)).toBe(true);
      clock.t += 5;
      const answers = await Promise.all([
        nonces.consume('k', 'recorded', until),
        nonces.consume('k', 'fresh', until),
        nonces.consume('k', 'fresh', until),
        nonces.consume('other', 'fresh', until),
        nonces.consume('k', 'expired', until),
        nonces.consume('k', 'expired', until),
      ]);
      expect(answers).toEqual([false, true, false, true, true, false]);
      expect(await nonces.consume('k', 'expired', until)).toBe(false);
    });

    it('two instances on one database: of concurrent copies, exactly one is accepted', async () => {
      if (store === undefined) throw new Error('no store');
      const other = new SqlNonceStore(store.context.db, clock);
      const until = clock.t + 600_000;
      for (const nonce of ['n1', 'n2', 'n3']) {
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => (i % 2 ? other : nonces).consume('kw_kid_x', nonce, until)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      }
    });

    it('fails closed: a failing database refuses every waiting consume as unavailable', async () => {
      if (store === undefined) throw new Error('no store');
      await sql`drop table nonces`.execute(store.context.db);
      const answers = await Promise.allSettled([
        nonces.consume('k', 'a', clock.t + 1000),
        nonces.consume('k', 'a', clock.t + 1000),
      ]);
      expect(answers[0]).toMatchObject({ status: 'rejected', reason: expect.any(NonceStoreUnavailableError) });
      // The repeated copy is a replay either way: refused, never accepted.
      expect(answers[1]).toEqual({ status: 'fulfilled', value: false });
    });
  }
});

describe('memory nonce store bounds', () => {
  it('sweeps expired nonces and fails closed when full of live ones', async () => {
    const clock = { t: 0, now: () => clock.t };
    const nonces = new MemoryNonceStore({ clock, maxEntries: 3 });
    for (const n of ['a', 'b', 'c']) expect(await nonces.consume('k', n, 100)).toBe(true);
    await expect(nonces.consume('k', 'd', 100)).rejects.toBeInstanceOf(NonceStoreUnavailableError);
    // A replay of a held nonce is still told apart from a full store.
    expect(await nonces.consume('k', 'a', 100)).toBe(false);
    clock.t = 100;
    expect(await nonces.consume('k', 'd', 200)).toBe(true);
    expect(nonces.size).toBe(1);
  });

  it('a nonce consumed again once expired is held until its new expiry, whatever sits ahead of it', async () => {
    const clock = { t: 0, now: () => clock.t };
    const nonces = new MemoryNonceStore({ clock });
    // 'b' lives longer than 'a' behind it: the sweep stops at 'b' and leaves a's first record.
    expect(await nonces.consume('k', 'b', 1000)).toBe(true);
    expect(await nonces.consume('k', 'a', 100)).toBe(true);
    clock.t = 150;
    expect(await nonces.consume('k', 'a', 400)).toBe(true);
    clock.t = 200;
    expect(await nonces.consume('k', 'a', 500)).toBe(false);
    // Sweeping past b and a's first record must not take a's second one with it.
    clock.t = 399;
    expect(await nonces.consume('k', 'c', 2000)).toBe(true);
    expect(await nonces.consume('k', 'a', 600)).toBe(false);
    clock.t = 1000;
    expect(await nonces.consume('k', 'a', 1300)).toBe(true);
    expect(nonces.size).toBe(2);
  });

  it('at steady state holds one window of nonces, refusing each replay inside it', async () => {
    // A window of 1,000 ms and one nonce a millisecond, for 20 windows: the store keeps about
    // one window's worth, however long it runs, and its queue is compacted along the way.
    const clock = { t: 0, now: () => clock.t };
    const nonces = new MemoryNonceStore({ clock, maxEntries: 1100 });
    for (let i = 0; i < 20_000; i++) {
      clock.t = i;
      expect(await nonces.consume('k', `n${i}`, i + 1000)).toBe(true);
      if (i % 997 === 0 && i >= 999) {
        expect(await nonces.consume('k', `n${i - 999}`, i + 1000)).toBe(false);
        expect(await nonces.consume('k', `n${i - 1000}`, i + 1000)).toBe(true);
      }
    }
    expect(nonces.size).toBeLessThanOrEqual(1001 + 20);
  });
});
