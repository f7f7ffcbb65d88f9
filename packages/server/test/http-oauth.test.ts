// POST /oauth/token (RFC 6749 §4.4, client credentials) on a real server over a socket, on SQLite
// and PostgreSQL: client authentication (Basic and post, never both), scope narrowing, lifetime,
// the RFC 6749 §5.2 error shape, bad input that writes nothing, limits, transport, store failure,
// and curl as an independent client.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { formatKeywardString } from '@keyward/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/databases.js';
import {
  actor,
  basicAuth,
  closeSuiteServer,
  getToken,
  json,
  newAccount,
  newClient,
  oauthRows,
  post,
  requestToken,
  secretsInLogs,
  startSuiteServer,
  type TestClient,
  whoami,
} from './support/oauth.js';
import { startTestServer, type TestServer } from './support/server.js';

const run = promisify(execFile);
const INVALID_CLIENT = { error: 'invalid_client', error_description: 'unknown client or wrong secret' };

function expectNoStore(res: Response): void {
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('pragma')).toBe('no-cache');
}

describe.each(ENGINES)('POST /oauth/token (%s)', (engine) => {
  let t: TestServer;
  let client: TestClient;
  const secrets: string[] = [];

  beforeAll(async () => {
    ({ t, client } = await startSuiteServer(engine, {}, secrets));
  });
  afterAll(() => closeSuiteServer(t, secrets));

  it('issues an opaque bearer token to client_secret_basic, with the key scopes, for an hour', async () => {
    const res = await requestToken(t, client);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectNoStore(res);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'read:orders write:orders' });
    expect(body.access_token).toMatch(/^kw_at_[0-9A-Za-z]{71}$/);
    expect(body).not.toHaveProperty('refresh_token');
    secrets.push(body.access_token);

    const me = await whoami(t, body.access_token);
    expect(me.status).toBe(200);
    expect((await json(me)).principal).toEqual({
      accountId: client.accountId,
      keyId: client.id,
      scopes: ['read:orders', 'write:orders'],
      method: 'oauth2',
    });
  });

  it('issues a token to client_secret_post', async () => {
    const res = await requestToken(t, client, { method: 'post', scope: 'read:orders' });
    expect(res.status).toBe(200);
    const body = await json(res);
    secrets.push(body.access_token);
    expect(body.scope).toBe('read:orders');
    expect((await json(await whoami(t, body.access_token))).principal.scopes).toEqual(['read:orders']);
  });

  it('narrows scopes to a subset of the key scopes and refuses any other with invalid_scope', async () => {
    const narrowed = await requestToken(t, client, { scope: 'write:orders' });
    expect((await json(narrowed)).scope).toBe('write:orders');
    const repeated = await requestToken(t, client, { scope: 'read:orders read:orders' });
    expect((await json(repeated)).scope).toBe('read:orders');
    for (const scope of ['admin', 'read:orders admin', 'read:orders  write:orders', 'bad"scope', 'read:orders ']) {
      const before = await oauthRows(t.server.context.store);
      const res = await requestToken(t, client, { scope });
      expect(res.status, scope).toBe(400);
      expectNoStore(res);
      expect((await json(res)).error, scope).toBe('invalid_scope');
      expect(await oauthRows(t.server.context.store)).toEqual(before);
    }
    // RFC 6749 §3.2: an empty scope= is an omitted one: the key's own scopes, never more.
    const empty = await requestToken(t, client, { scope: '' });
    expect(empty.status).toBe(200);
    const body = await json(empty);
    secrets.push(body.access_token);
    expect(body.scope).toBe(client.key.scopes.join(' '));
  });

  it('refuses an unknown key id and a wrong secret alike: 401 invalid_client with a Basic challenge', async () => {
    const stranger = await newClient(t);
    await t.server.context.store.keys.revoke(stranger.id, actor);
    const wrongSecret = { id: client.id, secret: stranger.secret };
    // A well-formed id that no key has.
    const unknownId = { id: formatKeywardString('key_id', { id: 'Zz9Zz9Zz9Zz9Zz9Zz9Zz9Z' }), secret: client.secret };
    for (const creds of [wrongSecret, unknownId]) {
      for (const method of ['basic', 'post'] as const) {
        const res = await requestToken(t, creds, { method });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="keyward", charset="UTF-8"');
        expectNoStore(res);
        expect(await json(res)).toEqual(INVALID_CLIENT);
      }
    }
    t.clock.t += 61_000; // past the failure windows for the tests below
  });

  it('refuses missing, malformed and non-Basic client authentication with invalid_client', async () => {
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{ grant_type: 'client_credentials' }, {}],
      [{ grant_type: 'client_credentials', client_id: client.id }, {}],
      [{ grant_type: 'client_credentials', client_secret: client.secret }, {}],
      [{ grant_type: 'client_credentials' }, { authorization: `Bearer ${client.token}` }],
      [{ grant_type: 'client_credentials' }, { authorization: 'Basic !!!' }],
      [{ grant_type: 'client_credentials' }, { authorization: basicAuth('someone', 'something') }],
      [{ grant_type: 'client_credentials' }, { authorization: basicAuth(client.id, 'kw_sk_short') }],
    ];
    for (const [body, headers] of cases) {
      const res = await post(t, '/oauth/token', body, headers);
      expect(res.status, JSON.stringify(body)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="keyward", charset="UTF-8"');
      expect((await json(res)).error).toBe('invalid_client');
    }
    t.clock.t += 61_000;
  });

  it('refuses two authentication methods at once with invalid_request (RFC 6749 §2.3)', async () => {
    const both = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret },
      { authorization: basicAuth(client.id, client.secret) },
    );
    expect(both.status).toBe(400);
    expect(await json(both)).toEqual({
      error: 'invalid_request',
      error_description: 'credentials in both the Authorization header and the body',
    });
    const other = await newClient(t);
    const mismatch = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials', client_id: other.id },
      { authorization: basicAuth(client.id, client.secret) },
    );
    expect(mismatch.status).toBe(400);
    expect((await json(mismatch)).error).toBe('invalid_request');
    // The same client_id beside Basic is only a repetition, and allowed.
    const same = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials', client_id: client.id },
      { authorization: basicAuth(client.id, client.secret) },
    );
    expect(same.status).toBe(200);
  });

  it('refuses keys that cannot be used: disabled, revoked, expired, account disabled; unauthorized_client without oauth2', async () => {
    const { store } = t.server.context;
    const disabled = await newClient(t);
    await store.keys.setEnabled(disabled.id, false, actor);
    const revoked = await newClient(t);
    await store.keys.revoke(revoked.id, actor);
    const expiring = await newClient(t, { expiresAt: t.clock.t + 1000 });
    const accountId = await newAccount(t);
    const orphan = await newClient(t, {}, accountId);
    await store.accounts.setStatus(accountId, 'disabled', actor);
    const expected = new Map([
      [disabled, 'the key is disabled'],
      [revoked, 'the key is revoked'],
      [orphan, 'the account is disabled'],
    ]);
    t.clock.t += 2000;
    expected.set(expiring, 'the key has expired');
    for (const [key, description] of expected) {
      const res = await requestToken(t, key);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="keyward", charset="UTF-8"');
      expect(await json(res)).toEqual({ error: 'invalid_client', error_description: description });
    }
    const basicOnly = await newClient(t, { methods: ['basic'] });
    const refused = await requestToken(t, basicOnly);
    expect(refused.status).toBe(400);
    expect(await json(refused)).toEqual({
      error: 'unauthorized_client',
      error_description: 'this key may not use OAuth 2.0',
    });
    const oauthOnly = await newClient(t, { methods: ['oauth2'] });
    expect((await requestToken(t, oauthOnly)).status).toBe(200);
  });

  it('answers an unknown grant type with unsupported_grant_type, before any credential check', async () => {
    for (const grant of ['password', 'authorization_code', 'refresh_token', 'CLIENT_CREDENTIALS']) {
      const res = await requestToken(t, client, { extra: { grant_type: grant } });
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(await json(res)).toEqual({
        error: 'unsupported_grant_type',
        error_description: 'only grant_type=client_credentials is supported',
      });
    }
  });

  it('refuses malformed requests with 400 invalid_request in the RFC 6749 shape, and writes nothing', async () => {
    const { store } = t.server.context;
    const auth = { authorization: basicAuth(client.id, client.secret) };
    const before = await oauthRows(store);
    const bad: [string, RequestInit][] = [
      [
        'json body',
        { headers: { ...auth, 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' },
      ],
      ['json __proto__', { headers: { ...auth, 'content-type': 'application/json' }, body: '{"__proto__":{"x":1}}' }],
      ['text body', { headers: { ...auth, 'content-type': 'text/plain' }, body: 'grant_type=client_credentials' }],
      ['no body', { headers: auth }],
      ['empty form', { headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: '' }],
      [
        'missing grant_type',
        { headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'scope=read%3Aorders' },
      ],
      [
        'empty grant_type',
        { headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=' },
      ],
      [
        'repeated grant_type',
        {
          headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&grant_type=client_credentials',
        },
      ],
      [
        'repeated scope',
        {
          headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&scope=read%3Aorders&scope=write%3Aorders',
        },
      ],
      [
        'repeated client_id',
        {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams([
            ['grant_type', 'client_credentials'],
            ['client_id', client.id],
            ['client_id', client.id],
            ['client_secret', client.secret],
          ]).toString(),
        },
      ],
      [
        '__proto__ param',
        {
          headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&__proto__=x',
        },
      ],
      [
        '__proto__[scope] param',
        {
          headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&constructor=y',
        },
      ],
      [
        'bad percent-encoding',
        { headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client%ZZ' },
      ],
      [
        'too many parameters',
        {
          headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: `grant_type=client_credentials&${Array.from({ length: 40 }, (_, i) => `p${i}=1`).join('&')}`,
        },
      ],
    ];
    for (const [name, init] of bad) {
      const res = await fetch(`${t.url}/oauth/token`, { method: 'POST', ...init });
      expect(res.status, name).toBe(400);
      expectNoStore(res);
      const body = await json(res);
      expect(Object.keys(body).sort(), name).toEqual(['error', 'error_description']);
      expect(body.error, name).toBe('invalid_request');
      expect(body.error_description, name).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
    }
    const repeated = await post(t, '/oauth/token', 'grant_type=client_credentials&grant_type=x', auth);
    expect(await json(repeated)).toEqual({
      error: 'invalid_request',
      error_description: 'grant_type is repeated (RFC 6749 section 3.2)',
    });
    expect(await oauthRows(store)).toEqual(before);
    // A charset parameter on the media type is fine (RFC 6749 Appendix B).
    const charset = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      {
        ...auth,
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
      },
    );
    expect(charset.status).toBe(200);
  });

  it('ignores unknown parameters (RFC 6749 §3.2)', async () => {
    const res = await requestToken(t, client, { extra: { audience: 'x', resource: 'https://x.example' } });
    expect(res.status).toBe(200);
  });

  it('uses the configured lifetime, and never outlives the key', async () => {
    const short = await startTestServer(engine, { tokenTtlSeconds: 600 }, { frozen: true });
    try {
      const c = await newClient(short);
      const body = await json(await requestToken(short, c));
      expect(body.expires_in).toBe(600);
      const expiring = await newClient(short, { expiresAt: short.clock.t + 120_500 });
      expect((await json(await requestToken(short, expiring))).expires_in).toBe(120);
      const token = await getToken(short, c);
      short.clock.t += 599_000;
      expect((await whoami(short, token)).status).toBe(200);
      short.clock.t += 1000;
      const expired = await whoami(short, token);
      expect(expired.status).toBe(401);
      expect((await json(expired)).error.code).toBe('token_expired');
    } finally {
      await short.close();
    }
  });

  it('works with curl --user id:secret -d grant_type=client_credentials, and the token then works and can be revoked', async () => {
    const c = await newClient(t, { scopes: ['read:orders'] });
    const { stdout } = await run('curl', [
      '--silent',
      '--show-error',
      '--user',
      `${c.id}:${c.secret}`,
      '-d',
      'grant_type=client_credentials',
      `${t.url}/oauth/token`,
    ]);
    const body = JSON.parse(stdout);
    secrets.push(body.access_token);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'read:orders' });
    const me = await whoami(t, body.access_token);
    expect(me.status).toBe(200);
    expect((await json(me)).principal.method).toBe('oauth2');
    const revoked = await post(
      t,
      '/oauth/revoke',
      { token: body.access_token },
      { authorization: basicAuth(c.id, c.secret) },
    );
    expect(revoked.status).toBe(200);
    const after = await whoami(t, body.access_token);
    expect(after.status).toBe(401);
    expect((await json(after)).error.code).toBe('token_invalid');
  });

  it('fails closed with 503 when the store cannot write the token, and issues nothing', async () => {
    const { db } = t.server.context.store.context;
    await sql`alter table access_tokens rename to access_tokens_away`.execute(db);
    try {
      const res = await requestToken(t, client);
      expect(res.status).toBe(503);
      expectNoStore(res);
      expect(await json(res)).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'the credential store cannot be reached; try again later',
      });
    } finally {
      await sql`alter table access_tokens_away rename to access_tokens`.execute(db);
    }
    expect(t.logs.some((l) => l.includes('oauth endpoint failed closed'))).toBe(true);
    expect((await requestToken(t, client)).status).toBe(200);
  });

  it('leaves other routes in the Keyward error shape', async () => {
    const res = await fetch(`${t.url}/v1/whoami`, {
      method: 'POST',
      headers: { authorization: basicAuth(client.id, client.secret), 'content-type': 'application/json' },
      body: '{"__proto__": {}}',
    });
    expect(res.status).toBe(400);
    expect((await json(res)).error.code).toBe('invalid_input');
  });
});

