// `keyward gateway` in front of an echo upstream, on a real server's store: every method
// accepted with the identity at the upstream, every route rule of the README's routes file,
// spoofed identity and credentials stripped, refusals as the server's, form bodies forwarded
// byte for byte, a WebSocket echo after authentication, 413, 502 and 504.
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { type Auth, createClient, login } from '@keyward/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedKey } from '../src/store/index.js';
import {
  type Echo,
  readmeRoutes,
  rulesFrom,
  startTestGateway,
  startUpstream,
  type TestGateway,
  type Upstream,
  wsAccept,
  wsFrame,
  wsText,
} from './support/gateway.js';
import { freePort } from './support/ports.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery staple';
const actor = { type: 'system' } as const;

let t: TestServer;
let upstream: Upstream;
let open: TestGateway;
let ruled: TestGateway;
let routes: ReturnType<typeof rulesFrom>;
let accountId: string;
let email: string;
/** Scopes read:orders and write:orders. */
let writer: IssuedKey;
/** Scope read:orders only. */
let reader: IssuedKey;

const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

async function echoOf(res: Response): Promise<Echo> {
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('x-upstream')).toBe('yes');
  return (await res.json()) as Echo;
}

function basic(key: IssuedKey): string {
  return `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}`;
}

function client(gateway: TestGateway, auth: Auth) {
  return createClient({ baseUrl: gateway.url, auth });
}

beforeAll(async () => {
  t = await startTestServer('sqlite');
  upstream = await startUpstream();
  const { store } = t.server.context;
  email = `gateway-${Date.now()}@example.com`;
  const account = await store.accounts.create({ email, password: PASSWORD }, actor);
  if (!account.ok) throw new Error(account.code);
  accountId = account.value.id;
  const make = async (scopes: string[]) => {
    const key = await store.keys.create(accountId, { name: 'gateway', scopes }, actor);
    if (!key.ok) throw new Error(key.code);
    return key.value;
  };
  writer = await make(['read:orders', 'write:orders']);
  reader = await make(['read:orders']);
  routes = rulesFrom(readmeRoutes());
  open = await startTestGateway(store, { upstream: upstream.url });
  ruled = await startTestGateway(store, {
    upstream: upstream.url,
    rules: routes.rules,
    config: { gatewayBodyLimitBytes: 64 * 1024 },
  });
}, 60_000);

afterAll(async () => {
  await open?.close();
  await ruled?.close();
  await upstream?.close();
  routes?.cleanup();
  await t?.close();
});

function expectIdentity(echo: Echo, method: string, key?: IssuedKey) {
  expect(echo.headers['keyward-account']).toBe(accountId);
  expect(echo.headers['keyward-method']).toBe(method);
  if (key !== undefined) {
    expect(echo.headers['keyward-key']).toBe(key.id);
    expect(echo.headers['keyward-scopes']).toBe('read:orders write:orders');
  }
  // The secret never reaches the upstream.
  expect(echo.headers.authorization).toBeUndefined();
}

