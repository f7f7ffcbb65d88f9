// Observability over real sockets: one access-log line per request (fields, no secret, none when
// off), the metrics a Prometheus server scrapes (checked by promtool when it is installed), the
// failed authentications and requests per hour a key's owner and an admin read, and the gateway
// feeding the same counts and log.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatKeywardString, generateApiKey, identify } from '@keyward/core';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { ADMIN_SCOPE } from '../src/http/context.js';
import { asyncLogDestination, baseServerOptions, logRequests } from '../src/http/server-options.js';
import type { Account, IssuedKey } from '../src/store/index.js';
import { ENGINES } from './support/databases.js';
import { startTestGateway, startUpstream } from './support/gateway.js';
import { type Json, startTestServer, type TestServer } from './support/server.js';

const SECRET = /kw_(?:sk|key|at|st|ss)_[0-9A-Za-z]{40,}/;
const HOUR = 3_600_000;
const system = { type: 'system' as const };
const PROMTOOL = '/usr/bin/promtool';
const INVENTED = formatKeywardString('key_id', { id: '0123456789abcdefghijkl' });
// A well-formed secret that is not the key's.
const WRONG = generateApiKey().keySecret;

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** The parsed access-log lines (`msg: "request"`) of a server's log. */
function accessLines(logs: readonly string[]): Json[] {
  return logs.map((l) => JSON.parse(l) as Json).filter((l) => l.msg === 'request');
}

async function fixtures(t: TestServer) {
  const store = t.server.context.store;
  const made = async (email: string, role: 'admin' | 'member' = 'member'): Promise<Account> => {
    const a = await store.accounts.create({ email, password: 'correct horse battery', role }, system);
    if (!a.ok) throw new Error(a.code);
    return a.value;
  };
  const key = async (accountId: string, scopes: string[] = []): Promise<IssuedKey> => {
    const k = await store.keys.create(accountId, { name: 'k', scopes }, system);
    if (!k.ok) throw new Error(k.code);
    return k.value;
  };
  const session = async (accountId: string): Promise<string> => {
    const s = await store.sessions.create({ accountId, clientIp: '127.0.0.1' });
    if (!s.ok) throw new Error(s.code);
    return `Bearer ${s.value.token}`;
  };
  const admin = await made('root@example.com', 'admin');
  const ada = await made('ada@example.com');
  const bob = await made('bob@example.com');
  return {
    adminKey: await key(admin.id, [ADMIN_SCOPE]),
    adaKey: await key(ada.id),
    adaSession: await session(ada.id),
    bobSession: await session(bob.id),
  };
}

