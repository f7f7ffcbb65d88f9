// Nonce stores: atomic, expiring, bounded. 1,000 concurrent copies of one nonce → exactly one
// accepted, in memory and in SQL on both engines.
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
      const sql = nonces as SqlNonceStore;
      await sql.consume('k', 'old', clock.t + 10);
      await sql.consume('k', 'live', clock.t + 10_000);
      clock.t += 10;
      expect(await sql.sweep()).toBe(1);
      expect(await sql.consume('k', 'live', clock.t + 10_000)).toBe(false);
      expect(store).toBeDefined();
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
});
