// Faults of a scaled-out deployment (three `keyward serve` processes on one PostgreSQL, with or
// without Redis): what needs a dependency that is down fails closed with 503, nothing is
// accepted that should not be, and the service comes back without a restart.
//
// - Redis killed (SIGKILL) under a load of signed requests: the requests that need it (their
//   nonces live there) answer 503 and none is accepted while it is down; /readyz names it; when
//   a new Redis comes up empty on the same port, requests are accepted again, and no request
//   accepted before the kill is accepted again (the nonce floor).
// - PostgreSQL cut (a relay in front of it drops every connection and refuses new ones) under
//   the same load: 503, /readyz names the store, back when it is, no replay accepted.
// - The invalidation channel cut again and again while a key is revoked: no instance accepts
//   the revoked key, though each had it cached.
// - An instance killed (SIGKILL) in the middle of creating keys: every creation it answered 201
//   is there and works on the other instances.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AHEAD_MS } from '../src/state/redis.js';
import {
  type Answer,
  basic,
  call,
  deployEnv,
  hexKey,
  type Instance,
  PASSWORD,
  Relay,
  signed,
  sleep,
  startInstance,
  TestRedis,
  tempDir,
  until,
} from './support/cluster.js';
import { createPostgresDatabase, type PostgresDatabase } from './support/databases.js';
import { freePort } from './support/ports.js';

const PUBLIC = 'https://api.example.test';

interface Cluster {
  readonly instances: Instance[];
  readonly db: PostgresDatabase;
  readonly redis: TestRedis | undefined;
  readonly relay: Relay | undefined;
  readonly session: string;
  readonly admin: string;
  newKey(): Promise<{ id: string; secret: string }>;
  stop(): Promise<void>;
}

const clusters: Cluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.stop();
});
afterAll(async () => {
  for (const c of clusters.splice(0)) await c.stop();
});