describe.each(ENGINES)('failed authentications and usage per hour on %s', (engine) => {
  let t: TestServer;
  let f: Awaited<ReturnType<typeof fixtures>>;
  const get = async (path: string, authorization: string) => {
    const res = await fetch(`${t.url}${path}`, { headers: { authorization } });
    return { status: res.status, body: (await res.json()) as Json };
  };

  beforeAll(async () => {
    t = await startTestServer(engine, {}, { frozen: true });
    f = await fixtures(t);
    // Two accepted calls, three refused (wrong secret), one naming a key that does not exist,
    // one without credentials.
    for (let i = 0; i < 2; i++)
      expect(
        (await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic(f.adaKey.id, f.adaKey.secret) } })).status,
      ).toBe(200);
    const wrong = basic(f.adaKey.id, WRONG);
    for (let i = 0; i < 3; i++)
      expect((await fetch(`${t.url}/v1/whoami`, { headers: { authorization: wrong } })).status).toBe(401);
    // A well-formed id (checksum and all) that no key has.
    const invented = basic(INVENTED, WRONG);
    expect((await fetch(`${t.url}/v1/whoami`, { headers: { authorization: invented } })).status).toBe(401);
    expect((await fetch(`${t.url}/v1/whoami`)).status).toBe(401);
    await t.server.context.store.outcomes.flush();
  });
  afterAll(async () => {
    const leaked = t?.logs.filter((line) => SECRET.test(line)) ?? [];
    await t?.close();
    expect(leaked).toEqual([]);
  });

  it("shows a key's owner its requests per hour by method, outcome and code, and hides other accounts' keys", async () => {
    const res = await get(`/v1/keys/${f.adaKey.id}/usage`, f.adaSession);
    expect(res.status).toBe(200);
    const hour = t.clock.t - (t.clock.t % HOUR);
    expect(res.body).toEqual({
      keyId: f.adaKey.id,
      from: hour + HOUR - 24 * HOUR,
      to: hour + HOUR,
      hours: [
        { hour, method: 'basic', outcome: 'accepted', code: null, count: 2 },
        { hour, method: 'basic', outcome: 'refused', code: 'key_unknown', count: 3 },
      ],
    });
    const week = await get(`/v1/keys/${f.adaKey.id}/usage?window=7d`, f.adaSession);
    expect(week.body.from).toBe(hour + HOUR - 7 * 24 * HOUR);
    expect(week.body.hours).toEqual(res.body.hours);
    for (const path of [`/v1/keys/${f.adaKey.id}/usage`, `/v1/keys/${f.adaKey.id}/refusals`]) {
      const other = await get(path, f.bobSession);
      expect(other.status, path).toBe(404);
      expect(other.body.error.code).toBe('key_not_found');
    }
    const bad = await get(`/v1/keys/${f.adaKey.id}/usage?window=1y`, f.adaSession);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_input');
    // A key cannot read it: the routes need a session.
    expect((await get(`/v1/keys/${f.adaKey.id}/usage`, basic(f.adaKey.id, f.adaKey.secret))).status).toBe(403);
  });

  it("shows a key's owner and an admin its refusals, with first and last seen and the addresses", async () => {
    const owner = await get(`/v1/keys/${f.adaKey.id}/refusals?limit=50`, f.adaSession);
    expect(owner.status).toBe(200);
    const hour = t.clock.t - (t.clock.t % HOUR);
    expect(owner.body).toEqual({
      keyId: f.adaKey.id,
      refusals: [
        {
          hour,
          method: 'basic',
          code: 'key_unknown',
          count: 3,
          firstSeen: t.clock.t,
          lastSeen: t.clock.t,
          addresses: ['127.0.0.1'],
        },
      ],
    });
    const admin = await get(`/v1/admin/keys/${f.adaKey.id}/refusals`, basic(f.adminKey.id, f.adminKey.secret));
    expect(admin.body).toEqual(owner.body);
    expect((await get('/v1/admin/keys/kw_kid_nope/refusals', basic(f.adminKey.id, f.adminKey.secret))).status).toBe(
      404,
    );
  });

  it('gives an admin every key together, and the refusals that named no existing key under keyId null', async () => {
    const auth = basic(f.adminKey.id, f.adminKey.secret);
    const all = await get('/v1/admin/usage?window=24h', auth);
    expect(all.status).toBe(200);
    const hour = t.clock.t - (t.clock.t % HOUR);
    expect(all.body.to).toBe(hour + HOUR);
    const find = (method: string, outcome: string, code: string | null) =>
      all.body.hours.find((h: Json) => h.method === method && h.outcome === outcome && h.code === code)?.count;
    expect(find('basic', 'accepted', null)).toBeGreaterThanOrEqual(2);
    expect(find('basic', 'refused', 'key_unknown')).toBe(4); // three for ada's key, one invented
    expect(find('none', 'refused', 'credentials_missing')).toBe(1);

    const refusals = await get('/v1/admin/refusals?limit=10', auth);
    expect(refusals.status).toBe(200);
    const keyed = refusals.body.refusals.filter((r: Json) => r.keyId === f.adaKey.id);
    expect(keyed).toHaveLength(1);
    const none = refusals.body.refusals.filter((r: Json) => r.keyId === null);
    expect(none.map((r: Json) => `${r.method}:${r.code}:${r.count}`).sort()).toEqual([
      'basic:key_unknown:1',
      'none:credentials_missing:1',
    ]);
    // Nothing names the invented id.
    expect(JSON.stringify(refusals.body)).not.toContain(INVENTED);
    const later = await get(`/v1/admin/refusals?since=${t.clock.t + 1}`, auth);
    expect(later.body).toEqual({ refusals: [] });
    for (const q of ['limit=0', 'limit=201', 'since=x', 'bogus=1']) {
      expect((await get(`/v1/admin/refusals?${q}`, auth)).status, q).toBe(400);
    }
  });

  it('keeps the from/to range of the admin key usage, and refuses it together with window', async () => {
    const auth = basic(f.adminKey.id, f.adminKey.secret);
    const hour = t.clock.t - (t.clock.t % HOUR);
    const ranged = await get(`/v1/admin/keys/${f.adaKey.id}/usage?from=${hour - 2 * HOUR}&to=${hour + 1}`, auth);
    expect(ranged.status).toBe(200);
    expect(ranged.body).toMatchObject({ keyId: f.adaKey.id, from: hour - 2 * HOUR, to: hour + HOUR });
    expect(ranged.body.hours).toHaveLength(2);
    const earlier = await get(`/v1/admin/keys/${f.adaKey.id}/usage?from=${hour - 2 * HOUR}&to=${hour}`, auth);
    expect(earlier.body.hours).toEqual([]);
    const both = await get(`/v1/admin/keys/${f.adaKey.id}/usage?window=7d&from=${hour}`, auth);
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe('invalid_input');
  });
});

