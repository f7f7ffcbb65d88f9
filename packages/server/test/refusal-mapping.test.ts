// The one refusal mapping, end to end: the `WWW-Authenticate` challenges of 401, 403 and 400
// through every adapter and the server's routes. RFC 7235 §4.1: a 401 names every enabled scheme;
// RFC 6750 §3.1: the Bearer challenge carries no error without a token, `invalid_token` for a bad
// one, `insufficient_scope` with `scope` on a 403; OAuth Problem Reporting: `oauth_problem` (and
// its companions) on every OAuth 1.0a 400 and 401. A custom realm is used everywhere: on the
// verifier (`realm`), and on the server through its configuration (`realm` in keyward.config.json,
// `KEYWARD_REALM`).
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from '@keyward/core';
import express from 'express';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import passportModule from 'passport';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import {
  createKeyward,
  expressMiddleware,
  fetchHandler,
  KeywardStrategy,
  keywardFastify,
  passportRefusalHandler,
  requireScopes,
  type VerifyRequest,
} from '../src/index.js';
import { type Json, json, newAccount, newClient, requestToken, type TestClient } from './support/oauth.js';
import { startTestServer, type TestServer } from './support/server.js';
import { basic, type Harness, harness, request, signed } from './support/verifier.js';

// Per-route scopes through `passport.authenticate(name, { scopes })`.
declare module 'passport' {
  interface AuthenticateOptions {
    scopes?: readonly string[] | undefined;
  }
}

/** Every `WWW-Authenticate` challenge of a response, however its values were joined. */
function challengesOf(value: string | readonly string[] | number | null | undefined): string[] {
  if (value === null || value === undefined || typeof value === 'number') return [];
  const joined = typeof value === 'string' ? value : value.join(', ');
  // Each of our challenges starts with `<scheme> realm=`; split before every such start.
  return joined.split(/, (?=[A-Za-z][A-Za-z0-9-]* realm=)/);
}

/** The challenges a 401 names when every built-in scheme is enabled; `bearer`/`oauth` add details. */
function all401(realm: string, details: { bearer?: string; oauth?: string } = {}): string[] {
  return [
    `Basic realm="${realm}", charset="UTF-8"`,
    `Bearer realm="${realm}"${details.bearer ?? ''}`,
    `OAuth realm="${realm}"${details.oauth ?? ''}`,
  ];
}

interface Answer {
  readonly status: number;
  readonly challenges: string[];
  readonly body: Json;
}

/** One way of protecting `/any` (no scope) and `/scoped` (scope `write:orders`). */
interface Driver {
  get(path: '/any' | '/scoped', headers?: Record<string, string>): Promise<Answer>;
}

const SCOPE = 'write:orders';

