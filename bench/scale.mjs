// `BENCH_ONLY=scale`: what scaling out costs and gains, in one run.
//
// 1. Shared state: a nonce recorded and a limit counted, in memory (one instance) vs on Redis
//    vs on PostgreSQL, 32 callers at once: operations per second and p99.
// 2. Verification with 10² vs 10⁶ keys in the store (SQLite, and PostgreSQL when there is one),
//    every lookup a cache miss (the worst case: as many keys in use as the cache holds): the
//    rate with 10⁶ keys must be ≥ 0.9 of the rate with 10². The two stores are measured in
//    interleaved rounds.
// 3. One instance vs two behind nginx (deploy/nginx/keyward.conf), on PostgreSQL + Redis:
//    HTTP Basic and OAuth 1.0a (nonce on Redis) through nginx, autocannon from this process.
//
// Knobs: BENCH_SCALE_ROUNDS (5), BENCH_SCALE_SECONDS (1 per state measurement),
// BENCH_SCALE_HTTP_SECONDS (3), BENCH_SCALE_KEYS (1000000), BENCH_DATABASE_URL, BENCH_NGINX.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectRedis,
  createVerifier,
  MemoryLimiter,
  MemoryNonceStore,
  openStore,
  RedisNonceStore,
  SharedLimiter,
  SqlNonceStore,
} from '@keyward/server';
import pg from 'pg';
import { load, signer } from './load.mjs';
import { freePort, sleep, startPostgres, startRedis, until } from './services.mjs';
import { fmt, median, quantile } from './stats.mjs';

const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 1);
const HTTP_SECONDS = Number(process.env.BENCH_SCALE_HTTP_SECONDS ?? 3);
const KEYS = Number(process.env.BENCH_SCALE_KEYS ?? 1_000_000);
const NGINX = process.env.BENCH_NGINX ?? '/usr/sbin/nginx';
const root = new URL('..', import.meta.url).pathname;
const KEYWARD = join(root, 'node_modules/.bin/keyward');
const TARGET_KEYS = 0.9;
const clock = { now: () => Date.now() };

/** `op` from `callers` loops for `seconds`: ops/s and p99 in microseconds. */
async function closedLoop(op, { seconds = SECONDS, callers = 32 } = {}) {
  const latencies = [];
  let count = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
        count++;
      }
    }),
  );
  return { rate: count / seconds, p99: quantile(latencies, 0.99) * 1000 };
}

/** Interleaved rounds of each named op; the median rate and p99 of each. */
async function compare(ops) {
  const results = Object.fromEntries(Object.keys(ops).map((k) => [k, { rates: [], p99s: [] }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, op] of Object.entries(ops)) {
      const { rate, p99 } = await closedLoop(op);
      results[name].rates.push(rate);
      results[name].p99s.push(p99);
    }
  }
  return Object.fromEntries(
    Object.entries(results).map(([k, v]) => [k, { rate: median(v.rates), p99: median(v.p99s) }]),
  );
}

function printRows(title, rows) {
  console.log(title);
  for (const [name, { rate, p99 }] of Object.entries(rows)) {
    console.log(`  ${name.padEnd(44)} ${fmt(rate).padStart(10)} ops/s   p99 ${p99.toFixed(0).padStart(6)} µs`);
  }
  console.log('');
}

async function stateCosts(postgres, redis) {
  let n = 0;
  const scope = 'kw_kid_benchscope&';
  const memoryNonces = new MemoryNonceStore({ clock, maxEntries: 5_000_000 });
  const memoryLimiter = new MemoryLimiter(clock);
  const limit = { limit: Number.MAX_SAFE_INTEGER, windowSeconds: 60 };
  const nonceOps = {
    'nonce, memory (one instance)': () => memoryNonces.consume(scope, `m${n++}`, Date.now() + 60_000, Date.now()),
  };
  const limitOps = { 'limit hit, memory (one instance)': async () => memoryLimiter.hit(`rate:m${n++ % 1000}`, limit) };
  const closers = [];
  if (redis !== undefined) {
    const client = connectRedis(redis.url);
    await client.connect();
    closers.push(() => client.disconnect());
    const nonces = new RedisNonceStore(client, () => Date.now());
    await until('nonce floor', async () => nonces.floorMs !== undefined);
    const limiter = new SharedLimiter({ redis: client });
    nonceOps['nonce, Redis (SET NX PX)'] = () => nonces.consume(scope, `r${n++}`, Date.now() + 60_000, Date.now() + 1);
    limitOps['limit hit, Redis (Lua script)'] = () => limiter.hit(`rate:r${n++ % 1000}`, limit);
  }
  if (postgres !== undefined) {
    const url = await postgres.createDatabase();
    const store = await openStore({
      databaseUrl: url,
      masterKey: randomBytes(32).toString('hex'),
      pepper: randomBytes(32).toString('hex'),
      usageFlushMs: 0,
    });
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    closers.push(
      () => pool.end(),
      () => store.close(),
    );
    const nonces = new SqlNonceStore(store.context.db, clock);
    const limiter = new SharedLimiter({ pool });
    nonceOps['nonce, PostgreSQL (batched upsert)'] = () => nonces.consume(scope, `p${n++}`, Date.now() + 60_000);
    limitOps['limit hit, PostgreSQL (upsert)'] = () => limiter.hit(`rate:p${n++ % 1000}`, limit);
  }
  console.log(`shared state — ${ROUNDS} interleaved rounds of ${SECONDS} s, 32 callers at once\n`);
  printRows('Recording a nonce', await compare(nonceOps));
  printRows('Counting a limit', await compare(limitOps));
  for (const close of closers) await close();
}