describe('the access log', () => {
  let t: TestServer;
  let f: Awaited<ReturnType<typeof fixtures>>;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
    f = await fixtures(t);
  });
  afterAll(() => t?.close());

  /** The access-log line of the response (by its request id), awaiting the onResponse hook. */
  async function lineOf(res: Response): Promise<Json> {
    const reqId = res.headers.get('x-request-id');
    await res.arrayBuffer();
    const lines = () => accessLines(t.logs).filter((l) => l.reqId === reqId);
    await expect.poll(() => lines().length).toBe(1);
    return lines()[0];
  }

  it('writes one line per request, with the route, status, duration, auth method and key id', async () => {
    const before = t.logs.length;
    const res = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic(f.adaKey.id, f.adaKey.secret) } });
    expect(res.status).toBe(200);
    const line = await lineOf(res);
    expect(line).toMatchObject({
      level: 30,
      msg: 'request',
      method: 'GET',
      route: '/v1/whoami',
      path: '/v1/whoami',
      status: 200,
      remoteAddress: '127.0.0.1',
      authMethod: 'basic',
      keyId: f.adaKey.id,
    });
    expect(line.durationMs).toBeGreaterThan(0);
    expect(line.code).toBeUndefined();
    // Fastify's own two lines per request are gone.
    const messages = t.logs.slice(before).map((l) => JSON.parse(l).msg);
    expect(messages).not.toContain('incoming request');
    expect(messages).not.toContain('request completed');

    const ids = await fetch(`${t.url}/v1/keys/${f.adaKey.id}`, { headers: { authorization: f.adaSession } });
    expect(await lineOf(ids)).toMatchObject({ route: '/v1/keys/:id', path: `/v1/keys/${f.adaKey.id}`, status: 200 });
  });

  it('names the refusal code of a refused call, and the key it named', async () => {
    const res = await fetch(`${t.url}/v1/whoami`, {
      headers: { authorization: basic(f.adaKey.id, WRONG) },
    });
    expect(res.status).toBe(401);
    expect(await lineOf(res)).toMatchObject({
      status: 401,
      authMethod: 'basic',
      keyId: f.adaKey.id,
      code: 'key_unknown',
    });
    const forbidden = await fetch(`${t.url}/v1/admin/accounts`, {
      headers: { authorization: basic(f.adaKey.id, f.adaKey.secret) },
    });
    expect(forbidden.status).toBe(403);
    expect((await lineOf(forbidden)).code).toBe('insufficient_scope');
    const unmatched = await fetch(`${t.url}/nowhere`);
    expect(await lineOf(unmatched)).toMatchObject({ status: 404, path: '/nowhere', code: 'not_found' });
  });

  it('never writes the query string or a credential, whatever the request carries', async () => {
    const query = `api_key=${f.adaKey.token}&oauth_consumer_key=${f.adaKey.id}&oauth_signature=${f.adaKey.secret}`;
    const res = await fetch(`${t.url}/v1/whoami?${query}`, {
      headers: {
        'x-api-key': f.adaKey.token,
        authorization: basic(f.adaKey.id, f.adaKey.secret),
        cookie: `s=${f.adaKey.secret}`,
      },
    });
    expect(res.status).toBe(200);
    const line = await lineOf(res);
    expect(line.path).toBe('/v1/whoami');
    const text = JSON.stringify(line);
    for (const secret of [f.adaKey.secret, f.adaKey.token, 'oauth_signature', 'api_key'])
      expect(text).not.toContain(secret);
    // A bearer token in the header of a refused call: the method, never the token.
    const bearer = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: `Bearer ${f.adaKey.token}x` } });
    const refused = await lineOf(bearer);
    expect(refused).toMatchObject({ status: 401, authMethod: 'api-key' });
    expect(JSON.stringify(refused)).not.toContain(f.adaKey.secret);
  });

  it("counts the OAuth token endpoint's client authentication too, per key", async () => {
    const token = (secret: string) =>
      fetch(`${t.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: basic(f.adaKey.id, secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
    expect((await token(f.adaKey.secret)).status).toBe(200);
    const refused = await token(WRONG);
    expect(refused.status).toBe(401);
    await t.server.context.store.outcomes.flush();
    const rawKeyId = identify(f.adaKey.id)?.id as string;
    const hours = await t.server.context.store.outcomes.keyHours(rawKeyId, 0, Date.now() + HOUR);
    expect(hours.filter((h) => h.method === 'oauth2').map((h) => [h.outcome, h.code, h.count])).toEqual([
      ['accepted', null, 1],
      ['refused', 'key_unknown', 1],
    ]);
  });

  it('writes no line with KEYWARD_ACCESS_LOG=off', async () => {
    const quiet = await startTestServer('sqlite', { accessLog: 'off' });
    try {
      for (let i = 0; i < 3; i++) expect((await fetch(`${quiet.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${quiet.url}/v1/whoami`)).status).toBe(401);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(accessLines(quiet.logs)).toEqual([]);
      expect(quiet.logs.filter((l) => /request completed|incoming request/.test(l))).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});

describe('metrics', () => {
  let t: TestServer;
  let text: string;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
    const f = await fixtures(t);
    await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic(f.adaKey.id, f.adaKey.secret) } });
    await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic(f.adaKey.id, 'wrong') } });
    await fetch(`${t.url}/v1/whoami`);
    await fetch(`${t.url}/healthz`);
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    text = await res.text();
  });
  afterAll(() => t?.close());

  it('counts verifications by method, outcome and code, with code "none" when accepted', () => {
    expect(text).toMatch(/^keyward_verifications_total\{method="basic",outcome="accepted",code="none"\} 1$/m);
    expect(text).toMatch(/^keyward_verifications_total\{method="basic",outcome="refused",code="malformed_token"\} 1$/m);
    expect(text).toMatch(
      /^keyward_verifications_total\{method="none",outcome="refused",code="credentials_missing"\} 1$/m,
    );
  });

  it('has the standard process and Node.js metrics, unprefixed, and no gauge named _total', () => {
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds'])
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    expect(text).not.toContain('keyward_process_');
    const gauges = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((m) => m[1] as string);
    expect(gauges.filter((g) => g.endsWith('_total'))).toEqual([]);
    // No key id in any label: labels stay bounded.
    expect(text).not.toMatch(/kw_kid_/);
  });

  const promtool = existsSync(PROMTOOL);
  if (!promtool)
    console.warn(`skipping the promtool check: ${PROMTOOL} is not installed (Debian: apt install prometheus)`);
  it.skipIf(!promtool)('passes promtool check metrics', () => {
    const checked = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${checked.stdout}${checked.stderr}`).toBe('');
    expect(checked.status).toBe(0);
  });
});