describe('the refusal mapping through every adapter', () => {
  let h: Harness;
  const stops: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await h.cleanup();
  });

  function keywardFor(realm: string | undefined, methods?: readonly string[]) {
    return createKeyward({
      store: h.store,
      nonces: h.nonces,
      origin: 'http://127.0.0.1',
      clock: { now: () => h.clock.t },
      onError: () => {},
      ...(realm === undefined ? {} : { realm }),
      ...(methods === undefined ? {} : { methods }),
    });
  }

  async function overHttp(app: express.Express): Promise<Driver> {
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      async get(path, headers = {}) {
        const res = await fetch(url + path, { headers });
        const text = await res.text();
        return {
          status: res.status,
          challenges: challengesOf(res.headers.get('www-authenticate')),
          body: text.startsWith('{') ? JSON.parse(text) : text,
        };
      },
    };
  }

  function injected(app: FastifyInstance): Driver {
    stops.push(() => app.close());
    return {
      async get(path, headers = {}) {
        const res = await app.inject({ method: 'GET', url: path, headers } as InjectOptions);
        return { status: res.statusCode, challenges: challengesOf(res.headers['www-authenticate']), body: res.json() };
      },
    };
  }

  const ok = (_req: unknown, res: express.Response) => {
    res.json({ ok: true });
  };

  /** Every adapter and guard, on a verifier in `realm` (default realm when undefined). */
  const DRIVERS: Record<string, (realm: string | undefined, methods?: readonly string[]) => Promise<Driver>> = {
    'Express: expressMiddleware(verifier, { scopes })': (realm, methods) => {
      const { verifier } = keywardFor(realm, methods);
      const app = express();
      app.get('/any', expressMiddleware(verifier), ok);
      app.get('/scoped', expressMiddleware(verifier, { scopes: [SCOPE] }), ok);
      return overHttp(app);
    },
    'Express: requireScopes(verifier, scopes)': (realm, methods) => {
      const { verifier } = keywardFor(realm, methods);
      const app = express();
      app.use(expressMiddleware(verifier));
      app.get('/any', ok);
      app.get('/scoped', requireScopes(verifier, [SCOPE]), ok);
      return overHttp(app);
    },
    'Express: keyward.requireScopes(...)': (realm, methods) => {
      const keyward = keywardFor(realm, methods);
      const app = express();
      app.use(keyward.express());
      app.get('/any', ok);
      app.get('/scoped', keyward.requireScopes(SCOPE), ok);
      return overHttp(app);
    },
    'Fastify: protect({ scopes })': async (realm, methods) => {
      const { verifier } = keywardFor(realm, methods);
      const app = Fastify();
      await app.register(keywardFastify, { verifier });
      app.get('/any', { preValidation: app.keyward.protect() }, async () => ({ ok: true }));
      app.get('/scoped', { preValidation: app.keyward.protect({ scopes: [SCOPE] }) }, async () => ({ ok: true }));
      return injected(app);
    },
    'Fastify: a scope hook after protect() (keyward.fastify())': async (realm, methods) => {
      const keyward = keywardFor(realm, methods);
      const app = Fastify();
      await app.register(keyward.fastify());
      await app.register(async (scope) => {
        scope.addHook('preValidation', scope.keyward.protect());
        scope.get('/any', async () => ({ ok: true }));
        // Verified once by the scope's hook: this one only checks the scope.
        scope.get('/scoped', { preHandler: scope.keyward.protect({ scopes: [SCOPE] }) }, async () => ({ ok: true }));
      });
      return injected(app);
    },
    'fetch: fetchHandler({ scopes })': async (realm, methods) => {
      const keyward = keywardFor(realm, methods);
      const connection = () => ({ remoteAddress: '127.0.0.1' });
      const any = keyward.fetchHandler(() => Response.json({ ok: true }), { connection });
      const scoped = fetchHandler(keyward.verifier, () => Response.json({ ok: true }), { connection, scopes: [SCOPE] });
      return {
        async get(path, headers = {}) {
          const res = await (path === '/any' ? any : scoped)(new Request(`http://127.0.0.1${path}`, { headers }));
          return {
            status: res.status,
            challenges: challengesOf(res.headers.get('www-authenticate')),
            body: (await res.json()) as Json,
          };
        },
      };
    },
    'Passport: failWithError + passportRefusalHandler': (realm, methods) => {
      const { verifier } = keywardFor(realm, methods);
      const passport = new passportModule.Passport();
      passport.use(new KeywardStrategy({ verifier }));
      const app = express();
      app.use(passport.initialize());
      app.get('/any', passport.authenticate('oauth', { session: false, failWithError: true }), ok);
      app.get('/scoped', passport.authenticate('oauth', { session: false, failWithError: true, scopes: [SCOPE] }), ok);
      app.use(passportRefusalHandler());
      return overHttp(app);
    },
  };

  describe.each(Object.keys(DRIVERS))('%s', (name) => {
    const driver = (realm?: string, methods?: readonly string[]) => {
      const make = DRIVERS[name];
      if (make === undefined) throw new Error(name);
      return make(realm, methods);
    };

    describe.each([undefined, 'orders-api'])('realm %s', (configured) => {
      const realm = configured ?? 'keyward';

      it('no credentials: 401 naming every enabled scheme, the Bearer one without an error', async () => {
        const d = await driver(configured);
        const res = await d.get('/any');
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ error: { code: 'credentials_missing' } });
        expect(res.challenges).toEqual(all401(realm));
        const scoped = await d.get('/scoped');
        expect(scoped.status).toBe(401);
        expect(scoped.challenges).toEqual(all401(realm));
      });

      it('a bad bearer token: 401, Bearer error="invalid_token"; the others without details', async () => {
        const d = await driver(configured);
        const stranger = generateApiKey();
        for (const token of [stranger.token, 'not-a-keyward-token', `kw_at_${'x'.repeat(60)}`]) {
          const res = await d.get('/any', { authorization: `Bearer ${token}` });
          expect(res.status, token).toBe(401);
          expect(res.challenges, token).toEqual(all401(realm, { bearer: ', error="invalid_token"' }));
        }
      });

      it('a bearer token lacking a scope: 403 Bearer error="insufficient_scope" with scope', async () => {
        const d = await driver(configured);
        const res = await d.get('/scoped', { authorization: `Bearer ${h.key.token}` });
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ error: { code: 'insufficient_scope' } });
        expect(res.challenges).toEqual([`Bearer realm="${realm}", error="insufficient_scope", scope="${SCOPE}"`]);
        // With the scope, the same token gets through.
        expect((await d.get('/any', { authorization: `Bearer ${h.key.token}` })).status).toBe(200);
      });

      it('Basic: a wrong secret is a 401 with no details anywhere; a missing scope a 403 with no challenge', async () => {
        const d = await driver(configured);
        const other = await h.newKey();
        const wrong = await d.get('/any', { authorization: basic(h.key.id, other.secret) });
        expect(wrong.status).toBe(401);
        expect(wrong.body).toMatchObject({ error: { code: 'key_unknown' } });
        expect(wrong.challenges).toEqual(all401(realm));
        expect(wrong.challenges.join(' ')).not.toMatch(/oauth_problem|error=/);

        const scoped = await d.get('/scoped', { authorization: basic(h.key.id, h.key.secret) });
        expect(scoped.status).toBe(403);
        expect(scoped.body).toMatchObject({ error: { code: 'insufficient_scope' } });
        expect(scoped.challenges).toEqual([]);
      });
    });

    it("methods: ['basic'] → only the Basic challenge, a bearer token is scheme_unsupported", async () => {
      const d = await driver('orders-api', ['basic']);
      const none = await d.get('/any');
      expect(none.status).toBe(401);
      expect(none.challenges).toEqual(['Basic realm="orders-api", charset="UTF-8"']);
      const bearer = await d.get('/any', { authorization: `Bearer ${h.key.token}` });
      expect(bearer.status).toBe(401);
      expect(bearer.body).toMatchObject({ error: { code: 'scheme_unsupported' } });
      expect(bearer.challenges).toEqual(['Basic realm="orders-api", charset="UTF-8"']);
      expect((await d.get('/any', { authorization: basic(h.key.id, h.key.secret) })).status).toBe(200);
    });
  });

  it("Passport's own failure response keeps every challenge of a 401 in its realm", async () => {
    const passport = new passportModule.Passport();
    passport.use(new KeywardStrategy({ verifier: keywardFor('orders-api').verifier }));
    const app = express();
    app.use(passport.initialize());
    app.get('/any', passport.authenticate('oauth', { session: false }), ok);
    const d = await overHttp(app);
    const none = await d.get('/any');
    expect(none.status).toBe(401);
    expect(none.challenges).toEqual(all401('orders-api'));
    const bad = await d.get('/any', { authorization: 'Bearer not-a-keyward-token' });
    expect(bad.status).toBe(401);
    expect(bad.challenges).toEqual(all401('orders-api', { bearer: ', error="invalid_token"' }));
  });

  it('a realm with a quote is refused when the verifier is built', () => {
    expect(() => keywardFor('say "hi"')).toThrow(TypeError);
  });
});

