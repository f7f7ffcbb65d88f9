// A scheme registered from outside the package, as an application would write one: it imports
// only the public entry, verifies through the context a scheme gets (keyCredential, openSecrets,
// keyProblem, admit, recordFailure, refuse), and is then accepted, refused and challenged like
// Keyward's own schemes through every adapter, and through a Keyward server given it with
// `createServer(config, { schemes })` (`POST /v1/verify` and the server's own routes). Also:
// disabling it, and what a fault or a store that is down becomes (500 vs 503).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identify } from '@keyward/core';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import passportModule from 'passport';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { createServer, type KeywardServer } from '../src/http/app.js';
import { VERIFY_SCOPE } from '../src/http/context.js';
import {
  AUTH_METHODS,
  createKeyward,
  createVerifier,
  defineScheme,
  expressMiddleware,
  fetchHandler,
  KeywardStrategy,
  keywardFastify,
  passportRefusalHandler,
  type Scheme,
  StoreUnavailableError,
  type Verifier,
  type VerifierOptions,
  verifyRequest,
} from '../src/index.js';
import { type IssuedKey, openStore } from '../src/store/index.js';
import { newClient } from './support/oauth.js';
import { type Json, jsonOf, startTestServer, type TestServer } from './support/server.js';
import { basic, type Harness, harness } from './support/verifier.js';

const METHOD = 'demo-hmac';
const HTTP_SCHEME = 'demo';

/** The toy scheme's signature: HMAC-SHA-256 over `METHOD target` under the key secret, base64url. */
function demoSignature(secret: string, method: string, target: string): string {
  return createHmac('sha256', secret).update(`${method} ${target}`).digest('base64url');
}

/** `Authorization: Demo <kw_kid_…>:<signature>` for a request. */
function demoAuthorization(key: { id: string; secret: string }, method: string, target: string): string {
  return `Demo ${key.id}:${demoSignature(key.secret, method, target)}`;
}

/**
 * `Authorization: Demo <key id>:<HMAC of "METHOD target">`: an application's own method, written
 * against the public `Scheme` interface only.
 */
const demoScheme = defineScheme<{ readonly keyId: string; readonly signature: string }>({
  method: METHOD,
  httpScheme: HTTP_SCHEME,
  sendsSecret: false,
  needsBody: () => false,
  claim({ authorization }, ctx) {
    if (authorization?.scheme !== HTTP_SCHEME) return undefined;
    const parts = /^([^:\s]+):([A-Za-z0-9_-]{43})$/.exec(authorization.credentials);
    if (parts?.[1] === undefined || parts[2] === undefined)
      return ctx.refuse('malformed_header', { detail: 'Demo credentials are <key id>:<signature>' }, HTTP_SCHEME);
    return { claimed: { keyId: parts[1], signature: parts[2] } };
  },
  async verify({ keyId, signature }, { request, transport }, ctx) {
    const id = identify(keyId);
    if (id?.type !== 'key_id' || id.id === undefined) {
      await ctx.recordFailure(transport);
      return ctx.refuse('malformed_token', {}, HTTP_SCHEME);
    }
    const entry = await ctx.keyCredential(id.id);
    const given = Buffer.from(signature);
    let matched = false;
    for (const secret of ctx.openSecrets(id.id, entry)) {
      const expected = Buffer.from(demoSignature(secret, request.method, request.url));
      matched = (expected.length === given.length && timingSafeEqual(expected, given)) || matched;
    }
    if (!matched || entry.credential === null) {
      await ctx.recordFailure(transport, id.id);
      return ctx.refuse('key_unknown', {}, HTTP_SCHEME);
    }
    return ctx.keyProblem(entry.credential, METHOD, HTTP_SCHEME) ?? ctx.admit(id.id, entry.credential, METHOD);
  },
  challenge(realm, detail) {
    const head = `Demo realm="${realm}"`;
    if (detail === undefined || detail.code === 'credentials_missing') return head;
    return `${head}, error="${detail.code}"`;
  },
});

