// The embedded (SQLite) nonce store: nonces in memory, a durable lease, and the floor a reopened
// store refuses stamps below. A "crash" here is a store dropped without closing: nothing it held
// in memory survives, as after SIGKILL (test/replay-crash.test.ts kills a real server).
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EmbeddedNonceStore, NonceStoreUnavailableError, openEmbeddedNonceStore } from '../src/state/nonces.js';
import type { Store } from '../src/store/index.js';
import { freshStore } from './support/stores.js';
import { harness, signed } from './support/verifier.js';

const WINDOW_MS = 300_000;

describe('embedded nonce store', () => {
  let store: Store;
  let clock: { t: number };
  let cleanup: () => Promise<void>;
  const now = { now: () => clock.t };
  const open = (more: { maxEntries?: number; renewMs?: number } = {}) =>
    openEmbeddedNonceStore({ db: store.context.db, clock: now, ...more });
  const rows = async () =>
    (await store.context.db.selectFrom('nonces').select(['scope', 'nonce']).orderBy('nonce').execute()).map(
      (r) => `${r.scope}/${r.nonce}`,
    );
  const lease = async () =>
    Number(
      (
        await store.context.db
          .selectFrom('keyward_meta')
          .select('value')
          .where('name', '=', 'nonce_lease')
          .executeTakeFirstOrThrow()
      ).value,
    );
  const consume = (nonces: EmbeddedNonceStore, nonce: string, stampedAt: number, scope = 'k&') =>
    nonces.consume(scope, nonce, stampedAt + WINDOW_MS + 1000, stampedAt);

  beforeEach(async () => {
    ({ store, clock, cleanup } = await freshStore('sqlite'));
  });
  afterEach(async () => {
    await cleanup();
  });

  it('has no floor on a database that never had one, and commits its lease before it opens', async () => {
    const nonces = await open();
    expect(nonces.floorMs).toBeUndefined();
    expect(await lease()).toBe(clock.t + 3000);
  });

  it('keeps nonces stamped up to the lease in memory only, writes the later ones first', async () => {
    const nonces = await open();
    expect(await consume(nonces, 'now', clock.t)).toBe(true);
    expect(await consume(nonces, 'at-lease', clock.t + 3000)).toBe(true);
    expect(await consume(nonces, 'ahead', clock.t + 3001)).toBe(true);
    expect(await rows()).toEqual(['k&/ahead']);
    // Replays are refused on both paths, and the same nonce under another scope is another nonce.
    expect(await consume(nonces, 'now', clock.t)).toBe(false);
    expect(await consume(nonces, 'ahead', clock.t + 3001)).toBe(false);
    expect(await consume(nonces, 'now', clock.t, 'other&')).toBe(true);
    // Without a stamp nothing can be kept in memory only.
    expect(await nonces.consume('k&', 'unstamped', clock.t + WINDOW_MS)).toBe(true);
    expect(await rows()).toEqual(['k&/ahead', 'k&/unstamped']);
  });

  it('after a crash: refuses every stamp up to the old lease, knows the nonces written, accepts new ones', async () => {
    const first = await open();
    const stamp = clock.t;
    expect(await consume(first, 'memory', stamp)).toBe(true);
    expect(await consume(first, 'written', stamp + 60_000)).toBe(true);
    const oldLease = await lease();
    // Dropped without a word: its memory is gone.
    clock.t += 5000;
    const second = await open();
    expect(second.floorMs).toBe(oldLease);
    expect(await consume(second, 'memory', stamp)).toBe(false);
    expect(await consume(second, 'written', stamp + 60_000)).toBe(false);
    // Any stamp up to the floor, even a nonce never seen: the store cannot tell.
    expect(await consume(second, 'never-seen', oldLease)).toBe(false);
    expect(await consume(second, 'fresh', clock.t)).toBe(true);
    expect(await consume(second, 'fresh', clock.t)).toBe(false);
    // The new lease is committed at open, past the new clock and never below the old one.
    expect(await lease()).toBe(clock.t + 3000);
  });

  it('renews the lease ahead of the clock, and never lowers it when the clock goes back', async () => {
    const nonces = await open({ renewMs: 10 });
    const errors: unknown[] = [];
    nonces.start(60_000, (e) => errors.push(e));
    try {
      clock.t += 10_000;
      await expect.poll(lease).toBe(clock.t + 3000);
      // A stamp the new lease covers stays in memory.
      expect(await consume(nonces, 'later', clock.t + 2000)).toBe(true);
      expect(await rows()).toEqual([]);
      const high = clock.t + 3000;
      clock.t -= 3_600_000;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await lease()).toBe(high);
    } finally {
      nonces.stop();
    }
    expect(errors).toEqual([]);
  });

  it('a clock set back across a restart cannot lower the floor', async () => {
    await open();
    const oldLease = await lease();
    clock.t -= 3_600_000;
    const started = Date.now();
    const second = await open();
    // The floor is an hour ahead: waiting would not help, so the open does not wait for it.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(second.floorMs).toBe(oldLease);
    expect(await consume(second, 'n', clock.t)).toBe(false);
    expect(await lease()).toBe(oldLease);
  });

  it('waits at open, a few seconds at most, for the clock to pass the previous lease', async () => {
    await open();
    const oldLease = await lease();
    // 200 ms before the old lease ends; a frozen clock never passes it, so the open gives up
    // after its longest wait.
    clock.t += 2800;
    const started = Date.now();
    const second = await openEmbeddedNonceStore({ db: store.context.db, clock: now, maxStartWaitMs: 300 });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(3000);
    expect(second.floorMs).toBe(oldLease);
  });

  it('writes to the database while memory is full, and until what it wrote has expired', async () => {
    const nonces = await open({ maxEntries: 2, renewMs: 10 });
    expect(await consume(nonces, 'a', clock.t)).toBe(true);
    expect(await consume(nonces, 'b', clock.t)).toBe(true);
    expect(await consume(nonces, 'c', clock.t)).toBe(true);
    expect(await rows()).toEqual(['k&/c']);
    expect(await consume(nonces, 'c', clock.t)).toBe(false);
    expect(await consume(nonces, 'a', clock.t)).toBe(false);
    // Memory has room again once a and b expire, but c is known only to the database: until it
    // expires too, every nonce is also written there.
    clock.t += WINDOW_MS + 1000;
    expect(await consume(nonces, 'd', clock.t - 1)).toBe(true);
    expect(await rows()).toEqual(['k&/c', 'k&/d']);
    clock.t += WINDOW_MS + 1000;
    nonces.start(60_000, () => {});
    try {
      await expect.poll(lease).toBe(clock.t + 3000);
    } finally {
      nonces.stop();
    }
    expect(await consume(nonces, 'e', clock.t)).toBe(true);
    expect(await rows()).toEqual(['k&/c', 'k&/d']);
  });

  it('fails closed when the database cannot record a nonce it must write', async () => {
    const nonces = await open();
    await sql`DROP TABLE nonces`.execute(store.context.db);
    await expect(consume(nonces, 'ahead', clock.t + 60_000)).rejects.toBeInstanceOf(NonceStoreUnavailableError);
    // A stamp the lease covers needs no write.
    expect(await consume(nonces, 'now', clock.t)).toBe(true);
  });
});