// Copies of the first key (and its secret) under new ids, `count` of them, in one statement
// each: the store's tables and indexes as large as with that many keys, without making them one
// by one.
async function fillKeys(store, count) {
  const db = store.context.db;
  const { sql } = await import('kysely');
  if (store.engine === 'postgres') {
    await sql`insert into api_keys select 'fill' || lpad(i::text, 18, '0'), account_id, name, scopes, methods, expires_at,
      status, disabled_reason, metadata, rate_limit, created_at, updated_at, revoked_at, last_used_at, use_count
      from generate_series(1, ${count}) i, (select * from api_keys limit 1) k`.execute(db);
    await sql`insert into key_secrets select 'fills' || lpad(i::text, 18, '0'), 'fill' || lpad(i::text, 18, '0'),
      secret_hash, sealed_secret, created_at, expires_at
      from generate_series(1, ${count}) i, (select * from key_secrets limit 1) s`.execute(db);
    await sql`analyze`.execute(db);
  } else {
    await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count})
      insert into api_keys select 'fill' || printf('%018d', i), account_id, name, scopes, methods, expires_at,
      status, disabled_reason, metadata, rate_limit, created_at, updated_at, revoked_at, last_used_at, use_count
      from n, (select * from api_keys limit 1)`.execute(db);
    await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count})
      insert into key_secrets select 'fills' || printf('%018d', i), 'fill' || printf('%018d', i),
      secret_hash, sealed_secret, created_at, expires_at
      from n, (select * from key_secrets limit 1)`.execute(db);
  }
}

/** A store with 100 usable keys, and a verifier that misses its cache on every lookup. */
async function keyedStore(config, filler) {
  const store = await openStore({ ...config, usageFlushMs: 0 });
  const dataDir = config.dataDir;
  await store.accounts.create({ email: 'bench@example.com', password: 'a long bench passphrase' }, { type: 'system' });
  const keys = [];
  for (let i = 0; i < 100; i++) {
    const made = await store.keys.create('bench@example.com', { name: `k${i}` }, { type: 'system' });
    keys.push(made.value);
  }
  if (filler > 0) await fillKeys(store, filler);
  const unlimited = { limit: Number.MAX_SAFE_INTEGER, windowSeconds: 60 };
  const verifier = createVerifier({
    store,
    nonces: new MemoryNonceStore({ clock }),
    origin: 'https://api.example.com',
    clock,
    failuresPerIp: unlimited,
    failuresPerKey: unlimited,
    cache: { maxEntries: 1 },
  });
  const requests = keys.map((k) => ({
    method: 'GET',
    url: '/v1/orders',
    headers: { authorization: `Basic ${Buffer.from(`${k.id}:${k.secret}`).toString('base64')}` },
    remoteAddress: '127.0.0.1',
    secure: true,
  }));
  let n = 0;
  return {
    store,
    dataDir,
    async verify() {
      const outcome = await verifier.verify(requests[n++ % requests.length]);
      if (!outcome.ok) throw new Error(`bench key refused: ${outcome.code}`);
    },
  };
}

