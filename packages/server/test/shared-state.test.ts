// The shared state's parts against a real PostgreSQL and a real Redis: limits counted across
// limiter objects (as across instances), taken back, failing closed when the backend is gone;
// nonces on Redis recorded once, and the floor a restarted Redis sets.
import type { Redis } from 'ioredis';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryNonceStore } from '../src/state/nonces.js';
import { AHEAD_MS, connectRedis, RedisNonceStore } from '../src/state/redis.js';
import { SharedLimiter } from '../src/state/shared-limiter.js';
import { migrateToLatest } from '../src/store/migrations.js';
import { StoreUnavailableError } from '../src/verify/ports.js';
import { sleep, TestRedis, until } from './support/cluster.js';
import { createPostgresDatabase, type PostgresDatabase } from './support/databases.js';
import { freePort } from './support/ports.js';

let db: PostgresDatabase;
let pool: pg.Pool;
let server: TestRedis;
const opened: Redis[] = [];

beforeAll(async () => {
  db = await createPostgresDatabase();
  const kysely = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url }) }),
  });
  await migrateToLatest(kysely);
  await kysely.destroy();
  pool = new pg.Pool({ connectionString: db.url });
  server = new TestRedis(await freePort());
  await server.start();
});

afterAll(async () => {
  for (const r of opened) r.disconnect();
  await pool?.end();
  await server?.kill();
  await db?.drop();
});

async function redis(): Promise<Redis> {
  const r = connectRedis(server.url);
  r.on('error', () => {});
  opened.push(r);
  await r.connect();
  return r;
}

describe.each(['postgres', 'redis'] as const)('SharedLimiter on %s', (backend) => {
  let limiters: SharedLimiter[];
  beforeAll(async () => {
    // Two limiter objects on one backend stand for two instances.
    limiters =
      backend === 'postgres'
        ? [new SharedLimiter({ pool }), new SharedLimiter({ pool })]
        : [new SharedLimiter({ redis: await redis() }), new SharedLimiter({ redis: await redis() })];
  });

  it('counts hits of every instance against one limit', async () => {
    const key = `rate:${backend}-1`;
    const limit = { limit: 5, windowSeconds: 60 };
    const states = [];
    for (let i = 0; i < 8; i++) states.push(await (limiters[i % 2] as SharedLimiter).hit(key, limit));
    expect(states.map((s) => s.allowed)).toEqual([true, true, true, true, true, false, false, false]);
    expect(states[5]?.retryAfter).toBeGreaterThan(0);
    expect(await limiters[0]?.count(key)).toBe(8);
    expect((await limiters[1]?.check(key, limit))?.allowed).toBe(false);
    expect((await limiters[1]?.check(`rate:${backend}-unused`, limit))?.allowed).toBe(true);
  });

  it('takes back an event, never below zero', async () => {
    const key = `fail:${backend}-undo`;
    const limit = { limit: 2, windowSeconds: 60 };
    await limiters[0]?.hit(key, limit);
    await limiters[1]?.undo(key);
    await limiters[1]?.undo(key);
    expect(await limiters[0]?.count(key)).toBe(0);
    await limiters[1]?.undo('fail:never-counted');
    expect(await limiters[0]?.count('fail:never-counted')).toBe(0);
  });

  it('counts a key longer than the table allows under its hash', async () => {
    const key = `fail:key:${'k'.repeat(400)}@127.0.0.1`;
    await limiters[0]?.hit(key, { limit: 3, windowSeconds: 60 });
    expect(await limiters[1]?.count(key)).toBe(1);
  });
});