describe('embedded nonce store behind the verifier', () => {
  it('refuses an OAuth 1.0a request stamped before the floor as out of the window, telling stamps it accepts', async () => {
    const h = await harness();
    try {
      const db = h.store.context.db;
      const now = { now: () => h.clock.t };
      const first = await openEmbeddedNonceStore({ db, clock: now });
      const before = signed(h.key, h.clock);
      expect((await h.rebuild({ nonces: first }).verify(before)).ok).toBe(true);
      // A restart 10 s later: the request accepted before it is refused, a new one accepted.
      h.clock.t += 10_000;
      const second = await openEmbeddedNonceStore({ db, clock: now });
      const verifier = h.rebuild({ nonces: second });
      const floor = second.floorMs as number;
      const min = Math.floor(floor / 1000) + 1;
      const nowSeconds = Math.floor(h.clock.t / 1000);
      expect(await verifier.verify(before)).toMatchObject({
        status: 401,
        code: 'timestamp_refused',
        challenge: expect.arrayContaining([
          // Centred on the server's time: clients that take the middle for it keep a right clock.
          `OAuth realm="keyward", oauth_problem="timestamp_refused", oauth_acceptable_timestamps="${min}-${2 * nowSeconds - min}"`,
        ]),
      });
      expect((await verifier.verify(signed(h.key, h.clock))).ok).toBe(true);
    } finally {
      await h.cleanup();
    }
  });
});
