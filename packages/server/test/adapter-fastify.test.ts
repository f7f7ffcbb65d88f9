// The Fastify plugin, in process with app.inject() (its peer address is 127.0.0.1).
import { parse as parseQuery } from 'node:querystring';
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keywardFastify } from '../src/adapters/fastify.js';
import { createKeyward } from '../src/keyward.js';
import type { VerifyRequest } from '../src/verify/index.js';
import { basic, type Harness, harness, ORIGIN, rawParts, signed } from './support/verifier.js';

const FORM = 'application/x-www-form-urlencoded';

describe('adapter: fastify', () => {
  let h: Harness;
  let app: FastifyInstance;
  const responses: LightMyRequestResponse[] = [];

  beforeEach(async () => {
    h = await harness();
    responses.length = 0;
  });
  afterEach(async () => {
    await app?.close();
    // No secret in any body or header this suite saw.
    const secrets = [h.key.secret, h.key.token, rawParts(h.key.token).secret];
    for (const res of responses) {
      const seen = JSON.stringify(res.headers) + res.body;
      for (const secret of secrets) expect(seen).not.toContain(secret);
    }
    await h.cleanup();
  });

  async function inject(opts: InjectOptions): Promise<LightMyRequestResponse> {
    const res = await app.inject(opts);
    responses.push(res);
    return res;
  }

  /** A request built for the verifier, sent through Fastify; `payload` replaces its body. */
  function send(req: VerifyRequest, payload: string | undefined = req.body as string | undefined) {
    return inject({
      method: req.method as InjectOptions['method'],
      url: req.url,
      headers: req.headers as Record<string, string>,
      ...(payload === undefined ? {} : { payload }),
    });
  }

  /** The app most tests use: a public route, protected routes, an app that parses no forms. */
  async function build(
    options: {
      /** Runs before the plugin is registered (the app's own parsers). */
      before?: (a: FastifyInstance) => void;
      /** Runs after it (routes and scopes using `keyward`). */
      after?: (a: FastifyInstance) => void;
      rawBodyLimit?: number;
    } = {},
  ): Promise<FastifyInstance> {
    app = Fastify();
    options.before?.(app);
    await app.register(keywardFastify, { verifier: h.verifier, rawBodyLimit: options.rawBodyLimit });
    options.after?.(app);
    app.get('/public', async (request) => ({ public: true, keyward: request.keyward }));
    app.post('/public', async (request) => ({ public: true, body: request.body }));
    app.get('/v1/whoami', { preValidation: app.keyward.protect() }, async (request) => request.keyward);
    app.get('/v1/orders', { preValidation: app.keyward.protect({ scopes: ['read:orders'] }) }, async (request) => ({
      keyId: request.keyward?.keyId,
      query: request.query,
    }));
    app.post('/v1/orders', { preHandler: app.keyward.protect({ scopes: ['read:orders'] }) }, async (request) => ({
      method: request.keyward?.method,
      body: request.body,
    }));
    app.get('/v1/admin', { preValidation: app.keyward.protect({ scopes: ['keyward:admin'] }) }, async () => ({
      never: true,
    }));
    return app;
  }

  it('declares its decorators at registration, before any route uses them', async () => {
    await build();
    expect(app.hasRequestDecorator('keyward')).toBe(true);
    expect(app.hasDecorator('keyward')).toBe(true);
    expect(typeof app.keyward.protect).toBe('function');
    // An unprotected route sees the declared default, even with credentials on the request.
    const res = await inject({ url: '/public', headers: { authorization: basic(h.key.id, h.key.secret) } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ public: true, keyward: null });
    // Registered twice, the request decorator clashes: Fastify refuses at boot, never silently.
    const twice = Fastify();
    await twice.register(keywardFastify, { verifier: h.verifier });
    await expect(twice.register(keywardFastify, { verifier: h.verifier })).rejects.toThrow(/keyward/);
    await twice.close();
  });

  it('Basic: the route sees the principal on request.keyward', async () => {
    await build();
    const res = await inject({ url: '/v1/whoami', headers: { authorization: basic(h.key.id, h.key.secret) } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      accountId: h.key.key.accountId,
      keyId: h.key.id,
      scopes: ['read:orders'],
      method: 'basic',
    });
  });

  it('missing credentials: 401, a challenge per scheme, the JSON error shape and x-request-id', async () => {
    await build();
    const res = await inject({ url: '/v1/whoami' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toEqual([
      'Basic realm="keyward", charset="UTF-8"',
      'Bearer realm="keyward"',
      'OAuth realm="keyward"',
    ]);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json() as { error: { code: string; message: string; requestId: string } };
    expect(body).toEqual({
      error: { code: 'credentials_missing', message: expect.any(String), requestId: expect.any(String) },
    });
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(res.headers['x-request-id']).toBe(body.error.requestId);
  });

  it('a scope the key lacks: 403 insufficient_scope', async () => {
    await build();
    const res = await inject({ url: '/v1/admin', headers: { authorization: basic(h.key.id, h.key.secret) } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'insufficient_scope' } });
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('OAuth 1.0a GET signed with core’s signer: 200', async () => {
    await build();
    const res = await send(signed(h.key, h.clock, { path: '/v1/orders?status=open' }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ keyId: h.key.id, query: { status: 'open' } });
  });

  it('OAuth 1.0a behind rewriteUrl: the signature covers the path the client sent', async () => {
    // An app mounted under /api by rewriting its URLs: the client signs /api/…, the route sees /….
    app = Fastify({ rewriteUrl: (req) => (req.url ?? '/').replace(/^\/api\//, '/') });
    await app.register(keywardFastify, { verifier: h.verifier });
    app.get('/v1/orders', { preValidation: app.keyward.protect() }, async (request) => ({
      keyId: request.keyward?.keyId,
      url: request.url,
    }));
    const res = await send(signed(h.key, h.clock, { path: '/api/v1/orders?status=open' }));
    expect([res.statusCode, res.json()]).toEqual([200, { keyId: h.key.id, url: '/v1/orders?status=open' }]);
    // Signed for the rewritten path but sent to the public one: not what the client signed.
    const moved = signed(h.key, h.clock, { path: '/v1/orders?status=open' });
    const refused = await send({ ...moved, url: '/api/v1/orders?status=open' });
    expect([refused.statusCode, refused.json().error.code]).toEqual([401, 'signature_invalid']);
  });

  it('OAuth 1.0a POST with a signed form body: 200, and the route still gets the body', async () => {
    await build();
    const form = 'item=widget&qty=2&note=caf%C3%A9+au+lait';
    const req = signed(h.key, h.clock, { method: 'POST', path: '/v1/orders', body: form, contentType: FORM });
    const res = await send(req);
    expect(res.statusCode).toBe(200);
    // The app registered no form parser: the plugin's hands the route the body as a string.
    expect(res.json()).toEqual({ method: 'oauth1', body: form });

    // A form parameter changed in transit breaks the signature.
    const tampered = await send(
      signed(h.key, h.clock, { method: 'POST', path: '/v1/orders', body: form, contentType: FORM }),
      form.replace('qty=2', 'qty=200'),
    );
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json()).toMatchObject({ error: { code: 'signature_invalid' } });
  });

  it('an app with its own form parser keeps it, and the signed form still verifies', async () => {
    await build({
      before: (a) => {
        a.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
          done(null, { ...parseQuery(body as string) });
        });
      },
    });
    const form = 'item=widget&qty=2&qty=3';
    const res = await send(
      signed(h.key, h.clock, { method: 'POST', path: '/v1/orders', body: form, contentType: FORM }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ method: 'oauth1', body: { item: 'widget', qty: ['2', '3'] } });
  });

  it('formParser: false leaves form bodies to the app (Fastify answers 415 without a parser)', async () => {
    app = Fastify();
    await app.register(keywardFastify, { verifier: h.verifier, formParser: false });
    app.post('/v1/orders', { preValidation: app.keyward.protect() }, async () => ({ never: true }));
    const form = 'item=widget';
    const res = await send(
      signed(h.key, h.clock, { method: 'POST', path: '/v1/orders', body: form, contentType: FORM }),
    );
    expect(res.statusCode).toBe(415);
  });

  it('a JSON body covered by oauth_body_hash: 200; the body changed in transit: 401 body_hash_invalid', async () => {
    await build();
    const json = JSON.stringify({ item: 'widget', qty: 2 });
    const init = { method: 'POST', path: '/v1/orders', body: json, contentType: 'application/json', bodyHash: true };
    const ok = await send(signed(h.key, h.clock, init));
    expect(ok.statusCode).toBe(200);
    // Fastify's JSON parser still parsed it.
    expect(ok.json()).toEqual({ method: 'oauth1', body: { item: 'widget', qty: 2 } });

    const tampered = await send(signed(h.key, h.clock, init), JSON.stringify({ item: 'widget', qty: 200 }));
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json()).toMatchObject({ error: { code: 'body_hash_invalid' } });
  });

  it('requireBodyHash: a JSON body without oauth_body_hash is refused', async () => {
    await build({
      after: (a) => {
        a.register(async (scope) => {
          scope.post('/v1/strict', { preValidation: scope.keyward.protect({ requireBodyHash: true }) }, async () => ({
            ok: true,
          }));
        });
      },
    });
    const json = JSON.stringify({ item: 'widget' });
    const init = { method: 'POST', path: '/v1/strict', body: json, contentType: 'application/json' };
    const without = await send(signed(h.key, h.clock, init));
    expect(without.statusCode).toBe(400);
    expect(without.json()).toMatchObject({ error: { code: 'body_hash_missing' } });
    expect((await send(signed(h.key, h.clock, { ...init, bodyHash: true }))).statusCode).toBe(200);
  });

  it('a replayed signed request: 401 nonce_reused', async () => {
    await build();
    const req = signed(h.key, h.clock, { path: '/v1/orders?status=open' });
    expect((await send(req)).statusCode).toBe(200);
    const replay = await send(req);
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ error: { code: 'nonce_reused' } });
  });

  it('unprotected routes in the same app stay public, bodies included', async () => {
    await build();
    const get = await inject({ url: '/public' });
    expect(get.statusCode).toBe(200);
    expect(get.json()).toEqual({ public: true, keyward: null });
    const post = await inject({ method: 'POST', url: '/public', payload: { hello: 'world' } });
    expect(post.statusCode).toBe(200);
    expect(post.json()).toEqual({ public: true, body: { hello: 'world' } });
    const form = await inject({ method: 'POST', url: '/public', headers: { 'content-type': FORM }, payload: 'a=1' });
    expect(form.json()).toEqual({ public: true, body: 'a=1' });
  });

  it('a scope-wide hook verifies once; a route hook after it checks scopes only (no nonce reuse)', async () => {
    await build({
      after: (a) => {
        a.register(async (scope) => {
          scope.addHook('preValidation', scope.keyward.protect());
          scope.get(
            '/v2/orders',
            { preHandler: scope.keyward.protect({ scopes: ['read:orders'] }) },
            async (request) => ({
              method: request.keyward?.method,
            }),
          );
          scope.get(
            '/v2/admin',
            { preHandler: scope.keyward.protect({ scopes: ['keyward:admin'] }) },
            async () => ({}),
          );
          // Misuse: the scope's hook verified without requireBodyHash; a later hook cannot add it.
          scope.post('/v2/strict', { preHandler: scope.keyward.protect({ requireBodyHash: true }) }, async () => ({}));
        });
      },
    });
    const ok = await send(signed(h.key, h.clock, { path: '/v2/orders' }));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ method: 'oauth1' });
    const forbidden = await send(signed(h.key, h.clock, { path: '/v2/admin' }));
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ error: { code: 'insufficient_scope' } });
    expect((await inject({ url: '/v2/orders' })).statusCode).toBe(401);
    const misuse = await send(
      signed(h.key, h.clock, { method: 'POST', path: '/v2/strict', body: '{}', contentType: 'application/json' }),
    );
    expect(misuse.statusCode).toBe(500);
  });

  it('a body over rawBodyLimit: 413 on protected routes, untouched on public ones', async () => {
    await build({ rawBodyLimit: 64 });
    const form = `item=${'w'.repeat(100)}`;
    const big = await send(
      signed(h.key, h.clock, { method: 'POST', path: '/v1/orders', body: form, contentType: FORM }),
    );
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'KEYWARD_BODY_TOO_LARGE' });
    const small = await send(
      signed(h.key, h.clock, { method: 'POST', path: '/v1/orders', body: 'item=w', contentType: FORM }),
    );
    expect(small.statusCode).toBe(200);
    // Basic never reads the body: a large form is no reason to refuse it.
    const basicBig = await inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { authorization: basic(h.key.id, h.key.secret), 'content-type': FORM },
      payload: form,
    });
    expect(basicBig.statusCode).toBe(200);
    expect(basicBig.json()).toEqual({ method: 'basic', body: form });
    const open = await inject({ method: 'POST', url: '/public', headers: { 'content-type': FORM }, payload: form });
    expect(open.statusCode).toBe(200);
    expect(open.json()).toEqual({ public: true, body: form });
  });

  it('Basic with a JSON body: verified without the body, which the route gets parsed', async () => {
    await build();
    const res = await inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { authorization: basic(h.key.id, h.key.secret) },
      payload: { item: 'widget' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ method: 'basic', body: { item: 'widget' } });
  });

  it('createKeyward(...).fastify(): the plugin bound to the facade’s verifier', async () => {
    const keyward = createKeyward({
      store: h.store,
      nonces: h.nonces,
      origin: ORIGIN,
      clock: { now: () => h.clock.t },
    });
    app = Fastify();
    await app.register(keyward.fastify());
    app.post('/v1/orders', { preValidation: app.keyward.protect() }, async (request) => ({
      keyId: request.keyward?.keyId,
      body: request.body,
    }));
    const form = 'item=widget';
    const res = await send(
      signed(h.key, h.clock, { method: 'POST', path: '/v1/orders', body: form, contentType: FORM }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ keyId: h.key.id, body: form });
    const basicOk = await inject({
      url: '/v1/orders',
      method: 'POST',
      headers: { authorization: basic(h.key.id, h.key.secret) },
    });
    expect(basicOk.statusCode).toBe(200);
  });
});