describe('failing closed', () => {
  it('rejects with StoreUnavailableError when PostgreSQL cannot be reached', async () => {
    const url = new URL(db.url);
    url.port = String(await freePort());
    const dead = new pg.Pool({ connectionString: url.toString(), connectionTimeoutMillis: 1000 });
    try {
      await expect(
        new SharedLimiter({ pool: dead }).hit('rate:x', { limit: 1, windowSeconds: 1 }),
      ).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await dead.end();
    }
  });

  it('rejects with StoreUnavailableError when Redis is down, and answers again when it is back', async () => {
    const own = new TestRedis(await freePort());
    await own.start();
    const r = connectRedis(own.url);
    r.on('error', () => {});
    opened.push(r);
    await r.connect();
    const limiter = new SharedLimiter({ redis: r });
    const nonces = new RedisNonceStore(r, () => Date.now());
    await until('nonce floor checked', async () => nonces.floorMs !== undefined);
    expect(await limiter.hit('rate:y', { limit: 5, windowSeconds: 60 })).toMatchObject({ allowed: true });
    await own.kill();
    await expect(limiter.hit('rate:y', { limit: 5, windowSeconds: 60 })).rejects.toBeInstanceOf(StoreUnavailableError);
    const stamp = (nonces.floorMs as number) + 1;
    await expect(nonces.consume('s', 'n', stamp + 60_000, stamp)).rejects.toBeInstanceOf(StoreUnavailableError);
    await own.start();
    await until('Redis back', async () => (await limiter.hit('rate:z', { limit: 5, windowSeconds: 60 })).allowed);
    await own.kill();
  });
});

describe('RedisNonceStore', () => {
  it('records a nonce once among concurrent consumes, and again once it expired', async () => {
    const nonces = new RedisNonceStore(await redis(), () => Date.now());
    await until('nonce floor checked', async () => nonces.floorMs !== undefined);
    // Stamped after the floor (first use of this Redis), within AHEAD_MS of the clock.
    const stamped = (nonces.floorMs as number) + 1;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => nonces.consume('kw_kid_a&', 'n-1', Date.now() + 200, stamped)),
    );
    expect(answers.filter(Boolean)).toHaveLength(1);
    expect(await nonces.consume('kw_kid_b&', 'n-1', Date.now() + 200, stamped)).toBe(true);
    await sleep(250);
    expect(await nonces.consume('kw_kid_a&', 'n-1', Date.now() + 200, stamped)).toBe(true);
  });

  it('sets a floor when the Redis server restarted: nothing stamped before it is accepted', async () => {
    const own = new TestRedis(await freePort());
    await own.start();
    const r = connectRedis(own.url);
    r.on('error', () => {});
    opened.push(r);
    await r.connect();
    const nonces = new RedisNonceStore(r, () => Date.now());
    // The database's part, for stamps ahead of the clock: here a memory store, which outlives
    // the Redis restart as a database would.
    nonces.keepAheadIn(new MemoryNonceStore({ clock: { now: () => Date.now() } }));
    await until('nonce floor checked', async () => nonces.floorMs !== undefined);
    const first = nonces.floorMs as number;
    await sleep(AHEAD_MS + 5);
    const stamped = Date.now();
    const ahead = Date.now() + 120_000;
    expect(await nonces.consume('kw_kid_c&', 'n-2', Date.now() + 60_000, stamped)).toBe(true);
    expect(await nonces.consume('kw_kid_c&', 'n-4', ahead + 60_000, ahead)).toBe(true);
    // Redis dies and comes back empty: the nonces above are gone from it.
    await own.kill();
    await own.start();
    await until('floor moved', async () => (nonces.floorMs ?? 0) > first, 15_000);
    expect(nonces.floorMs).toBeGreaterThanOrEqual(stamped + AHEAD_MS);
    // Stamped before the floor: refused as out of the window; ahead of it: the database knows it.
    expect(await nonces.consume('kw_kid_c&', 'n-2', Date.now() + 60_000, stamped)).toBe(false);
    expect(await nonces.consume('kw_kid_c&', 'n-4', ahead + 60_000, ahead)).toBe(false);
    const next = (nonces.floorMs as number) + 1;
    expect(await nonces.consume('kw_kid_c&', 'n-3', next + 60_000, next)).toBe(true);
    await own.kill();
  });
});