describe('every method is accepted, with the identity at the upstream', () => {
  it('HTTP Basic, with the path and query forwarded as sent', async () => {
    const res = await fetch(`${open.url}/anything/here?a=1&b=%20x`, { headers: { authorization: basic(writer) } });
    const echo = await echoOf(res);
    expect(echo.method).toBe('GET');
    expect(echo.url).toBe('/anything/here?a=1&b=%20x');
    expectIdentity(echo, 'basic', writer);
  });

  it('API key token', async () => {
    const echo = await echoOf(await client(open, { type: 'api-key', token: writer.token })('/k'));
    expectIdentity(echo, 'api-key', writer);
  });

  it('OAuth 2.0 access token issued by the server', async () => {
    const api = client(open, {
      type: 'client-credentials',
      tokenUrl: `${t.url}/oauth/token`,
      clientId: writer.id,
      clientSecret: writer.secret,
    });
    const echo = await echoOf(await api('/o2'));
    expectIdentity(echo, 'oauth2', writer);
  });

  it('OAuth 1.0a: a GET, and a form-signed POST whose body reaches the upstream byte for byte', async () => {
    const api = client(open, { type: 'oauth1', consumerKey: writer.id, consumerSecret: writer.secret });
    expectIdentity(await echoOf(await api('/o1?x=%2F')), 'oauth1', writer);
    const form = 'b=2&a=%C3%A9t%C3%A9&a=1&empty=&plus=a+b';
    const res = await api('/o1/form', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: form,
    });
    const echo = await echoOf(res);
    expectIdentity(echo, 'oauth1', writer);
    expect(echo.sha256).toBe(sha256(form));
    expect(echo.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(echo.headers['content-length']).toBe(String(Buffer.byteLength(form)));
  });

  it('a session and a signed session from a login at the server', async () => {
    const plain = await login({ baseUrl: t.url, email, password: PASSWORD });
    const echo = await echoOf(await client(open, plain.auth)('/s'));
    expectIdentity(echo, 'session');
    expect(echo.headers['keyward-session']).toBe(plain.session.id);
    const signed = await login({ baseUrl: t.url, email, password: PASSWORD, signed: true });
    const api = client(open, signed.auth);
    expectIdentity(await echoOf(await api('/ss')), 'signed-session');
    const body = JSON.stringify({ order: 7 });
    const posted = await echoOf(await api('/ss', { method: 'POST', body }));
    expect(posted.sha256).toBe(sha256(body));
  });
});