async function keyCounts(postgres) {
  console.log(`verification with 10² vs ${fmt(KEYS)} keys in the store — every lookup misses the cache\n`);
  let missed = 0;
  const engines = [['SQLite', () => ({ dataDir: mkdtempSync(join(tmpdir(), 'keyward-bench-keys-')) })]];
  if (postgres !== undefined) {
    engines.push([
      'PostgreSQL',
      async () => ({
        databaseUrl: await postgres.createDatabase(),
        masterKey: randomBytes(32).toString('hex'),
        pepper: randomBytes(32).toString('hex'),
      }),
    ]);
  }
  for (const [engine, config] of engines) {
    const started = performance.now();
    const small = await keyedStore(await config(), 0);
    const large = await keyedStore(await config(), KEYS - 100);
    const filled = (performance.now() - started) / 1000;
    const rows = await compare({
      [`${engine}, 10² keys`]: small.verify,
      [`${engine}, ${fmt(KEYS)} keys`]: large.verify,
    });
    printRows(`${engine} (stores made in ${filled.toFixed(0)} s)`, rows);
    const [a, b] = Object.values(rows);
    const ratio = b.rate / a.rate;
    const ok = ratio >= TARGET_KEYS;
    if (!ok) missed++;
    console.log(`  ratio ${ratio.toFixed(2)}, target ≥ ${TARGET_KEYS}: ${ok ? 'met' : 'MISSED'}\n`);
    await small.store.close();
    await large.store.close();
    for (const d of [small.dataDir, large.dataDir]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
  }
  return missed;
}

/** `keyward serve` on PostgreSQL + Redis; resolves `{ port, stop }` once ready. */
async function instance(env, dir) {
  const port = await freePort();
  const dataDir = join(dir, `i${port}`);
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(KEYWARD, ['serve'], {
    env: { PATH: process.env.PATH, ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir },
    stdio: 'ignore',
  });
  await until('keyward ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);
  return {
    port,
    dataDir,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
    },
  };
}

function nginxConf(dir, port, upstreams) {
  let conf = readFileSync(join(root, 'deploy/nginx/keyward.conf'), 'utf8');
  conf = conf.replace(
    /(\s*server 127\.0\.0\.1:400\d[^\n]*\n)+/,
    `\n${upstreams.map((p) => `    server 127.0.0.1:${p};\n`).join('')}`,
  );
  // Plain HTTP here, as if TLS ended before nginx: the instances are measured, not TLS.
  conf = conf
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port};`)
    .replace(/^\s*ssl_\w+[^\n]*\n/gm, '')
    .replace('X-Forwarded-Proto $scheme', 'X-Forwarded-Proto https');
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub), { recursive: true });
  return `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nworker_processes 1;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n  keepalive_requests 1000000;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n${conf}}\n`;
}

async function nginx(dir, upstreams) {
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, upstreams));
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  await until('nginx', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200);
  return {
    port,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await Promise.race([exited, sleep(5000)]);
    },
  };
}

async function instancesBehindNginx(postgres, redis) {
  if (postgres === undefined || redis === undefined || !existsSync(NGINX) || !existsSync(KEYWARD)) {
    console.log('one vs two instances: needs PostgreSQL, Redis, nginx and the built CLI; skipped\n');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-scale-'));
  const publicUrl = 'https://api.example.com';
  const env = {
    KEYWARD_HOST: '127.0.0.1',
    KEYWARD_PUBLIC_URL: publicUrl,
    KEYWARD_TRUST_PROXY: '127.0.0.1',
    KEYWARD_DATABASE_URL: await postgres.createDatabase(),
    KEYWARD_REDIS_URL: redis.url,
    KEYWARD_MASTER_KEY: randomBytes(32).toString('hex'),
    KEYWARD_PEPPER: randomBytes(32).toString('hex'),
    KEYWARD_LOG_LEVEL: 'warn',
    KEYWARD_ACCESS_LOG: 'off',
    // nginx keeps its upstream connections open; an instance closing one after 1,000 requests
    // (the default) races nginx's next request on it, which the client sees as an error.
    KEYWARD_MAX_REQUESTS_PER_SOCKET: '0',
  };
  const first = await instance(env, dir);
  const second = await instance(env, dir);
  const admin = JSON.parse(readFileSync(join(first.dataDir, 'first-admin.json'), 'utf8'));
  const sign = signer(admin.keyId, admin.secret);
  const basic = `Basic ${Buffer.from(`${admin.keyId}:${admin.secret}`).toString('base64')}`;
  const one = await nginx(join(dir, 'one'), [first.port]);
  const two = await nginx(join(dir, 'two'), [first.port, second.port]);
  const variants = (port, label) => [
    { name: `${label}, Basic`, url: `http://127.0.0.1:${port}/v1/whoami`, headers: { authorization: basic } },
    {
      name: `${label}, OAuth 1.0a (nonce on Redis)`,
      url: `http://127.0.0.1:${port}/v1/whoami`,
      sign: (_url, nonce, t) => sign(`${publicUrl}/v1/whoami`, nonce, t),
    },
  ];
  const all = [...variants(one.port, 'one instance behind nginx'), ...variants(two.port, 'two instances behind nginx')];
  const results = new Map(all.map((v) => [v.name, { rates: [], p99s: [] }]));
  console.log(
    `one vs two instances behind nginx, PostgreSQL + Redis — ${ROUNDS} rounds of ${HTTP_SECONDS} s, 32 connections\n`,
  );
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of all) {
        const { ok, elapsed, result } = await load(v, {
          seconds: HTTP_SECONDS,
          connections: 32,
          poolSize: 200_000,
          knobs: 'BENCH_SCALE_HTTP',
        });
        results.get(v.name).rates.push(ok / elapsed);
        results.get(v.name).p99s.push(result.latency.p99);
      }
    }
    for (const [name, { rates, p99s }] of results) {
      console.log(
        `  ${name.padEnd(52)} ${fmt(median(rates)).padStart(9)} req/s   p99 ${median(p99s).toFixed(1).padStart(6)} ms`,
      );
    }
    console.log(
      "  (every process — the instances, nginx, PostgreSQL, Redis and the load — shares this machine's cores)\n",
    );
  } finally {
    await one.stop();
    await two.stop();
    await first.stop();
    await second.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the section; returns the number of targets missed. */
export async function runScale() {
  const postgres = await startPostgres();
  const redis = await startRedis();
  try {
    await stateCosts(postgres, redis);
    const missed = await keyCounts(postgres);
    await instancesBehindNginx(postgres, redis);
    return missed;
  } finally {
    await redis?.stop();
    await postgres?.stop();
  }
}