/** A scheme of the same shape whose verify throws `error`: a fault, or a store that is down. */
function throwingScheme(error: Error): Scheme {
  return defineScheme<string>({
    method: 'throws',
    httpScheme: 'throws',
    sendsSecret: false,
    needsBody: () => false,
    claim: ({ authorization }) => (authorization?.scheme === 'throws' ? { claimed: 'x' } : undefined),
    verify() {
      throw error;
    },
    challenge: (realm) => `Throws realm="${realm}"`,
  }) as Scheme;
}

/** Every `WWW-Authenticate` challenge of a response, however the values were joined. */
function challengesOf(value: string | readonly string[] | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  const joined = typeof value === 'string' ? value : value.join(', ');
  // Each of our challenges starts with `<scheme> realm=`; split before every such start.
  return joined.split(/, (?=[A-Za-z][A-Za-z0-9-]* realm=)/);
}

// Every built-in method enabled, the demo one not.
const BUILTIN_ONLY = [...AUTH_METHODS];

describe('a scheme registered from outside the package', () => {
  let h: Harness;
  const stops: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await h.cleanup();
  });

  /** Verifier options on the harness store, with the demo scheme registered. */
  function options(more: Partial<VerifierOptions> = {}): VerifierOptions {
    return {
      store: h.store,
      nonces: h.nonces,
      origin: 'http://127.0.0.1',
      clock: { now: () => h.clock.t },
      onError: () => {},
      schemes: [demoScheme as Scheme],
      ...more,
    };
  }

  async function listen(app: express.Express): Promise<string> {
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function fastifyApp(verifier: Verifier): Promise<FastifyInstance> {
    const app = Fastify();
    stops.push(() => app.close());
    await app.register(keywardFastify, { verifier });
    app.get('/v1/orders', { preValidation: app.keyward.protect() }, async (request) => request.keyward);
    return app;
  }

  it('is verified: the principal names its method, and the key id it proved', async () => {
    const verifier = createVerifier(options());
    const target = '/v1/orders?page=2';
    const outcome = await verifier.verify({
      method: 'GET',
      url: target,
      headers: { authorization: demoAuthorization(h.key, 'GET', target) },
      remoteAddress: '127.0.0.1',
      secure: false,
    });
    expect(outcome).toEqual({
      ok: true,
      principal: { accountId: h.key.key.accountId, keyId: h.key.id, scopes: ['read:orders'], method: METHOD },
    });
  });

  it('a name already taken by a built-in scheme is a TypeError', () => {
    expect(() => createVerifier(options({ schemes: [{ ...demoScheme, method: 'basic' } as Scheme] }))).toThrow(
      TypeError,
    );
  });

  it('Express: 200 with its method; a wrong signature 401 with its challenge among every scheme', async () => {
    const app = express();
    app.use('/v1', expressMiddleware(createVerifier(options())));
    app.get('/v1/orders', (req, res) => {
      res.json(req.keyward);
    });
    const url = await listen(app);

    const ok = await fetch(`${url}/v1/orders?page=2`, {
      headers: { authorization: demoAuthorization(h.key, 'GET', '/v1/orders?page=2') },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ method: METHOD, keyId: h.key.id });

    const other = await h.newKey();
    const wrong = await fetch(`${url}/v1/orders?page=2`, {
      headers: { authorization: demoAuthorization({ id: h.key.id, secret: other.secret }, 'GET', '/v1/orders?page=2') },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'key_unknown' } });
    const challenges = challengesOf(wrong.headers.get('www-authenticate'));
    expect(challenges).toContain('Demo realm="keyward", error="key_unknown"');
    expect(challenges).toContain('Basic realm="keyward", charset="UTF-8"');
    expect(challenges).toContain('Bearer realm="keyward"');
    expect(challenges).toContain('OAuth realm="keyward"');
    expect(challenges).toHaveLength(4);

    // Signed for another target: the signature does not carry over.
    const moved = await fetch(`${url}/v1/orders?page=3`, {
      headers: { authorization: demoAuthorization(h.key, 'GET', '/v1/orders?page=2') },
    });
    expect(moved.status).toBe(401);

    // No credentials: the demo challenge is offered too, without an error.
    const none = await fetch(`${url}/v1/orders`);
    expect(none.status).toBe(401);
    expect(challengesOf(none.headers.get('www-authenticate'))).toContain('Demo realm="keyward"');
  });

  it('Fastify: 200 with its method; a wrong signature 401 with its challenge; a malformed one 400', async () => {
    const app = await fastifyApp(createVerifier(options()));
    const ok = await app.inject({
      method: 'GET',
      url: '/v1/orders',
      headers: { authorization: demoAuthorization(h.key, 'GET', '/v1/orders') },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ method: METHOD, keyId: h.key.id });

    const wrong = await app.inject({
      method: 'GET',
      url: '/v1/orders',
      headers: { authorization: demoAuthorization(h.key, 'POST', '/v1/orders') },
    });
    expect(wrong.statusCode).toBe(401);
    expect(challengesOf(wrong.headers['www-authenticate'] as string | string[])).toContain(
      'Demo realm="keyward", error="key_unknown"',
    );

    // Its own claim refuses a malformed credential: 400, with only its own challenge.
    const malformed = await app.inject({
      method: 'GET',
      url: '/v1/orders',
      headers: { authorization: 'Demo not-a-credential' },
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ error: { code: 'malformed_header' } });
    expect(challengesOf(malformed.headers['www-authenticate'] as string | string[])).toEqual([
      'Demo realm="keyward", error="malformed_header"',
    ]);
  });

  it('fetch: fetchHandler and verifyRequest', async () => {
    const verifier = createVerifier(options());
    const handler = fetchHandler(verifier, (_request, principal) => Response.json(principal), {
      connection: () => ({ remoteAddress: '127.0.0.1' }),
    });
    const ok = await handler(
      new Request('http://127.0.0.1/v1/orders?x=1', {
        headers: { authorization: demoAuthorization(h.key, 'GET', '/v1/orders?x=1') },
      }),
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ method: METHOD, keyId: h.key.id });

    const wrong = await handler(
      new Request('http://127.0.0.1/v1/orders?x=1', {
        headers: { authorization: demoAuthorization(h.key, 'GET', '/v1/orders?x=2') },
      }),
    );
    expect(wrong.status).toBe(401);
    expect(challengesOf(wrong.headers.get('www-authenticate'))).toContain('Demo realm="keyward", error="key_unknown"');

    const outcome = await verifyRequest(
      verifier,
      new Request('http://127.0.0.1/v1/things', {
        method: 'DELETE',
        headers: { authorization: demoAuthorization(h.key, 'DELETE', '/v1/things') },
      }),
      { remoteAddress: '127.0.0.1' },
    );
    expect(outcome).toMatchObject({ ok: true, principal: { method: METHOD, keyId: h.key.id } });
  });

  it('Passport: KeywardStrategy lets it through and fails with its challenge', async () => {
    const keyward = createKeyward(options());
    const passport = new passportModule.Passport();
    passport.use(keyward.passport());
    const app = express();
    app.use(passport.initialize());
    app.get('/private', passport.authenticate('oauth', { session: false }), (req, res) => {
      res.json(req.user);
    });
    const url = await listen(app);

    const ok = await fetch(`${url}/private`, {
      headers: { authorization: demoAuthorization(h.key, 'GET', '/private') },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ method: METHOD, keyId: h.key.id });

    const wrong = await fetch(`${url}/private`, {
      headers: { authorization: demoAuthorization(h.key, 'GET', '/public') },
    });
    expect(wrong.status).toBe(401);
    expect(challengesOf(wrong.headers.get('www-authenticate'))).toContain('Demo realm="keyward", error="key_unknown"');
  });

  it("honours the key's state and allowed methods through keyProblem", async () => {
    const verifier = createVerifier(options());
    const basicOnly = await h.newKey({ methods: ['basic'] });
    const req = (key: { id: string; secret: string }) => ({
      method: 'GET',
      url: '/v1/orders',
      headers: { authorization: demoAuthorization(key, 'GET', '/v1/orders') },
      remoteAddress: '127.0.0.1',
      secure: false,
    });
    expect(await verifier.verify(req(basicOnly))).toMatchObject({
      ok: false,
      status: 401,
      code: 'method_not_allowed',
      challenge: expect.arrayContaining(['Demo realm="keyward", error="method_not_allowed"']),
    });
    await h.store.keys.revoke(h.key.id, { type: 'cli', id: 'tester' });
    expect(await verifier.verify(req(h.key))).toMatchObject({ ok: false, code: 'key_revoked' });
  });

  it('scopes: a route scope it lacks is 403 insufficient_scope with its own challenge', async () => {
    const verifier = createVerifier(options());
    const outcome = await verifier.verify(
      {
        method: 'GET',
        url: '/v1/orders',
        headers: { authorization: demoAuthorization(h.key, 'GET', '/v1/orders') },
        remoteAddress: '127.0.0.1',
        secure: false,
      },
      { scopes: ['write:orders'] },
    );
    expect(outcome).toMatchObject({
      ok: false,
      status: 403,
      code: 'insufficient_scope',
      challenge: ['Demo realm="keyward", error="insufficient_scope"'],
    });
  });

  describe('disabled through methods', () => {
    it('its requests are scheme_unsupported, and no challenge offers it, through every adapter', async () => {
      const verifier = createVerifier(options({ methods: BUILTIN_ONLY }));
      const auth = demoAuthorization(h.key, 'GET', '/v1/orders');

      const direct = await verifier.verify({
        method: 'GET',
        url: '/v1/orders',
        headers: { authorization: auth },
        remoteAddress: '127.0.0.1',
        secure: false,
      });
      expect(direct).toMatchObject({ ok: false, status: 401, code: 'scheme_unsupported' });
      expect(direct.ok ? [] : direct.challenge).not.toContainEqual(expect.stringMatching(/^Demo/));
      // The built-in methods still work.
      expect(
        await verifier.verify({
          method: 'GET',
          url: '/v1/orders',
          headers: { authorization: basic(h.key.id, h.key.secret) },
          remoteAddress: '127.0.0.1',
          secure: false,
        }),
      ).toMatchObject({ ok: true, principal: { method: 'basic' } });

      // Express
      const app = express();
      app.use(expressMiddleware(verifier));
      app.get('/v1/orders', (_req, res) => {
        res.json({ never: true });
      });
      const url = await listen(app);
      const viaExpress = await fetch(`${url}/v1/orders`, { headers: { authorization: auth } });
      expect(viaExpress.status).toBe(401);
      expect(await viaExpress.json()).toMatchObject({ error: { code: 'scheme_unsupported' } });
      const expressChallenges = challengesOf(viaExpress.headers.get('www-authenticate'));
      expect(expressChallenges.some((c) => c.startsWith('Demo'))).toBe(false);
      expect(expressChallenges).toContain('Basic realm="keyward", charset="UTF-8"');

      // Fastify
      const fastify = await fastifyApp(verifier);
      const viaFastify = await fastify.inject({ method: 'GET', url: '/v1/orders', headers: { authorization: auth } });
      expect(viaFastify.statusCode).toBe(401);
      expect(viaFastify.json()).toMatchObject({ error: { code: 'scheme_unsupported' } });

      // fetch
      const handler = fetchHandler(verifier, () => Response.json({ never: true }), {
        connection: () => ({ remoteAddress: '127.0.0.1' }),
      });
      const viaFetch = await handler(new Request('http://127.0.0.1/v1/orders', { headers: { authorization: auth } }));
      expect(viaFetch.status).toBe(401);
      expect(await viaFetch.json()).toMatchObject({ error: { code: 'scheme_unsupported' } });
    });

    it('a verifier that never registered it answers its requests scheme_unsupported too', async () => {
      const verifier = createVerifier(options({ schemes: [] }));
      expect(
        await verifier.verify({
          method: 'GET',
          url: '/v1/orders',
          headers: { authorization: demoAuthorization(h.key, 'GET', '/v1/orders') },
          remoteAddress: '127.0.0.1',
          secure: false,
        }),
      ).toMatchObject({ ok: false, status: 401, code: 'scheme_unsupported' });
    });
  });

  describe('faults are 500, only a store that is down is 503', () => {
    const fault = () => new Error('boom: a bug in the scheme');
    const down = () => new StoreUnavailableError('the credential store is down');
    const THROWS = { authorization: 'Throws x' };

    it('verify rejects on a fault and answers 503 store_unavailable for a store that is down', async () => {
      const faulty = createVerifier(options({ schemes: [throwingScheme(fault())] }));
      const req = { method: 'GET', url: '/', headers: THROWS, remoteAddress: '127.0.0.1', secure: false };
      await expect(faulty.verify(req)).rejects.toThrow('boom');
      const seen: unknown[] = [];
      const failing = createVerifier(
        options({ schemes: [throwingScheme(down())], onError: (error) => void seen.push(error) }),
      );
      expect(await failing.verify(req)).toMatchObject({ ok: false, status: 503, code: 'store_unavailable' });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toBeInstanceOf(StoreUnavailableError);
    });

    it('Fastify: a fault is 500, not 503', async () => {
      const app = await fastifyApp(createVerifier(options({ schemes: [throwingScheme(fault())] })));
      const res = await app.inject({ method: 'GET', url: '/v1/orders', headers: THROWS });
      expect(res.statusCode).toBe(500);
    });

    // The verifier's contract (VerifierOptions.onError, Verifier.verify): "adapters answer 500
    // internal_error". The plugin rethrows the fault to Fastify's default error handler instead.
    it('Fastify: a fault is answered in the one error shape, internal_error, without the error message', async () => {
      const app = await fastifyApp(createVerifier(options({ schemes: [throwingScheme(fault())] })));
      const res = await app.inject({ method: 'GET', url: '/v1/orders', headers: THROWS });
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain('boom');
      expect(res.json()).toMatchObject({ error: { code: 'internal_error' } });
    });

    it('Fastify: a store that is down is 503 store_unavailable', async () => {
      const app = await fastifyApp(createVerifier(options({ schemes: [throwingScheme(down())] })));
      const res = await app.inject({ method: 'GET', url: '/v1/orders', headers: THROWS });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    });

    async function expressWith(scheme: Scheme): Promise<string> {
      const app = express();
      app.use(expressMiddleware(createVerifier(options({ schemes: [scheme] }))));
      app.get('/v1/orders', (_req, res) => {
        res.json({ never: true });
      });
      return listen(app);
    }

    it('Express: a fault is 500, not 503', async () => {
      const url = await expressWith(throwingScheme(fault()));
      const res = await fetch(`${url}/v1/orders`, { headers: THROWS });
      expect(res.status).toBe(500);
    });

    // As for Fastify: the middleware passes the fault to `next`, and Express's final handler
    // answers with an HTML page (with the stack trace outside production), not internal_error.
    it('Express: a fault is answered in the one error shape, internal_error, without the error message', async () => {
      const url = await expressWith(throwingScheme(fault()));
      const res = await fetch(`${url}/v1/orders`, { headers: THROWS });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).not.toContain('boom');
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'internal_error' } });
    });

    it('Express: a store that is down is 503 store_unavailable', async () => {
      const url = await expressWith(throwingScheme(down()));
      const res = await fetch(`${url}/v1/orders`, { headers: THROWS });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    });

    it('fetch: a fault is a 500 internal_error Response without its message; a store that is down is a 503', async () => {
      const connection = () => ({ remoteAddress: '127.0.0.1' });
      const faulty = fetchHandler(
        createVerifier(options({ schemes: [throwingScheme(fault())] })),
        () => Response.json({ never: true }),
        { connection },
      );
      const faultRes = await faulty(new Request('http://127.0.0.1/v1/orders', { headers: THROWS }));
      expect(faultRes.status).toBe(500);
      const faultText = await faultRes.text();
      expect(JSON.parse(faultText)).toMatchObject({ error: { code: 'internal_error' } });
      expect(faultText).not.toContain('boom');
      const failing = fetchHandler(
        createVerifier(options({ schemes: [throwingScheme(down())] })),
        () => Response.json({ never: true }),
        { connection },
      );
      const res = await failing(new Request('http://127.0.0.1/v1/orders', { headers: THROWS }));
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    });

    it('Passport with failWithError: a store that is down is 503 store_unavailable', async () => {
      const passport = new passportModule.Passport();
      passport.use(new KeywardStrategy({ verifier: createVerifier(options({ schemes: [throwingScheme(down())] })) }));
      const app = express();
      app.use(passport.initialize());
      app.get('/private', passport.authenticate('oauth', { session: false, failWithError: true }), (_req, res) => {
        res.json({ never: true });
      });
      app.use(passportRefusalHandler());
      const url = await listen(app);
      const res = await fetch(`${url}/private`, { headers: THROWS });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    });
  });
});