describe('OAuth 1.0a: oauth_problem on every 400 and 401', () => {
  let h: Harness;
  let app: FastifyInstance;

  beforeEach(async () => {
    h = await harness();
    app = Fastify();
    await app.register(keywardFastify, { verifier: h.verifier });
    app.get('/v1/orders', { preValidation: app.keyward.protect() }, async (r) => r.keyward);
    app.post('/v1/orders', { preValidation: app.keyward.protect() }, async (r) => r.keyward);
    app.post('/v1/strict', { preValidation: app.keyward.protect({ requireBodyHash: true }) }, async (r) => r.keyward);
    app.get('/v1/write', { preValidation: app.keyward.protect({ scopes: [SCOPE] }) }, async (r) => r.keyward);
  });
  afterEach(async () => {
    await app.close();
    await h.cleanup();
  });

  /** Sends a request built for the verifier through Fastify. */
  async function send(req: VerifyRequest): Promise<Answer> {
    const res = await app.inject({
      method: req.method as InjectOptions['method'],
      url: req.url,
      headers: req.headers as Record<string, string>,
      ...(req.body === undefined ? {} : { payload: req.body as string }),
    });
    return { status: res.statusCode, challenges: challengesOf(res.headers['www-authenticate']), body: res.json() };
  }

  const withAuth = (req: VerifyRequest, authorization: string): VerifyRequest => ({
    ...req,
    headers: { ...req.headers, authorization },
  });

  /** A 400: only the OAuth challenge, with the problem. */
  function expect400(res: Answer, code: string, oauth: string): void {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code } });
    expect(res.challenges).toEqual([`OAuth realm="keyward", ${oauth}`]);
  }

  /** A 401: every scheme, the OAuth one with the problem, the others without details. */
  function expect401(res: Answer, code: string, oauth: string): void {
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code } });
    expect(res.challenges).toEqual(all401('keyward', { oauth: `, ${oauth}` }));
  }

  it('a missing parameter: 400 parameter_absent naming it', async () => {
    const req = signed(h.key, h.clock, { path: '/v1/orders' });
    const auth = String(req.headers.authorization).replace(/oauth_nonce="[^"]*", /, '');
    expect400(
      await send(withAuth(req, auth)),
      'parameter_missing',
      'oauth_problem="parameter_absent", oauth_parameters_absent="oauth_nonce"',
    );
    const noTimestamp = String(req.headers.authorization).replace(/oauth_timestamp="[^"]*", /, '');
    expect400(
      await send(withAuth(req, noTimestamp)),
      'parameter_missing',
      'oauth_problem="parameter_absent", oauth_parameters_absent="oauth_timestamp"',
    );
  });

  it('a duplicated or rejected parameter: 400 parameter_rejected', async () => {
    const req = signed(h.key, h.clock, { path: '/v1/orders' });
    const twice = `${String(req.headers.authorization)}, oauth_nonce="again"`;
    expect400(
      await send(withAuth(req, twice)),
      'parameter_duplicated',
      'oauth_problem="parameter_rejected", oauth_parameters_rejected="oauth_nonce"',
    );
    // In the header and the query at once (RFC 5849 §3.5: one place only): no one parameter to name.
    expect400(
      await send(signed(h.key, h.clock, { path: '/v1/orders?oauth_nonce=x' })),
      'parameter_duplicated',
      'oauth_problem="parameter_rejected"',
    );
    // A millisecond timestamp is malformed.
    expect400(
      await send(signed(h.key, h.clock, { path: '/v1/orders', timestamp: h.clock.t })),
      'parameter_rejected',
      'oauth_problem="parameter_rejected", oauth_parameters_rejected="oauth_timestamp"',
    );
    // A version other than 1.0.
    const version = String(req.headers.authorization).replace('oauth_version="1.0"', 'oauth_version="2.0"');
    expect(version).toContain('oauth_version="2.0"');
    expect400(
      await send(withAuth(req, version)),
      'parameter_rejected',
      'oauth_problem="parameter_rejected", oauth_parameters_rejected="oauth_version"',
    );
  });

  it('a malformed header: 400 parameter_rejected', async () => {
    expect400(
      await send(request({ headers: { authorization: 'OAuth oauth_nonce=unquoted' } })),
      'malformed_header',
      'oauth_problem="parameter_rejected"',
    );
  });

  it('a signature method not accepted: 400 signature_method_rejected', async () => {
    expect400(
      await send(signed(h.key, h.clock, { path: '/v1/orders', signatureMethod: 'PLAINTEXT' })),
      'signature_method_rejected',
      'oauth_problem="signature_method_rejected"',
    );
  });

  it('a bad signature, an unknown consumer key: 401 signature_invalid', async () => {
    const other = await h.newKey();
    expect401(
      await send(signed({ id: h.key.id, secret: other.secret }, h.clock, { path: '/v1/orders' })),
      'signature_invalid',
      'oauth_problem="signature_invalid"',
    );
    const stranger = generateApiKey();
    expect401(
      await send(signed({ id: stranger.keyId, secret: stranger.keySecret }, h.clock, { path: '/v1/orders' })),
      'signature_invalid',
      'oauth_problem="signature_invalid"',
    );
  });

  it('an old timestamp: 401 timestamp_refused with oauth_acceptable_timestamps', async () => {
    const now = Math.floor(h.clock.t / 1000);
    expect401(
      await send(signed(h.key, h.clock, { path: '/v1/orders', timestamp: now - 301 })),
      'timestamp_refused',
      `oauth_problem="timestamp_refused", oauth_acceptable_timestamps="${now - 300}-${now + 300}"`,
    );
  });

  it('a replay: 401 nonce_used', async () => {
    const req = signed(h.key, h.clock, { path: '/v1/orders', nonce: 'once' });
    const first = await send(req);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ method: 'oauth1' });
    expect401(await send(req), 'nonce_reused', 'oauth_problem="nonce_used"');
  });

  it('a body that does not match its hash: 401 body_hash_invalid', async () => {
    const json = JSON.stringify({ item: 'widget', qty: 3 });
    const req = signed(h.key, h.clock, {
      method: 'POST',
      path: '/v1/orders',
      body: json,
      contentType: 'application/json',
      bodyHash: true,
    });
    expect401(
      await send({ ...req, body: json.replace('3', '300') }),
      'body_hash_invalid',
      'oauth_problem="body_hash_invalid"',
    );
  });

  it('no body hash on a route that requires one: 400 parameter_absent oauth_body_hash', async () => {
    const req = signed(h.key, h.clock, {
      method: 'POST',
      path: '/v1/strict',
      body: JSON.stringify({ a: 1 }),
      contentType: 'application/json',
    });
    expect400(
      await send(req),
      'body_hash_missing',
      'oauth_problem="parameter_absent", oauth_parameters_absent="oauth_body_hash"',
    );
  });

  it('a signed request lacking a scope: 403 with the OAuth challenge, permission_denied', async () => {
    const res = await send(signed(h.key, h.clock, { path: '/v1/write' }));
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: 'insufficient_scope' } });
    expect(res.challenges).toEqual(['OAuth realm="keyward", oauth_problem="permission_denied"']);
  });

  it('an oauth_token that is no live session: 401, refused like a bad signature (no session oracle)', async () => {
    expect401(
      await send(signed(h.key, h.clock, { path: '/v1/orders', token: 'kw_st_x', tokenSecret: 's' })),
      'signature_invalid',
      'oauth_problem="signature_invalid"',
    );
  });

  it('Basic and Bearer refusals carry no oauth_problem', async () => {
    const other = await h.newKey();
    for (const authorization of [basic(h.key.id, other.secret), 'Bearer not-a-keyward-token', 'Basic !!!']) {
      const res = await send(request({ url: '/v1/orders', headers: { authorization } }));
      expect(res.status, authorization).toBeGreaterThanOrEqual(400);
      expect(res.challenges.join(' '), authorization).not.toContain('oauth_problem');
    }
  });
});