describe('the gateway', () => {
  it('writes the same access line and counts its verifications per key', async () => {
    const t = await startTestServer('sqlite', {}, { frozen: true });
    const upstream = await startUpstream();
    const gw = await startTestGateway(t.server.context.store, { upstream: upstream.url });
    try {
      const f = await fixtures(t);
      const ok = await fetch(`${gw.url}/orders?page=2&api_key=${f.adaKey.token}`, {
        headers: { authorization: basic(f.adaKey.id, f.adaKey.secret) },
      });
      expect(ok.status).toBe(200);
      const refused = await fetch(`${gw.url}/orders`, { headers: { authorization: basic(f.adaKey.id, 'nope') } });
      expect(refused.status).toBe(401);
      await expect.poll(() => accessLines(gw.logs).length).toBe(2);
      const [a, b] = accessLines(gw.logs);
      expect(a).toMatchObject({ method: 'GET', path: '/orders', status: 200, authMethod: 'basic', keyId: f.adaKey.id });
      expect(b).toMatchObject({ path: '/orders', status: 401, authMethod: 'basic', code: 'malformed_token' });
      expect(gw.logs.join('\n')).not.toContain(f.adaKey.token);
      await t.server.context.store.outcomes.flush();
      const hours = await t.server.context.store.outcomes.allHours(0, t.clock.t + HOUR);
      expect(hours.map((h) => `${h.method}:${h.outcome}:${h.code}:${h.count}`)).toEqual([
        'basic:accepted:null:1',
        'basic:refused:malformed_token:1',
      ]);
    } finally {
      await gw.close();
      await upstream.close();
      await t.close();
    }
  });
});

