// Three Keyward processes on one PostgreSQL, with and without Redis, behind nginx as deploy/
// describes it: nothing may get weaker when one instance becomes three.
//
// - Replay: the same signed request sent to all three at once is accepted once; 1,000 replays
//   spread over the three, once.
// - Revocation: a key revoked, disabled or narrowed through A (its admin API or the CLI) is
//   refused or narrowed on B and C in the very next request, though B and C had it cached; a
//   session ended on A, or ended by a password change on A, is refused on B.
// - Limits: a key limited to N per minute gets N in all; a key id's failure limit counts the
//   failures of all three.
// - nginx (deploy/nginx/keyward.conf) terminates TLS and sets X-Forwarded-*; a client's own
//   X-Forwarded-For never reaches the instances.
//
// The instances are the built CLI (`npm test` builds before the tests run).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AHEAD_MS } from '../src/state/redis.js';
import {
  type Answer,
  basic,
  call,
  deployEnv,
  hexKey,
  type Instance,
  KEYWARD_BIN,
  makeCertificate,
  nginxConfig,
  PASSWORD,
  signed,
  sleep,
  startInstance,
  startNginx,
  TestRedis,
  tempDir,
  viaTls,
} from './support/cluster.js';
import { createPostgresDatabase, type PostgresDatabase } from './support/databases.js';
import { freePort } from './support/ports.js';

const scopesOf = (answer: Answer) => (answer.body?.principal as { scopes?: string[] } | undefined)?.scopes;

const tally = (answers: readonly Answer[]) => {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const code = a.status === 200 ? '200' : `${a.status} ${String((a.body?.error as { code?: string })?.code)}`;
    out[code] = (out[code] ?? 0) + 1;
  }
  return out;
};