describe('refusals are the server’s', () => {
  it('no credential: the same 401, code and challenges as the server', async () => {
    const [atGateway, atServer] = await Promise.all([fetch(`${open.url}/x`), fetch(`${t.url}/v1/whoami`)]);
    expect(atGateway.status).toBe(401);
    expect(atGateway.status).toBe(atServer.status);
    expect(atGateway.headers.get('www-authenticate')).toBe(atServer.headers.get('www-authenticate'));
    expect(atGateway.headers.get('www-authenticate')).toContain('Basic realm="keyward"');
    const body = (await atGateway.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe(((await atServer.json()) as { error: { code: string } }).error.code);
    expect(body.error.requestId).toBe(atGateway.headers.get('x-request-id'));
    expect(upstream.seen.some((e) => e.url === '/x')).toBe(false);
  });

  it('a wrong secret: 401 and nothing forwarded, the upload not read', async () => {
    const wrong = `Basic ${Buffer.from(`${writer.id}:kw_sk_wrong`).toString('base64')}`;
    const res = await fetch(`${open.url}/nope`, {
      method: 'POST',
      headers: { authorization: wrong },
      body: 'x'.repeat(1000),
    });
    expect(res.status).toBe(401);
    expect(upstream.seen.some((e) => e.url === '/nope')).toBe(false);
  });
});

describe('headers the upstream trusts', () => {
  it('strips spoofed identity headers, with and without a credential', async () => {
    const spoof = {
      'Keyward-Account': 'acc_evil',
      'keyward-key': 'kw_kid_evil',
      'Keyward-Scopes': 'admin',
      'Keyward-Method': 'basic',
      'Keyward-Session': 'sess_evil',
    };
    const echo = await echoOf(
      await fetch(`${open.url}/spoof`, { headers: { ...spoof, authorization: basic(reader) } }),
    );
    expect(echo.headers['keyward-account']).toBe(accountId);
    expect(echo.headers['keyward-key']).toBe(reader.id);
    expect(echo.headers['keyward-scopes']).toBe('read:orders');
    expect(echo.headers['keyward-session']).toBeUndefined();
    const pub = await echoOf(await fetch(`${ruled.url}/health`, { headers: spoof }));
    for (const name of Object.keys(spoof)) expect(pub.headers[name.toLowerCase()]).toBeUndefined();
  });

  it('strips Authorization, Cookie and X-API-Key by default, public routes included', async () => {
    const echo = await echoOf(
      await fetch(`${ruled.url}/health/live`, {
        headers: { authorization: basic(writer), cookie: 'sid=1', 'x-api-key': writer.token, 'x-other': 'kept' },
      }),
    );
    expect(echo.headers.authorization).toBeUndefined();
    expect(echo.headers.cookie).toBeUndefined();
    expect(echo.headers['x-api-key']).toBeUndefined();
    expect(echo.headers['x-other']).toBe('kept');
    expect(echo.headers['keyward-account']).toBeUndefined();
  });
});

describe('the README routes file', () => {
  it('public: forwarded without a credential', async () => {
    const echo = await echoOf(await fetch(`${ruled.url}/health`));
    expect(echo.url).toBe('/health');
  });

  it('scopes: read with read:orders; write needs write:orders (403 with the challenge)', async () => {
    const api = client(ruled, { type: 'api-key', token: reader.token });
    expectIdentity(await echoOf(await api('/orders/7')), 'api-key');
    const res = await api('/orders', { method: 'POST', body: '{}' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('insufficient_scope');
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope", scope="write:orders"');
    const ok = await client(ruled, { type: 'api-key', token: writer.token })('/orders', { method: 'POST', body: '{}' });
    expect((await echoOf(ok)).method).toBe('POST');
  });

  it('auth methods restricted and requireBodyHash: /signed takes OAuth 1.0a with a body hash only', async () => {
    const viaBasic = await fetch(`${ruled.url}/signed`, { headers: { authorization: basic(writer) } });
    expect(viaBasic.status).toBe(401);
    expect(((await viaBasic.json()) as { error: { code: string } }).error.code).toBe('scheme_unsupported');
    const body = JSON.stringify({ amount: 12 });
    const unhashed = client(ruled, {
      type: 'oauth1',
      consumerKey: writer.id,
      consumerSecret: writer.secret,
      bodyHash: false,
    });
    const refused = await unhashed('/signed', { method: 'POST', body });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('body_hash_missing');
    const hashed = client(ruled, { type: 'oauth1', consumerKey: writer.id, consumerSecret: writer.secret });
    const echo = await echoOf(await hashed('/signed', { method: 'POST', body }));
    expect(echo.sha256).toBe(sha256(body));
    expectIdentity(echo, 'oauth1', writer);
  });

  it('unmatched: 403 route_not_allowed, nothing forwarded', async () => {
    const res = await fetch(`${ruled.url}/admin/secrets`, { headers: { authorization: basic(writer) } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('route_not_allowed');
    // GET /upload has no rule (the rule is for PUT).
    expect((await fetch(`${ruled.url}/upload`, { headers: { authorization: basic(writer) } })).status).toBe(403);
    expect(upstream.seen.some((e) => e.url.startsWith('/admin'))).toBe(false);
  });

  it('passCredentials: /legacy gets the Authorization header as well as the identity', async () => {
    const echo = await echoOf(await fetch(`${ruled.url}/legacy/x`, { headers: { authorization: basic(writer) } }));
    expect(echo.headers.authorization).toBe(basic(writer));
    expect(echo.headers['keyward-key']).toBe(writer.id);
  });

  it('a form body over gatewayBodyLimitBytes is refused with 413 in the one shape', async () => {
    const api = client(ruled, { type: 'oauth1', consumerKey: writer.id, consumerSecret: writer.secret });
    const res = await api('/signed', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `a=${'x'.repeat(70 * 1024)}`,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('body_too_large');
  });
});

describe('the upstream', () => {
  it('down: 502 upstream_unavailable', async () => {
    const port = await freePort();
    const g = await startTestGateway(t.server.context.store, { upstream: `http://127.0.0.1:${port}` });
    try {
      const res = await fetch(`${g.url}/x`, { headers: { authorization: basic(writer) } });
      expect(res.status).toBe(502);
      const body = (await res.json()) as { error: { code: string; requestId: string } };
      expect(body.error.code).toBe('upstream_unavailable');
      expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    } finally {
      await g.close();
    }
  });

  it('never answering: 504 upstream_timeout within the configured timeout', async () => {
    const g = await startTestGateway(t.server.context.store, { upstream: upstream.url, upstreamTimeoutMs: 300 });
    try {
      const started = Date.now();
      const res = await fetch(`${g.url}/hang`, { headers: { authorization: basic(writer) } });
      const took = Date.now() - started;
      expect(res.status).toBe(504);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(3000);
    } finally {
      await g.close();
    }
  });
});

/** A WebSocket handshake to the gateway; resolves with the status and, on 101, the socket. */
function wsConnect(url: string, headers: Record<string, string>) {
  const key = Buffer.from('0123456789abcdef').toString('base64');
  return new Promise<{ status: number; accept?: string; socket?: import('node:net').Socket; body?: string }>(
    (resolve, reject) => {
      const req = httpRequest(url, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': key,
          ...headers,
        },
      });
      req.on('upgrade', (res, socket) =>
        resolve({ status: res.statusCode ?? 0, accept: String(res.headers['sec-websocket-accept']), socket }),
      );
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('WebSocket upgrades', () => {
  it('echo after authentication, with the identity at the upstream and the credential stripped', async () => {
    const { status, accept, socket } = await wsConnect(`${ruled.url}/ws/chat`, {
      authorization: basic(writer),
      'keyward-account': 'acc_evil',
    });
    expect(status).toBe(101);
    expect(accept).toBe(wsAccept(Buffer.from('0123456789abcdef').toString('base64')));
    const reply = new Promise<Buffer>((resolve) => socket?.once('data', resolve));
    socket?.write(wsFrame('hello', true));
    expect(wsText(await reply)).toBe('echo: hello');
    socket?.destroy();
    const seen = upstream.seen.find((e) => e.url === '/ws/chat');
    expect(seen?.headers['keyward-account']).toBe(accountId);
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it('refused without a credential (401 with challenges), never reaching the upstream', async () => {
    const { status, body } = await wsConnect(`${ruled.url}/ws/anon`, {});
    expect(status).toBe(401);
    expect(JSON.parse(body ?? '{}').error.code).toBe('credentials_missing');
    expect(upstream.seen.some((e) => e.url === '/ws/anon')).toBe(false);
  });
});

describe('beside a server in one process (serve with a gateway upstream)', () => {
  it("shares the server's failure limits: failures at either listener count once", async () => {
    const limits = { failuresPerIp: { limit: 3, windowSeconds: 60 } };
    const server = await startTestServer('sqlite', { limits });
    const { store, nonces, limiter } = server.server.context;
    const gateway = await startTestGateway(store, {
      upstream: upstream.url,
      config: { limits },
      shared: { nonces, limiter },
    });
    try {
      const account = await store.accounts.create(
        { email: `shared-${Date.now()}@example.com`, password: PASSWORD },
        actor,
      );
      if (!account.ok) throw new Error(account.code);
      const key = await store.keys.create(account.value.id, { name: 'shared' }, actor);
      if (!key.ok) throw new Error(key.code);
      const wrong = `Basic ${Buffer.from(`${key.value.id}:${reader.secret}`).toString('base64')}`;
      for (let i = 0; i < 2; i++)
        expect((await fetch(gateway.url, { headers: { authorization: wrong } })).status).toBe(401);
      expect((await fetch(`${server.url}/v1/whoami`, { headers: { authorization: wrong } })).status).toBe(401);
      // The fourth failure from this address, wherever it lands, is over the one limit of 3.
      const fourth = await fetch(`${server.url}/v1/whoami`, { headers: { authorization: wrong } });
      expect(fourth.status).toBe(429);
      expect(((await fourth.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      // The right secret still passes at both.
      expect((await fetch(gateway.url, { headers: { authorization: basic(key.value) } })).status).toBe(200);
      expect((await fetch(`${server.url}/v1/whoami`, { headers: { authorization: basic(key.value) } })).status).toBe(
        200,
      );
    } finally {
      await gateway.close();
      await server.close();
    }
  });
});