describe('the log setting and destination', () => {
  it('has the access log on by default, off with KEYWARD_ACCESS_LOG=off, and refuses anything else', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'keyward-access-log-'));
    try {
      expect(loadConfig({ env: {}, cwd }).accessLog).toBe('on');
      expect(loadConfig({ env: { KEYWARD_ACCESS_LOG: 'off' }, cwd }).accessLog).toBe('off');
      expect(() => loadConfig({ env: { KEYWARD_ACCESS_LOG: 'verbose' }, cwd })).toThrow(/KEYWARD_ACCESS_LOG/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('writes through the asynchronous destination and has every line out when the app closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-async-log-'));
    try {
      const file = join(dir, 'log');
      const config = loadConfig({ env: {}, cwd: dir });
      const destination = asyncLogDestination(openSync(file, 'a'));
      const app = Fastify(baseServerOptions(config, { level: 'info', stream: destination }));
      logRequests(app, config);
      app.get('/x/:id', async () => ({ ok: true }));
      for (let i = 0; i < 200; i++) expect((await app.inject(`/x/${i}?api_key=secret`)).statusCode).toBe(200);
      await app.close();
      // Read before the destination ends (ending flushes too).
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Json);
      const access = lines.filter((l) => l.msg === 'request');
      expect(access).toHaveLength(200);
      expect(access[199]).toMatchObject({ route: '/x/:id', path: '/x/199', status: 200 });
      expect(lines.filter((l) => l.msg !== 'request').map((l) => l.msg)).not.toContain('incoming request');
      await new Promise((resolve) => {
        destination.once('close', resolve);
        destination.end();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loses no buffered line when the process exits (pino flushes an asynchronous destination on exit)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-exit-log-'));
    try {
      const file = join(dir, 'log');
      // The destination Keyward uses (asyncLogDestination's options), then process.exit at once.
      const script = `import { openSync } from 'node:fs';
        import pino from 'pino';
        const log = pino(pino.destination({ dest: openSync(process.argv[1], 'a'), sync: false, minLength: 4096, periodicFlush: 1000 }));
        for (let i = 0; i < 20000; i++) log.info({ i }, 'request');
        process.exit(0);`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, file], {
        cwd: new URL('..', import.meta.url).pathname,
        encoding: 'utf8',
        timeout: 15_000,
      });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(20000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