describe('the server: challenges on its routes', () => {
  let t: TestServer;
  let client: TestClient;
  let token: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    client = await newClient(t, { scopes: ['read:orders'] });
    const res = await requestToken(t, client);
    expect(res.status).toBe(200);
    token = (await json(res)).access_token;
  });
  afterAll(async () => {
    await t?.close();
  });

  async function call(
    path: string,
    authorization?: string,
    init: { method?: string; body?: string } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(t.url + path, { method: init.method ?? 'GET', headers, body: init.body });
    const text = await res.text();
    return {
      status: res.status,
      challenges: challengesOf(res.headers.get('www-authenticate')),
      body: text === '' ? undefined : JSON.parse(text),
    };
  }

  it('GET /v1/whoami: 401 naming every scheme; a bad bearer token invalid_token', async () => {
    const none = await call('/v1/whoami');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: { code: 'credentials_missing' } });
    expect(none.challenges).toEqual(all401('keyward'));
    const bad = await call('/v1/whoami', `Bearer kw_at_${'x'.repeat(60)}`);
    expect(bad.status).toBe(401);
    expect(bad.challenges).toEqual(all401('keyward', { bearer: ', error="invalid_token"' }));
    const ok = await call('/v1/whoami', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ principal: { method: 'oauth2', keyId: client.id } });
  });

  it('the admin API with a non-admin bearer token: 403 insufficient_scope scope="keyward:admin"', async () => {
    for (const credential of [token, client.token]) {
      const res = await call('/v1/admin/audit', `Bearer ${credential}`);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'insufficient_scope' } });
      expect(res.challenges).toEqual(['Bearer realm="keyward", error="insufficient_scope", scope="keyward:admin"']);
    }
    const viaBasic = await call('/v1/admin/audit', basic(client.id, client.secret));
    expect(viaBasic.status).toBe(403);
    expect(viaBasic.body).toMatchObject({ error: { code: 'insufficient_scope' } });
    expect(viaBasic.challenges).toEqual([]);
  });

  it('POST /v1/verify with a bearer token lacking keyward:verify: 403 insufficient_scope', async () => {
    const body = JSON.stringify({ method: 'GET', url: '/x', headers: {}, remoteAddress: '203.0.113.7' });
    const res = await call('/v1/verify', `Bearer ${client.token}`, { method: 'POST', body });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: 'insufficient_scope' } });
    expect(res.challenges).toEqual(['Bearer realm="keyward", error="insufficient_scope", scope="keyward:verify"']);
  });

  it('POST /v1/verify reports the challenges of the forwarded request in its outcome', async () => {
    // Only admin accounts may hold keyward:* scopes.
    const admin = await newAccount(t, 'admin');
    const gateway = await t.server.context.store.keys.create(
      admin,
      { name: 'gateway', scopes: ['keyward:verify'] },
      { type: 'system' },
    );
    if (!gateway.ok) throw new Error(gateway.code);
    const forward = (authorization?: string) =>
      JSON.stringify({
        method: 'GET',
        url: '/orders',
        headers: authorization === undefined ? {} : { authorization },
        remoteAddress: '127.0.0.1',
      });
    const none = await call('/v1/verify', basic(gateway.value.id, gateway.value.secret), {
      method: 'POST',
      body: forward(),
    });
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({
      ok: false,
      status: 401,
      code: 'credentials_missing',
      challenge: all401('keyward'),
    });
    const bad = await call('/v1/verify', basic(gateway.value.id, gateway.value.secret), {
      method: 'POST',
      body: forward('Bearer not-a-keyward-token'),
    });
    expect(bad.body).toMatchObject({
      ok: false,
      status: 401,
      challenge: all401('keyward', { bearer: ', error="invalid_token"' }),
    });
  });

  it("the OAuth endpoints' 401 invalid_client carries the Basic challenge in the verifier's realm", async () => {
    const other = await newClient(t);
    const res = await requestToken(t, { id: client.id, secret: other.secret });
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ error: 'invalid_client' });
    expect(res.headers.get('www-authenticate')).toBe(
      `Basic realm="${t.server.context.verifier.realm}", charset="UTF-8"`,
    );
    expect(t.server.context.verifier.realm).toBe('keyward');
  });
});

