// /v1/forward-auth asked directly, as a proxy would: who may ask, how the original request is
// named, what a body does to OAuth 1.0a, the route rules, and the answer's headers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signOAuth1 } from '@keyward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough passphrase';
const PUBLIC = 'https://api.example.com';

describe('/v1/forward-auth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-fa-'));
  let t: TestServer;
  let untrusted: TestServer;
  let key = { id: '', secret: '' };
  let accountId = '';
  // What a TLS-terminating proxy on 127.0.0.1 adds.
  const proxied = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' };
  const basic = () => `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}`;
  const ask = (headers: Record<string, string>, method = 'GET', server = () => t) =>
    fetch(`${server().url}/v1/forward-auth`, { method, headers });
  const oauth1 = (
    method: string,
    uri: string,
    extra: { body?: string; contentType?: string; bodyHash?: boolean } = {},
  ) =>
    signOAuth1({
      method,
      url: `${PUBLIC}${uri}`,
      consumerKey: key.id,
      consumerSecret: key.secret,
      nonce: randomBytes(16).toString('hex'),
      timestamp: Math.floor(Date.now() / 1000),
      ...extra,
    }).authorization;

  beforeAll(async () => {
    const routesFile = join(dir, 'routes.json');
    writeFileSync(
      routesFile,
      JSON.stringify({
        routes: [
          { prefix: '/api' },
          { prefix: '/api/hashed', requireBodyHash: true },
          { prefix: '/api/basic-only', auth: ['basic'] },
          { prefix: '/status', public: true },
        ],
      }),
    );
    t = await startTestServer('sqlite', { trustProxy: ['127.0.0.1'], publicUrl: PUBLIC, routesFile });
    untrusted = await startTestServer('sqlite', { trustProxy: ['10.9.9.9'] });
    const post = async (path: string, body: unknown, authorization?: string) =>
      jsonOf(
        await fetch(`${t.url}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-forwarded-proto': 'https',
            ...(authorization === undefined ? {} : { authorization }),
          },
          body: JSON.stringify(body),
        }),
      );
    accountId = (await post('/v1/accounts', { email: 'fa@example.com', password: PASSWORD })).id;
    const login = await post('/v1/sessions', { email: 'fa@example.com', password: PASSWORD });
    const created = await post('/v1/keys', { name: 'fa', scopes: ['a', 'b'] }, `Bearer ${login.token}`);
    key = { id: created.id, secret: created.secret };
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await untrusted?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 200 with the identity headers, never cached', async () => {
    const res = await ask({
      ...proxied,
      'x-original-method': 'GET',
      'x-original-uri': '/api/orders?x=1',
      authorization: basic(),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('keyward-account')).toBe(accountId);
    expect(res.headers.get('keyward-key')).toBe(key.id);
    expect(res.headers.get('keyward-scopes')).toBe('a b');
    expect(res.headers.get('keyward-method')).toBe('basic');
    // Present and empty: a proxy that copies it overwrites what a client sent.
    expect(res.headers.get('keyward-session')).toBe('');
  });

  it('reads X-Forwarded-Method / X-Forwarded-Uri (Caddy, Traefik) and signs against publicUrl', async () => {
    const uri = '/api/orders?page=2&q=a%20b';
    for (const method of ['GET', 'DELETE', 'PUT']) {
      const res = await ask({
        ...proxied,
        'x-forwarded-method': method,
        'x-forwarded-uri': uri,
        'x-forwarded-host': 'evil.example',
        authorization: oauth1(method, uri),
      });
      expect(res.status, method).toBe(200);
      expect(res.headers.get('keyward-method')).toBe('oauth1');
    }
  });

  it('answers only trusted proxies', async () => {
    const res = await ask(
      { 'x-original-method': 'GET', 'x-original-uri': '/api', authorization: basic() },
      'GET',
      () => untrusted,
    );
    expect(res.status).toBe(403);
    expect((await jsonOf(res)).error.code).toBe('forbidden');
    expect(res.headers.get('keyward-account')).toBeNull();
  });

  it('needs the original method and URI', async () => {
    const incomplete: Record<string, string>[] = [
      { 'x-original-uri': '/api' },
      { 'x-original-method': 'GET' },
      { 'x-original-method': 'GET', 'x-original-uri': 'http://other/api' },
      { 'x-original-method': 'G E T', 'x-original-uri': '/api' },
    ];
    for (const headers of incomplete) {
      const res = await ask({ ...proxied, ...headers, authorization: basic() });
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect((await jsonOf(res)).error.code).toBe('invalid_input');
    }
  });

  it('applies the route rules: public, unmatched, per-route methods', async () => {
    const pub = await ask({ ...proxied, 'x-original-method': 'GET', 'x-original-uri': '/status' });
    expect(pub.status).toBe(200);
    expect(pub.headers.get('keyward-account')).toBe('');
    const unmatched = await ask({
      ...proxied,
      'x-original-method': 'GET',
      'x-original-uri': '/elsewhere',
      authorization: basic(),
    });
    expect(unmatched.status).toBe(403);
    expect((await jsonOf(unmatched)).error.code).toBe('route_not_allowed');
    const wrongMethod = await ask({
      ...proxied,
      'x-original-method': 'GET',
      'x-original-uri': '/api/basic-only',
      authorization: oauth1('GET', '/api/basic-only'),
    });
    expect(wrongMethod.status).toBe(401);
    expect((await jsonOf(wrongMethod)).error.code).toBe('scheme_unsupported');
  });

  it('refuses with the challenges, and fails closed on a body it cannot see', async () => {
    const missing = await ask({ ...proxied, 'x-original-method': 'GET', 'x-original-uri': '/api' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/Basic realm=/);
    expect(missing.headers.get('cache-control')).toBe('no-store');

    const form = 'a=1';
    const formSigned = await ask({
      ...proxied,
      'x-original-method': 'POST',
      'x-original-uri': '/api/orders',
      'content-type': 'application/x-www-form-urlencoded',
      authorization: oauth1('POST', '/api/orders', { body: form, contentType: 'application/x-www-form-urlencoded' }),
    });
    expect(formSigned.status).toBe(400);
    expect((await jsonOf(formSigned)).error.code).toBe('body_not_forwarded');

    const json = '{"a":1}';
    const hashed = await ask({
      ...proxied,
      'x-original-method': 'POST',
      'x-original-uri': '/api/orders',
      'content-type': 'application/json',
      authorization: oauth1('POST', '/api/orders', { body: json, contentType: 'application/json', bodyHash: true }),
    });
    expect((await jsonOf(hashed)).error.code).toBe('body_not_forwarded');

    // A route that requires a body hash cannot be checked here either.
    const required = await ask({
      ...proxied,
      'x-original-method': 'POST',
      'x-original-uri': '/api/hashed',
      'content-type': 'application/json',
      authorization: oauth1('POST', '/api/hashed'),
    });
    expect((await jsonOf(required)).error.code).toBe('body_not_forwarded');

    // A non-form body the signature does not cover is verified as usual; Basic never reads it.
    const uncovered = await ask({
      ...proxied,
      'x-original-method': 'POST',
      'x-original-uri': '/api/orders',
      'content-type': 'application/json',
      authorization: oauth1('POST', '/api/orders'),
    });
    expect(uncovered.status).toBe(200);
    const basicForm = await ask({
      ...proxied,
      'x-original-method': 'POST',
      'x-original-uri': '/api/orders',
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(),
    });
    expect(basicForm.status).toBe(200);
  });

  it('takes every method, with a body it does not read', async () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const res = await fetch(`${t.url}/v1/forward-auth`, {
        method,
        headers: {
          ...proxied,
          'x-original-method': method,
          'x-original-uri': '/api/x',
          authorization: basic(),
          ...(method === 'GET' || method === 'HEAD' ? {} : { 'content-type': 'text/plain' }),
        },
        ...(method === 'GET' || method === 'HEAD' ? {} : { body: 'ignored' }),
      });
      expect(res.status, method).toBe(200);
      expect(res.headers.get('keyward-method')).toBe('basic');
    }
  });
});