describe('the server: a fault is 500 internal_error, only a store that is down is 503', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Makes the credential source's key lookup throw `error` (keys not cached yet are read there). */
  function keyLookupThrows(error: Error): () => void {
    const credentials = t.server.context.store.credentials as { key: unknown };
    const original = credentials.key;
    credentials.key = async () => {
      throw error;
    };
    return () => {
      credentials.key = original;
    };
  }

  it('a key lookup that fails with a plain Error: 500 internal_error, the message stays in the log', async () => {
    const client = await newClient(t);
    const restore = keyLookupThrows(new Error('boom: unexpected'));
    try {
      const res = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic(client.id, client.secret) } });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).not.toContain('boom');
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'internal_error' } });
    } finally {
      restore();
    }
  });

  it('a key lookup that fails with StoreUnavailableError: 503 store_unavailable', async () => {
    const client = await newClient(t);
    const restore = keyLookupThrows(new StoreUnavailableError('database is down'));
    try {
      const res = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic(client.id, client.secret) } });
      expect(res.status).toBe(503);
      expect(await jsonOf(res)).toMatchObject({ error: { code: 'store_unavailable' } });
    } finally {
      restore();
    }
    // Back up: the same key gets through.
    const ok = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic(client.id, client.secret) } });
    expect(ok.status).toBe(200);
  });
});