async function startCluster(options: { redis: boolean; relay?: boolean; signs?: boolean }): Promise<Cluster> {
  const temp = tempDir('keyward-faults-');
  const db = await createPostgresDatabase();
  let redis: TestRedis | undefined;
  let relay: Relay | undefined;
  const instances: Instance[] = [];
  const stop = async () => {
    await Promise.all(instances.map((i) => i.stop('SIGKILL')));
    await redis?.kill();
    await relay?.cut();
    await db.drop();
    temp.remove();
  };
  try {
    if (options.redis) {
      redis = new TestRedis(await freePort());
      await redis.start();
    }
    let dbUrl = db.url;
    if (options.relay === true) {
      const target = new URL(db.url);
      relay = new Relay(target.hostname, Number(target.port));
      await relay.start();
      target.port = String(relay.port);
      dbUrl = target.toString();
    }
    const configFile = join(temp.dir, 'keyward.config.json');
    writeFileSync(configFile, JSON.stringify({ limits: { failuresPerIp: { limit: 100_000, windowSeconds: 60 } } }));
    const { KEYWARD_REDIS_URL: _unused, ...deployed } = deployEnv();
    const env = {
      ...deployed,
      KEYWARD_PUBLIC_URL: PUBLIC,
      KEYWARD_DATABASE_URL: dbUrl,
      ...(redis === undefined ? {} : { KEYWARD_REDIS_URL: redis.url }),
      KEYWARD_MASTER_KEY: hexKey(),
      KEYWARD_PEPPER: hexKey(),
      KEYWARD_LOG_LEVEL: 'fatal',
      KEYWARD_CONFIG: configFile,
    };
    instances.push(await startInstance('a', env, temp.dir));
    instances.push(...(await Promise.all(['b', 'c'].map((n) => startInstance(n, env, temp.dir)))));
    const first = instances[0] as Instance;
    const credentials = JSON.parse(readFileSync(join(first.dataDir, 'first-admin.json'), 'utf8')) as {
      keyId: string;
      secret: string;
    };
    const email = 'faults@example.com';
    expect((await call(first.url, 'POST', '/v1/accounts', { body: { email, password: PASSWORD } })).status).toBe(201);
    const login = await call(first.url, 'POST', '/v1/sessions', { body: { email, password: PASSWORD } });
    const session = String(login.body?.token);
    // A Redis the instances have not seen before: stamps up to AHEAD_MS after they met it are
    // refused (they cannot tell it from a Redis that lost its nonces). Sign after that (a test that
    // signs nothing need not wait).
    if (redis !== undefined && options.signs !== false) await sleep(AHEAD_MS + 1000);
    const cluster: Cluster = {
      instances,
      db,
      redis,
      relay,
      session,
      admin: basic(credentials.keyId, credentials.secret),
      async newKey() {
        const made = await call(first.url, 'POST', '/v1/keys', {
          authorization: `Bearer ${session}`,
          body: { name: 'faults' },
        });
        expect(made.status).toBe(201);
        return made.body as { id: string; secret: string };
      },
      stop,
    };
    clusters.push(cluster);
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

interface Sent {
  /** When the request was sent, and when its answer came. */
  readonly at: number;
  readonly answeredAt: number;
  readonly authorization: string;
  readonly answer: Answer;
}

/**
 * Signed requests (each with its own nonce) from `workers` loops, round-robin over the
 * instances, until `stop` says so; every request and its answer recorded.
 */
function load(cluster: Cluster, key: { id: string; secret: string }, workers = 4) {
  const sent: Sent[] = [];
  let running = true;
  let n = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const instance = cluster.instances[n++ % cluster.instances.length] as Instance;
      // One in four from a client whose clock is a minute ahead (the window allows it).
      const authorization = signed(PUBLIC, '/v1/whoami', key, n % 4 === 0 ? 60 : 0);
      const at = Date.now();
      const answer = await call(instance.url, 'GET', '/v1/whoami', { authorization }).catch(
        (): Answer => ({ status: 0, body: undefined }),
      );
      sent.push({ at, answeredAt: Date.now(), authorization, answer });
    }
  });
  return {
    sent,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const codeOf = (a: Answer) => (a.body?.error as { code?: string } | undefined)?.code;

/** Every accepted request sent again, to every instance: none may be accepted now. */
async function replayAll(cluster: Cluster, sent: readonly Sent[]): Promise<number> {
  let accepted = 0;
  for (const s of sent.filter((x) => x.answer.status === 200)) {
    const answers = await Promise.all(
      cluster.instances.map((i) => call(i.url, 'GET', '/v1/whoami', { authorization: s.authorization })),
    );
    accepted += answers.filter((a) => a.status === 200).length;
  }
  return accepted;
}

async function acceptsAgain(cluster: Cluster, key: { id: string; secret: string }): Promise<void> {
  for (const instance of cluster.instances) {
    await until(
      `${instance.name} accepting again`,
      async () =>
        (await call(instance.url, 'GET', '/v1/whoami', { authorization: signed(PUBLIC, '/v1/whoami', key) })).status ===
        200,
      20_000,
    );
  }
}

// Each test starts its own cluster (three Keyward processes, a PostgreSQL database, maybe Redis)
// and waits out fences of seconds: 10-18 s on a quiet 2-core machine, past Vitest's 20 s when the
// other workers load it. Every wait inside is bounded on its own (until(), request timeouts).
describe('scale-out faults', { timeout: 90_000 }, () => {
  it('fails closed while Redis is dead, recovers when it returns, and accepts no replay', async () => {
    const cluster = await startCluster({ redis: true });
    const redis = cluster.redis as TestRedis;
    const key = await cluster.newKey();
    const traffic = load(cluster, key);
    await sleep(800);
    await redis.kill();
    const killedAt = Date.now();
    await sleep(1500);
    const down = await call((cluster.instances[1] as Instance).url, 'GET', '/readyz');
    await redis.start();
    const restartedAt = Date.now();
    await sleep(500);
    await traffic.stop();
    await acceptsAgain(cluster, key);

    expect(down.status).toBe(503);
    expect(String((down.body?.error as { message?: string } | undefined)?.message)).toMatch(/redis/);
    const before = traffic.sent.filter((s) => s.at < killedAt);
    // Sent once Redis was dead, and answered before it was back (a request may wait for it and be
    // answered after: that is no accept while down).
    const during = traffic.sent.filter((s) => s.at > killedAt + 50 && s.answeredAt < restartedAt);
    expect(before.filter((s) => s.answer.status === 200).length).toBeGreaterThan(10);
    expect(during.length).toBeGreaterThan(10);
    // Nonces live in Redis: with it dead, no signed request is accepted; each is refused 503.
    expect(during.filter((s) => s.answer.status === 200)).toEqual([]);
    expect(new Set(during.map((s) => `${s.answer.status} ${codeOf(s.answer)}`))).toEqual(
      new Set(['503 store_unavailable']),
    );
    // The new Redis has none of the old nonces: the floor refuses every earlier stamp.
    expect(await replayAll(cluster, traffic.sent)).toBe(0);
  });

  it('fails closed while PostgreSQL is unreachable, recovers when it is back, and accepts no replay', async () => {
    const cluster = await startCluster({ redis: false, relay: true });
    const relay = cluster.relay as Relay;
    const key = await cluster.newKey();
    const cached = basic(key.id, key.secret);
    const traffic = load(cluster, key);
    await sleep(800);
    await relay.cut();
    const cutAt = Date.now();
    await sleep(1500);
    const down = await call((cluster.instances[2] as Instance).url, 'GET', '/readyz');
    // Basic with a key every instance has cached: the channel that would say it was revoked is
    // down too, so the cache is not trusted and the store must answer: 503.
    const basicDuring = await Promise.all(
      cluster.instances.map((i) => call(i.url, 'GET', '/v1/whoami', { authorization: cached })),
    );
    await relay.restore();
    const restoredAt = Date.now();
    await sleep(500);
    await traffic.stop();
    await acceptsAgain(cluster, key);

    expect(down.status).toBe(503);
    expect(String((down.body?.error as { message?: string } | undefined)?.message)).toMatch(/store/);
    expect(basicDuring.map((a) => `${a.status} ${codeOf(a)}`)).toEqual(Array(3).fill('503 store_unavailable'));
    const during = traffic.sent.filter((s) => s.at > cutAt + 50 && s.answeredAt < restoredAt);
    expect(during.length).toBeGreaterThan(10);
    expect(during.filter((s) => s.answer.status === 200)).toEqual([]);
    expect(new Set(during.map((s) => `${s.answer.status} ${codeOf(s.answer)}`))).toEqual(
      new Set(['503 store_unavailable']),
    );
    for (const i of cluster.instances) {
      await until(`${i.name} ready`, async () => (await call(i.url, 'GET', '/readyz')).status === 200);
    }
    expect(await replayAll(cluster, traffic.sent)).toBe(0);
  });

  it.each([
    { setup: 'PostgreSQL', redis: false },
    { setup: 'PostgreSQL + Redis', redis: true },
  ])('accepts no revoked key while the invalidation channel is cut ($setup)', async ({ redis }) => {
    const cluster = await startCluster({ redis, signs: false });
    const key = await cluster.newKey();
    const auth = basic(key.id, key.secret);
    for (const i of cluster.instances)
      expect((await call(i.url, 'GET', '/v1/whoami', { authorization: auth })).status).toBe(200);

    // Cut every instance's channel, again and again, from outside.
    let cutting = true;
    let cuts = 0;
    const cutter = (async () => {
      if (redis) {
        const admin = new Redis((cluster.redis as TestRedis).url);
        admin.on('error', () => {});
        while (cutting) {
          cuts += Number(await admin.client('KILL', 'TYPE', 'pubsub'));
          await sleep(20);
        }
        admin.disconnect();
      } else {
        const admin = new pg.Client({ connectionString: cluster.db.url });
        await admin.connect();
        while (cutting) {
          const killed = await admin.query(
            `select pg_terminate_backend(pid) from pg_stat_activity
             where application_name = 'keyward-invalidations' and datname = current_database()`,
          );
          cuts += killed.rowCount ?? 0;
          await sleep(20);
        }
        await admin.end();
      }
    })();
    await sleep(300);
    const revoked = await call((cluster.instances[0] as Instance).url, 'POST', `/v1/admin/keys/${key.id}/revoke`, {
      authorization: cluster.admin,
    });
    expect(revoked.status).toBe(200);
    const answers: Answer[] = [];
    for (let round = 0; round < 10; round++) {
      for (const i of cluster.instances) answers.push(await call(i.url, 'GET', '/v1/whoami', { authorization: auth }));
      await sleep(30);
    }
    cutting = false;
    await cutter;
    expect(cuts).toBeGreaterThan(3);
    expect(answers.filter((a) => a.status === 200)).toEqual([]);
    expect(new Set(answers.map((a) => `${a.status} ${codeOf(a)}`))).toEqual(new Set(['401 key_revoked']));
    // The channel back, every instance ready again, and the key still refused.
    for (const i of cluster.instances) {
      await until(`${i.name} ready`, async () => (await call(i.url, 'GET', '/readyz')).status === 200);
      expect(codeOf(await call(i.url, 'GET', '/v1/whoami', { authorization: auth }))).toBe('key_revoked');
    }
  });

  it('loses no committed write when an instance is killed in the middle of requests', async () => {
    const cluster = await startCluster({ redis: false });
    const [victim, witness] = cluster.instances as [Instance, Instance];
    const created: { id: string; secret: string }[] = [];
    let answered = 0;
    let failed = 0;
    const workers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; ; i++) {
        const made = await call(victim.url, 'POST', '/v1/keys', {
          authorization: `Bearer ${cluster.session}`,
          body: { name: `kill-${w}-${i}` },
        }).catch(() => undefined);
        if (made === undefined) {
          failed++;
          return;
        }
        answered++;
        if (made.status === 201) created.push(made.body as { id: string; secret: string });
      }
    });
    await until('some keys created', () => answered >= 20);
    await victim.stop('SIGKILL');
    await Promise.all(workers);
    expect(failed).toBeGreaterThan(0);
    expect(created.length).toBeGreaterThanOrEqual(20);
    const answers = await Promise.all(
      created.map((k) => call(witness.url, 'GET', '/v1/whoami', { authorization: basic(k.id, k.secret) })),
    );
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
  });
});