describe("the server with methods: ['basic']", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { methods: ['basic'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('offers only the Basic challenge, and refuses a bearer token as scheme_unsupported', async () => {
    const client = await newClient(t);
    const none = await fetch(`${t.url}/v1/whoami`);
    expect(none.status).toBe(401);
    expect(challengesOf(none.headers.get('www-authenticate'))).toEqual(['Basic realm="keyward", charset="UTF-8"']);
    const bearer = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: `Bearer ${client.token}` } });
    expect(bearer.status).toBe(401);
    expect(await json(bearer)).toMatchObject({ error: { code: 'scheme_unsupported' } });
    expect(challengesOf(bearer.headers.get('www-authenticate'))).toEqual(['Basic realm="keyward", charset="UTF-8"']);
    const ok = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic(client.id, client.secret) } });
    expect(ok.status).toBe(200);
  });
});

describe("the server with realm 'orders-api' in its configuration", () => {
  const REALM = 'orders-api';
  const PASSWORD = 'correct horse battery staple';
  const EMAIL = 'realm-login@example.com';
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { realm: REALM });
    const made = await t.server.context.store.accounts.create({ email: EMAIL, password: PASSWORD }, { type: 'system' });
    if (!made.ok) throw new Error(made.code);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is read from keyward.config.json and from KEYWARD_REALM, and handed to the verifier', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-realm-'));
    try {
      expect(loadConfig({ env: {}, cwd: dir }).realm).toBe('keyward');
      expect(loadConfig({ env: { KEYWARD_REALM: REALM }, cwd: dir }).realm).toBe(REALM);
      writeFileSync(join(dir, 'keyward.config.json'), JSON.stringify({ realm: 'from-file' }));
      expect(loadConfig({ env: {}, cwd: dir }).realm).toBe('from-file');
      expect(loadConfig({ env: { KEYWARD_REALM: REALM }, cwd: dir }).realm).toBe(REALM);
      // A quote could not be written in a challenge's quoted-string.
      expect(() => loadConfig({ env: { KEYWARD_REALM: 'say "hi"' }, cwd: dir })).toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(t.server.context.verifier.realm).toBe(REALM);
  });

  it('GET /v1/whoami without credentials: 401 naming every scheme in the realm', async () => {
    const none = await fetch(`${t.url}/v1/whoami`);
    expect(none.status).toBe(401);
    expect(await json(none)).toMatchObject({ error: { code: 'credentials_missing' } });
    expect(challengesOf(none.headers.get('www-authenticate'))).toEqual(all401(REALM));
    const bad = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: 'Bearer not-a-keyward-token' } });
    expect(bad.status).toBe(401);
    expect(challengesOf(bad.headers.get('www-authenticate'))).toEqual(
      all401(REALM, { bearer: ', error="invalid_token"' }),
    );
  });

  it('/oauth/token with a wrong secret: 401 invalid_client, Basic challenge in the realm', async () => {
    const client = await newClient(t);
    const other = await newClient(t);
    const res = await requestToken(t, { id: client.id, secret: other.secret });
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ error: 'invalid_client' });
    expect(res.headers.get('www-authenticate')).toBe(`Basic realm="${REALM}", charset="UTF-8"`);
  });

  it("a route's own 401 (a failed login) names the Bearer challenge in the realm", async () => {
    const res = await fetch(`${t.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: 'not the password at all' }),
    });
    expect(res.status).toBe(401);
    expect(await json(res)).toMatchObject({ error: { code: 'login_failed' } });
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${REALM}"`);
  });

  it('POST /v1/verify reports the challenges of the forwarded request in the realm', async () => {
    const admin = await newAccount(t, 'admin');
    const gateway = await t.server.context.store.keys.create(
      admin,
      { name: 'gateway', scopes: ['keyward:verify'] },
      { type: 'system' },
    );
    if (!gateway.ok) throw new Error(gateway.code);
    const res = await fetch(`${t.url}/v1/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(gateway.value.id, gateway.value.secret) },
      body: JSON.stringify({ method: 'GET', url: '/orders', headers: {}, remoteAddress: '127.0.0.1' }),
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ ok: false, status: 401, challenge: all401(REALM) });
  });
});