describe('POST /oauth/token: failure limits and transport', () => {
  let t: TestServer;
  let client: TestClient;

  beforeAll(async () => {
    // The loopback peer is a trusted proxy, so tests can speak for other client addresses.
    t = await startTestServer(
      'sqlite',
      {
        trustProxy: ['127.0.0.1'],
        limits: { failuresPerIp: { limit: 5, windowSeconds: 60 }, failuresPerKey: { limit: 3, windowSeconds: 60 } },
      },
      { frozen: true },
    );
    client = await newClient(t);
  });
  afterAll(async () => {
    expect(secretsInLogs(t, [client.secret, client.token])).toEqual([]);
    await t?.close();
  });

  const from = (ip: string, proto = 'https') => ({ 'x-forwarded-for': ip, 'x-forwarded-proto': proto });

  it('refuses a client secret over plain HTTP from a non-loopback address, unless a trusted proxy says https', async () => {
    const before = await oauthRows(t.server.context.store);
    for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
      const res = await post(
        t,
        path,
        { grant_type: 'client_credentials', token: 'x' },
        {
          authorization: basicAuth(client.id, client.secret),
          ...from('203.0.113.7', 'http'),
        },
      );
      expect(res.status, path).toBe(400);
      expect(await json(res)).toEqual({
        error: 'invalid_request',
        error_description: 'this endpoint takes a client secret and must be called over https',
      });
    }
    expect(await oauthRows(t.server.context.store)).toEqual(before);
    const secure = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      {
        authorization: basicAuth(client.id, client.secret),
        ...from('203.0.113.7'),
      },
    );
    expect(secure.status).toBe(200);
    // Metadata carries no secret and is served to anyone.
    const metadata = await fetch(`${t.url}/.well-known/oauth-authorization-server`, {
      headers: from('203.0.113.7', 'http'),
    });
    expect(metadata.status).toBe(200);
  });

  it('limits failed client authentications per key id and address: the stranger gets 429, never the right secret', async () => {
    const wrong = { id: client.id, secret: (await newClient(t)).secret };
    const token = (headers: Record<string, string>) =>
      post(t, '/oauth/token', { grant_type: 'client_credentials' }, headers);
    // A stranger naming the key id from one address: 401 up to the per-(key, address) limit...
    for (let i = 0; i < 3; i++) {
      const res = await token({ authorization: basicAuth(wrong.id, wrong.secret), ...from('198.51.100.9') });
      expect(res.status).toBe(401);
    }
    // ...then 429 with Retry-After for every wrong attempt.
    const limited = await token({ authorization: basicAuth(wrong.id, wrong.secret), ...from('198.51.100.9') });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('cache-control')).toBe('no-store');
    // Failures from other addresses count per address, not against the key.
    for (let i = 0; i < 3; i++) {
      const res = await token({ authorization: basicAuth(wrong.id, wrong.secret), ...from(`198.51.100.${i + 1}`) });
      expect(res.status).toBe(401);
    }
    // The owner's right secret is accepted, from her address and even from the stranger's.
    expect((await token({ authorization: basicAuth(client.id, client.secret), ...from('198.51.100.50') })).status).toBe(
      200,
    );
    expect((await token({ authorization: basicAuth(client.id, client.secret), ...from('198.51.100.9') })).status).toBe(
      200,
    );
    // The verifier counts in the same limiter: Basic with this key is accepted too.
    const basic = await fetch(`${t.url}/v1/whoami`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
        ...from('198.51.100.51'),
      },
    });
    expect(basic.status).toBe(200);
    t.clock.t += 61_000;
  });

  it('limits failed client authentications per client address, whatever the key', async () => {
    const ip = from('192.0.2.44');
    for (let i = 0; i < 5; i++) {
      const stranger = await newClient(t);
      const res = await post(
        t,
        '/oauth/token',
        { grant_type: 'client_credentials' },
        {
          authorization: basicAuth(stranger.id, client.secret),
          ...ip,
        },
      );
      expect(res.status).toBe(401);
    }
    // Over the address's limit, every wrong attempt is 429 with Retry-After...
    const stranger = await newClient(t);
    const limited = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(stranger.id, client.secret), ...ip },
    );
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // ...but the right secret from the same address is still accepted on every endpoint.
    for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
      const res = await post(
        t,
        path,
        { grant_type: 'client_credentials', token: 'x' },
        {
          authorization: basicAuth(client.id, client.secret),
          ...ip,
        },
      );
      expect(res.status, path).toBe(200);
    }
    // Another address is not affected.
    const other = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      {
        authorization: basicAuth(client.id, client.secret),
        ...from('192.0.2.45'),
      },
    );
    expect(other.status).toBe(200);
    t.clock.t += 61_000;
  });

  it('counts malformed client credentials as failures too', async () => {
    const ip = from('192.0.2.99');
    for (let i = 0; i < 5; i++) {
      const res = await post(
        t,
        '/oauth/token',
        { grant_type: 'client_credentials' },
        {
          authorization: basicAuth('nobody', 'nothing'),
          ...ip,
        },
      );
      expect(res.status).toBe(401);
    }
    const limited = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basicAuth('nobody', 'nothing'), ...ip },
    );
    expect(limited.status).toBe(429);
    const res = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      {
        authorization: basicAuth(client.id, client.secret),
        ...ip,
      },
    );
    expect(res.status).toBe(200);
  });
});