describe('a Keyward server given the scheme: createServer(config, { schemes })', () => {
  let dir: string;
  let server: KeywardServer;
  let url: string;
  /** A gateway's key with keyward:verify, the caller of POST /v1/verify. */
  let gateway: IssuedKey;
  /** A customer's key, the credential the Demo requests prove. */
  let customer: IssuedKey;
  let customerAccount: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-demo-'));
    const store = await openStore({ dataDir: dir, usageFlushMs: 0 });
    const config = loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, host: '127.0.0.1', port: 0 } });
    server = await createServer(config, { store, logger: false, schemes: [demoScheme as Scheme] });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
    const system = { type: 'system' } as const;
    const account = async (email: string) => {
      const made = await store.accounts.create({ email, password: 'correct horse battery staple' }, system);
      if (!made.ok) throw new Error(made.code);
      return made.value.id;
    };
    const key = async (accountId: string, name: string, scopes: string[]) => {
      const made = await store.keys.create(accountId, { name, scopes }, system);
      if (!made.ok) throw new Error(made.code);
      return made.value;
    };
    gateway = await key(await account('gateway@example.com'), 'gateway', [VERIFY_SCOPE]);
    customerAccount = await account('customer@example.com');
    customer = await key(customerAccount, 'customer', ['read:orders']);
  });
  afterAll(async () => {
    await server?.close();
    await server?.context.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `POST /v1/verify` as the gateway, forwarding a request it received. */
  async function verify(forwarded: Record<string, unknown>): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${url}/v1/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(gateway.id, gateway.secret) },
      body: JSON.stringify(forwarded),
    });
    return { status: res.status, body: await jsonOf(res) };
  }

  it('POST /v1/verify: a forwarded Demo request is verified, its principal naming demo-hmac', async () => {
    const target = '/orders?page=2';
    const res = await verify({
      method: 'GET',
      url: target,
      headers: { authorization: demoAuthorization(customer, 'GET', target), host: 'api.example.test' },
      remoteAddress: '203.0.113.7',
      secure: true,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      principal: { accountId: customerAccount, keyId: customer.id, scopes: ['read:orders'], method: METHOD },
    });
  });

  it('POST /v1/verify: a wrong Demo credential is a 200 with ok false, 401 and the Demo challenge', async () => {
    const target = '/orders?page=2';
    const res = await verify({
      method: 'GET',
      url: target,
      // Signed for another target.
      headers: { authorization: demoAuthorization(customer, 'GET', '/orders?page=3') },
      remoteAddress: '203.0.113.7',
      secure: true,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: false, status: 401, code: 'key_unknown' });
    expect(res.body.challenge).toContain('Demo realm="keyward", error="key_unknown"');
    // Beside the configured methods, not instead of them: every built-in challenge is there too.
    expect(res.body.challenge).toContain('Basic realm="keyward", charset="UTF-8"');
    expect(res.body.challenge).toContain('Bearer realm="keyward"');
    expect(res.body.challenge).toContain('OAuth realm="keyward"');
    expect(res.body.challenge).toHaveLength(4);

    // No credentials: the Demo challenge is offered, without an error.
    const none = await verify({ method: 'GET', url: target, headers: {}, remoteAddress: '203.0.113.7' });
    expect(none.body).toMatchObject({ ok: false, status: 401, code: 'credentials_missing' });
    expect(none.body.challenge).toContain('Demo realm="keyward"');
  });

  it('GET /v1/whoami with a Demo credential: 200, the principal naming demo-hmac', async () => {
    const ok = await fetch(`${url}/v1/whoami`, {
      headers: { authorization: demoAuthorization(customer, 'GET', '/v1/whoami') },
    });
    expect(ok.status).toBe(200);
    expect(await jsonOf(ok)).toEqual({
      principal: expect.objectContaining({ accountId: customerAccount, keyId: customer.id, method: METHOD }),
    });

    const wrong = await fetch(`${url}/v1/whoami`, {
      headers: { authorization: demoAuthorization(customer, 'POST', '/v1/whoami') },
    });
    expect(wrong.status).toBe(401);
    expect(await jsonOf(wrong)).toMatchObject({ error: { code: 'key_unknown' } });
    expect(challengesOf(wrong.headers.get('www-authenticate'))).toContain('Demo realm="keyward", error="key_unknown"');

    // No credentials: the route offers the Demo challenge beside the built-in ones.
    const none = await fetch(`${url}/v1/whoami`);
    expect(none.status).toBe(401);
    const challenges = challengesOf(none.headers.get('www-authenticate'));
    expect(challenges).toContain('Demo realm="keyward"');
    expect(challenges).toContain('Basic realm="keyward", charset="UTF-8"');
    expect(challenges).toHaveLength(4);

    // The built-in methods still work on the same server.
    const viaBasic = await fetch(`${url}/v1/whoami`, {
      headers: { authorization: basic(customer.id, customer.secret) },
    });
    expect(viaBasic.status).toBe(200);
    expect(await jsonOf(viaBasic)).toMatchObject({ principal: { keyId: customer.id, method: 'basic' } });
  });
});