describe.each([
  { setup: 'PostgreSQL', redis: false },
  { setup: 'PostgreSQL + Redis', redis: true },
])('three instances on $setup', ({ redis }) => {
  const temp = tempDir('keyward-scale-');
  let db: PostgresDatabase;
  let cache: TestRedis | undefined;
  let instances: Instance[] = [];
  let env: Record<string, string> = {};
  let nginx: ReturnType<typeof spawn> | undefined;
  let origin = '';
  let ca = '';
  let admin = '';
  let session = '';

  const [a, b, c] = [0, 1, 2].map((i) => () => instances[i] as Instance) as [
    () => Instance,
    () => Instance,
    () => Instance,
  ];

  /** A new key of the test account, made through A. */
  async function newKey(settings: Record<string, unknown> = {}) {
    const made = await call(a().url, 'POST', '/v1/keys', {
      authorization: `Bearer ${session}`,
      body: { name: 'scale', ...settings },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    return made.body as { id: string; secret: string; token: string };
  }

  const whoami = (instance: Instance, authorization: string) =>
    call(instance.url, 'GET', '/v1/whoami', { authorization });

  /** Runs the keyward CLI with the instances' environment. */
  function cli(args: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(KEYWARD_BIN, args, {
        cwd: temp.dir,
        env: { PATH: process.env.PATH ?? '', ...env, KEYWARD_DATA_DIR: a().dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.on('exit', (code) => resolve({ code, out }));
    });
  }

  beforeAll(async () => {
    ca = makeCertificate(temp.dir);
    const edge = await freePort();
    origin = `https://127.0.0.1:${edge}`;
    db = await createPostgresDatabase();
    if (redis) {
      cache = new TestRedis(await freePort());
      await cache.start();
    }
    const configFile = join(temp.dir, 'keyward.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        // Small enough to reach in a test; the per-address limit out of the way (every request
        // here comes from 127.0.0.1).
        limits: {
          failuresPerKey: { limit: 4, windowSeconds: 60 },
          failuresPerIp: { limit: 100_000, windowSeconds: 60 },
        },
      }),
    );
    // deploy/keyward.env as it is, but for what only a test can know.
    const { KEYWARD_REDIS_URL: _unused, ...deployed } = deployEnv();
    env = {
      ...deployed,
      KEYWARD_PUBLIC_URL: origin,
      KEYWARD_DATABASE_URL: db.url,
      ...(cache === undefined ? {} : { KEYWARD_REDIS_URL: cache.url }),
      KEYWARD_MASTER_KEY: hexKey(),
      KEYWARD_PEPPER: hexKey(),
      KEYWARD_LOG_LEVEL: 'warn',
      KEYWARD_CONFIG: configFile,
    };
    // The first start creates the schema and the first admin; the others join it.
    const first = await startInstance('a', env, temp.dir);
    instances = [first, ...(await Promise.all(['b', 'c'].map((n) => startInstance(n, env, temp.dir))))];
    const credentials = JSON.parse(readFileSync(join(first.dataDir, 'first-admin.json'), 'utf8')) as {
      keyId: string;
      secret: string;
    };
    admin = basic(credentials.keyId, credentials.secret);
    nginx = await startNginx(temp.dir, nginxConfig(temp.dir, edge, instances), edge);
    // A Redis the instances have not seen before may have lost nonces, as far as they can tell:
    // they refuse stamps up to AHEAD_MS after they first met it. Sign after that.
    if (redis) await sleep(AHEAD_MS + 1000);

    const email = 'scale@example.com';
    expect((await call(a().url, 'POST', '/v1/accounts', { body: { email, password: PASSWORD } })).status).toBe(201);
    const login = await call(b().url, 'POST', '/v1/sessions', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(201);
    session = String(login.body?.token);
  }, 120_000);

  afterAll(async () => {
    // TERM, not KILL: the master stops its workers (a killed master leaves them serving).
    if (nginx !== undefined && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    }
    await Promise.all(instances.map((i) => i.stop('SIGKILL')));
    await cache?.kill();
    await db?.drop();
    temp.remove();
  });

  it('accepts the same signed request sent to all three at once exactly once', async () => {
    const key = await newKey();
    for (let round = 0; round < 5; round++) {
      const authorization = signed(origin, '/v1/whoami', key);
      const answers = await Promise.all(instances.map((i) => whoami(i, authorization)));
      expect(tally(answers)).toEqual({ '200': 1, '401 nonce_reused': 2 });
    }
  });

  it('accepts one of 1,000 concurrent replays spread over the instances', async () => {
    const key = await newKey();
    const authorization = signed(origin, '/v1/whoami', key);
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => whoami(instances[i % 3] as Instance, authorization)),
    );
    expect(tally(answers)).toEqual({ '200': 1, '401 nonce_reused': 999 });
  });

  it('refuses on B and C, in the very next request, a key revoked on A (admin API and CLI)', async () => {
    for (const how of ['api', 'cli'] as const) {
      const key = await newKey();
      const auth = basic(key.id, key.secret);
      // B and C verify it once: it is in their caches now.
      for (const i of [b(), c()]) expect((await whoami(i, auth)).status).toBe(200);
      if (how === 'api') {
        expect((await call(a().url, 'POST', `/v1/admin/keys/${key.id}/revoke`, { authorization: admin })).status).toBe(
          200,
        );
      } else {
        const run = await cli(['keys', 'revoke', key.id]);
        expect(run.code, run.out).toBe(0);
      }
      expect(tally(await Promise.all([b(), c()].map((i) => whoami(i, auth))))).toEqual({ '401 key_revoked': 2 });
    }
  });

  it('refuses on B and C a key disabled on A, and narrows there a key narrowed on A', async () => {
    const key = await newKey({ scopes: ['orders:read', 'orders:write'] });
    const auth = basic(key.id, key.secret);
    for (const i of [b(), c()]) expect(scopesOf(await whoami(i, auth))).toEqual(['orders:read', 'orders:write']);
    const narrowed = await call(a().url, 'PATCH', `/v1/admin/keys/${key.id}`, {
      authorization: admin,
      body: { scopes: ['orders:read'] },
    });
    expect(narrowed.status, JSON.stringify(narrowed.body)).toBe(200);
    for (const i of [b(), c()]) expect(scopesOf(await whoami(i, auth))).toEqual(['orders:read']);
    const disabled = await call(a().url, 'PATCH', `/v1/admin/keys/${key.id}`, {
      authorization: admin,
      body: { enabled: false },
    });
    expect(disabled.status).toBe(200);
    expect(tally(await Promise.all([b(), c()].map((i) => whoami(i, auth))))).toEqual({ '401 key_disabled': 2 });
  });

  it('refuses on B a session logged out on A, and the other sessions of a password changed on A', async () => {
    const email = `sessions-${redis ? 'r' : 'p'}@example.com`;
    expect((await call(a().url, 'POST', '/v1/accounts', { body: { email, password: PASSWORD } })).status).toBe(201);
    const login = async () => {
      const answer = await call(c().url, 'POST', '/v1/sessions', { body: { email, password: PASSWORD } });
      expect(answer.status).toBe(201);
      return `Bearer ${String(answer.body?.token)}`;
    };
    const first = await login();
    expect((await whoami(b(), first)).status).toBe(200);
    expect((await call(a().url, 'DELETE', '/v1/sessions/current', { authorization: first })).status).toBe(204);
    expect(tally([await whoami(b(), first)])).toEqual({ '401 session_invalid': 1 });

    const [changer, other] = [await login(), await login()];
    expect((await whoami(b(), other)).status).toBe(200);
    const changed = await call(a().url, 'POST', '/v1/account/password', {
      authorization: changer,
      body: { currentPassword: PASSWORD, newPassword: `${PASSWORD} and then some` },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(tally([await whoami(b(), other)])).toEqual({ '401 session_invalid': 1 });
  });

  it('admits N in all for a key limited to N per minute, and counts failures across the instances', async () => {
    const limited = await newKey({ rateLimit: { limit: 10, windowSeconds: 60 } });
    const auth = basic(limited.id, limited.secret);
    const answers: Answer[] = [];
    for (let i = 0; i < 30; i++) answers.push(await whoami(instances[i % 3] as Instance, auth));
    expect(tally(answers)).toEqual({ '200': 10, '429 rate_limited': 20 });

    // limits.failuresPerKey is 4 per minute: four wrong secrets in all, whichever instance.
    const target = await newKey();
    // A well-formed secret, another key's: a mangled one is refused before any lookup.
    const wrong = basic(target.id, (await newKey()).secret);
    const failures: Answer[] = [];
    for (let i = 0; i < 12; i++) failures.push(await whoami(instances[i % 3] as Instance, wrong));
    const counted = tally(failures);
    expect(counted['429 rate_limited'], JSON.stringify(counted)).toBe(8);
    expect(12 - (counted['429 rate_limited'] ?? 0)).toBe(4);
  });

  it('serves behind nginx with TLS, which alone sets X-Forwarded-*', async () => {
    const key = await newKey();
    const answers: Answer[] = [];
    for (let i = 0; i < 12; i++) {
      answers.push(
        await viaTls(origin, ca, '/v1/whoami', { headers: { authorization: signed(origin, '/v1/whoami', key) } }),
      );
    }
    expect(tally(answers)).toEqual({ '200': 12 });
    const replay = signed(origin, '/v1/whoami', key);
    const twice = [
      await viaTls(origin, ca, '/v1/whoami', { headers: { authorization: replay } }),
      await viaTls(origin, ca, '/v1/whoami', { headers: { authorization: replay } }),
    ];
    expect(tally(twice)).toEqual({ '200': 1, '401 nonce_reused': 1 });

    // A session is bound to the address it was issued to (sessionIpPolicy "revoke"). Claimed
    // addresses differ; the session still works: nginx replaced what the client claimed with
    // the address it saw, so the instances never saw either claim.
    const email = `edge-${redis ? 'r' : 'p'}@example.com`;
    const json = { 'content-type': 'application/json' };
    const registered = await viaTls(origin, ca, '/v1/accounts', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(registered.status).toBe(201);
    const login = await viaTls(origin, ca, '/v1/sessions', {
      method: 'POST',
      headers: { ...json, 'x-forwarded-for': '198.51.100.1' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(login.status).toBe(201);
    const use = await viaTls(origin, ca, '/v1/whoami', {
      headers: { authorization: `Bearer ${String(login.body?.token)}`, 'x-forwarded-for': '198.51.100.2' },
    });
    expect(use.status, JSON.stringify(use.body)).toBe(200);
  });
});
