// POST /v1/verify on both engines: a service forwards a request it received and gets the
// verifier's outcome. Basic, API key and OAuth 1.0a (replay refused, here and on Keyward's own
// routes), transport rules, the caller's own authorization, and strict input.
import { signOAuth1 } from '@keyward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SCOPE, VERIFY_SCOPE } from '../src/http/context.js';
import type { IssuedKey } from '../src/store/index.js';
import { ENGINES } from './support/databases.js';
import { jsonOf, startTestServer, type TestServer } from './support/server.js';

const SECRET = /kw_(?:sk|key|at|st|ss)_[0-9A-Za-z]{40,}/;
const system = { type: 'system' as const };
const basic = (key: { id: string; secret: string }) =>
  `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}`;

describe.each(ENGINES)('POST /v1/verify on %s', (engine) => {
  let t: TestServer;
  let service: IssuedKey;
  let client: IssuedKey;
  let scoped: IssuedKey;
  let adminKey: IssuedKey;
  let plain: IssuedKey;
  let nonce = 0;

  async function key(accountId: string, scopes: string[], name: string): Promise<IssuedKey> {
    const made = await t.server.context.store.keys.create(accountId, { name, scopes }, system);
    if (!made.ok) throw new Error(made.code);
    return made.value;
  }

  async function verify(
    input: unknown,
    options: { auth?: string; raw?: string; type?: string } = {},
    // biome-ignore lint/suspicious/noExplicitAny: JSON responses of many shapes, checked by the assertions
  ): Promise<{ status: number; body: any; headers: Headers; text: string }> {
    const headers: Record<string, string> = { 'content-type': options.type ?? 'application/json' };
    const auth = options.auth ?? basic(service);
    if (auth !== '') headers.authorization = auth;
    const res = await fetch(`${t.url}/v1/verify`, {
      method: 'POST',
      headers,
      body: options.raw ?? JSON.stringify(input),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers, text };
  }

  const forwarded = (authorization: string, extra: Record<string, unknown> = {}) => ({
    method: 'GET',
    url: '/orders?page=2',
    headers: { authorization, host: 'api.example.test' },
    remoteAddress: '203.0.113.7',
    secure: true,
    ...extra,
  });

  const signed = (method: string, target: string, extra: { body?: string; contentType?: string } = {}) =>
    signOAuth1({
      method,
      url: `${t.server.context.config.publicUrl}${target}`,
      consumerKey: client.id,
      consumerSecret: client.secret,
      nonce: `n-${engine}-${++nonce}-${Math.random().toString(36).slice(2)}`,
      timestamp: Math.floor(Date.now() / 1000),
      ...extra,
    });

  beforeAll(async () => {
    t = await startTestServer(engine);
    const { store } = t.server.context;
    const make = async (email: string, role: 'admin' | 'member' = 'member') => {
      const made = await store.accounts.create({ email, password: 'correct horse battery', role }, system);
      if (!made.ok) throw new Error(made.code);
      return made.value;
    };
    const gateway = await make('gateway@example.com');
    const customer = await make('customer@example.com');
    const admin = await make('root@example.com', 'admin');
    service = await key(gateway.id, [VERIFY_SCOPE], 'gateway');
    plain = await key(gateway.id, [], 'no verify scope');
    client = await key(customer.id, [], 'customer');
    scoped = await key(customer.id, ['read:orders'], 'customer scoped');
    adminKey = await key(admin.id, [ADMIN_SCOPE], 'admin');
  });
  afterAll(async () => {
    const leaked = t?.logs.filter((line) => SECRET.test(line)) ?? [];
    await t?.close();
    expect(leaked).toEqual([]);
  });

  describe('the caller', () => {
    it('needs credentials (401) with keyward:verify or an admin key (else 403)', async () => {
      const none = await verify(forwarded(basic(client)), { auth: '' });
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('credentials_missing');
      const noScope = await verify(forwarded(basic(client)), { auth: basic(plain) });
      expect(noScope.status).toBe(403);
      expect(noScope.body.error.code).toBe('insufficient_scope');
      const admin = await verify(forwarded(basic(client)), { auth: basic(adminKey) });
      expect(admin.status).toBe(200);
      expect(admin.body.ok).toBe(true);
    });

    it('is told refusals of the client as a 200 with ok false, never as its own error', async () => {
      const res = await verify(forwarded(basic({ id: client.id, secret: `${client.secret.slice(0, -2)}xx` })));
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toMatchObject({ ok: false, status: 401 });
      expect(['key_unknown', 'malformed_token']).toContain(res.body.code);
      expect(res.body.challenge.length).toBeGreaterThan(0);
      expect(res.text).not.toMatch(SECRET);
    });
  });

  describe('methods', () => {
    it('verifies Basic and answers with the principal', async () => {
      const res = await verify(forwarded(basic(client)));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ok: true,
        principal: { accountId: client.key.accountId, keyId: client.id, scopes: [], method: 'basic' },
      });
    });

    it('verifies an API key token, with header names in any case', async () => {
      const res = await verify({ ...forwarded(''), headers: { Authorization: `Bearer ${client.token}` } });
      expect(res.body).toMatchObject({ ok: true, principal: { keyId: client.id, method: 'api-key' } });
    });

    it('applies transport rules to the client: secrets over plain HTTP only from loopback', async () => {
      const insecure = await verify(forwarded(basic(client), { secure: false }));
      expect(insecure.body).toMatchObject({ ok: false, status: 403, code: 'transport_insecure' });
      const loopback = await verify(forwarded(basic(client), { secure: false, remoteAddress: '127.0.0.1' }));
      expect(loopback.body.ok).toBe(true);
    });

    it('checks the scopes the service asks for', async () => {
      const missing = await verify(forwarded(basic(client), { scopes: ['read:orders'] }));
      expect(missing.body).toMatchObject({ ok: false, status: 403, code: 'insufficient_scope' });
      const has = await verify(forwarded(basic(scoped), { scopes: ['read:orders'] }));
      expect(has.body).toMatchObject({ ok: true, principal: { scopes: ['read:orders'] } });
    });

    it('verifies OAuth 1.0a against the public URL, and refuses the replay', async () => {
      const sig = signed('GET', '/orders?page=2');
      const first = await verify(forwarded(sig.authorization, { secure: false }));
      expect(first.body).toMatchObject({ ok: true, principal: { keyId: client.id, method: 'oauth1' } });
      const replay = await verify(forwarded(sig.authorization, { secure: false }));
      expect(replay.body).toMatchObject({ ok: false, status: 401, code: 'nonce_reused' });
    });

    it("consumes the nonce for good: Keyward's own routes refuse it afterwards", async () => {
      const sig = signed('GET', '/v1/whoami');
      const viaApi = await verify({
        remoteAddress: '203.0.113.7',
        method: 'GET',
        url: '/v1/whoami',
        headers: { authorization: sig.authorization },
      });
      expect(viaApi.body.ok).toBe(true);
      const direct = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: sig.authorization } });
      expect(direct.status).toBe(401);
      expect((await jsonOf(direct)).error.code).toBe('nonce_reused');
    });

    it('refuses a bad OAuth 1.0a signature: another path, method or origin than signed', async () => {
      for (const [method, url] of [
        ['GET', '/orders?page=3'],
        ['DELETE', '/orders?page=2'],
      ]) {
        const sig = signed('GET', '/orders?page=2');
        const res = await verify({
          remoteAddress: '203.0.113.7',
          method,
          url,
          headers: { authorization: sig.authorization },
        });
        expect(res.body, `${method} ${url}`).toMatchObject({ ok: false, status: 401, code: 'signature_invalid' });
      }
      const elsewhere = signOAuth1({
        method: 'GET',
        url: 'https://elsewhere.example/orders',
        consumerKey: client.id,
        consumerSecret: client.secret,
        nonce: `elsewhere-${engine}`,
        timestamp: Math.floor(Date.now() / 1000),
      });
      const res = await verify({
        remoteAddress: '203.0.113.7',
        method: 'GET',
        url: '/orders',
        headers: { authorization: elsewhere.authorization },
      });
      expect(res.body).toMatchObject({ ok: false, code: 'signature_invalid' });
    });

    it('checks a signed form body, given as text or as base64', async () => {
      const body = 'item=widget&note=rush+order%21';
      const type = 'application/x-www-form-urlencoded';
      const asText = signed('POST', '/orders', { body, contentType: type });
      const text = await verify({
        remoteAddress: '203.0.113.7',
        method: 'POST',
        url: '/orders',
        headers: { authorization: asText.authorization, 'content-type': type },
        body,
      });
      expect(text.body.ok).toBe(true);
      const asBase64 = signed('POST', '/orders', { body, contentType: type });
      const b64 = await verify({
        remoteAddress: '203.0.113.7',
        method: 'POST',
        url: '/orders',
        headers: { authorization: asBase64.authorization, 'content-type': type },
        body: Buffer.from(body).toString('base64'),
        bodyEncoding: 'base64',
      });
      expect(b64.body.ok).toBe(true);
      const tampered = signed('POST', '/orders', { body, contentType: type });
      const changed = await verify({
        remoteAddress: '203.0.113.7',
        method: 'POST',
        url: '/orders',
        headers: { authorization: tampered.authorization, 'content-type': type },
        body: 'item=gadget&note=rush+order%21',
      });
      expect(changed.body).toMatchObject({ ok: false, code: 'signature_invalid' });
    });

    it('reports a timestamp refusal with the headers the client needs', async () => {
      const stale = signOAuth1({
        method: 'GET',
        url: `${t.server.context.config.publicUrl}/orders`,
        consumerKey: client.id,
        consumerSecret: client.secret,
        nonce: `stale-${engine}`,
        timestamp: Math.floor(Date.now() / 1000) - 3600,
      });
      const res = await verify({
        remoteAddress: '203.0.113.7',
        method: 'GET',
        url: '/orders',
        headers: { authorization: stale.authorization },
      });
      expect(res.body).toMatchObject({ ok: false, status: 401, code: 'timestamp_refused' });
      expect(res.body.headers.Date ?? res.body.headers.date).toBeDefined();
    });
  });

  describe('input', () => {
    const good = () => forwarded(basic(client));

    it('refuses malformed requests with 4xx and a code, and consumes nothing', async () => {
      const sig = signed('GET', '/orders');
      const base = {
        remoteAddress: '203.0.113.7',
        method: 'GET',
        url: '/orders',
        headers: { authorization: sig.authorization },
      };
      const cases: [string, unknown, { raw?: string; type?: string }, number, string][] = [
        ['missing url', { method: 'GET', headers: {} }, {}, 400, 'invalid_input'],
        ['missing headers', { method: 'GET', url: '/' }, {}, 400, 'invalid_input'],
        ['absolute url', { ...base, url: 'https://x/orders' }, {}, 400, 'invalid_input'],
        ['url with a space', { ...base, url: '/a b' }, {}, 400, 'invalid_input'],
        ['url with a fragment', { ...base, url: '/a#b' }, {}, 400, 'invalid_input'],
        ['method with a space', { ...base, method: 'GET X' }, {}, 400, 'invalid_input'],
        ['array for the method', { ...base, method: ['GET'] }, {}, 400, 'invalid_input'],
        ['number for a header', { ...base, headers: { authorization: 5 } }, {}, 400, 'invalid_input'],
        ['CRLF in a header', { ...base, headers: { authorization: 'Basic x\r\nx-evil: 1' } }, {}, 400, 'invalid_input'],
        ['bad header name', { ...base, headers: { 'bad name': 'x' } }, {}, 400, 'invalid_input'],
        [
          'same header twice in two cases',
          { ...base, headers: { authorization: sig.authorization, Authorization: sig.authorization } },
          {},
          400,
          'invalid_input',
        ],
        [
          'too many headers',
          { ...base, headers: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-h${i}`, 'v'])) },
          {},
          400,
          'invalid_input',
        ],
        ['bad remoteAddress', { ...base, remoteAddress: 'localhost' }, {}, 400, 'invalid_input'],
        ['no remoteAddress', { ...base, remoteAddress: undefined }, {}, 400, 'invalid_input'],
        ['string for secure', { ...base, secure: 'yes' }, {}, 400, 'invalid_input'],
        ['bad base64', { ...base, body: 'a$b=', bodyEncoding: 'base64' }, {}, 400, 'invalid_input'],
        ['encoding without body', { ...base, bodyEncoding: 'base64' }, {}, 400, 'invalid_input'],
        ['unknown field', { ...base, origin: 'https://elsewhere.example' }, {}, 400, 'invalid_input'],
        [
          'duplicated field',
          null,
          { raw: '{"method":"GET","method":"POST","url":"/","headers":{}}' },
          400,
          'invalid_input',
        ],
        [
          '__proto__',
          null,
          { raw: '{"method":"GET","url":"/","headers":{"__proto__":{"a":"b"}}}' },
          400,
          'invalid_input',
        ],
        ['not JSON', null, { raw: '{"method":' }, 400, 'invalid_input'],
        ['text/plain', null, { raw: JSON.stringify(base), type: 'text/plain' }, 415, 'media_type_unsupported'],
        [
          'oversized',
          null,
          { raw: JSON.stringify({ ...base, body: 'x'.repeat(2 * 1024 * 1024) }) },
          413,
          'body_too_large',
        ],
      ];
      for (const [label, input, raw, status, code] of cases) {
        const res = await verify(input, raw);
        expect(res.status, label).toBe(status);
        expect(res.body?.error?.code, label).toBe(code);
      }
      // None of them reached the verifier: the signed request is still unused.
      expect((await verify(base)).body.ok).toBe(true);
      expect((await verify(good())).body.ok).toBe(true);
    });
  });
});
