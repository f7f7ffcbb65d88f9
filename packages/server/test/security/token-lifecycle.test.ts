// Key changes reach their tokens at once (issue 16, finding 4 and the token-endpoint parts of
// finding 12; ASVS 5.0 8.3.2): disabling a key, narrowing its scopes, taking OAuth 2.0 from it,
// rotating it with no grace or reviving it after it expired revokes the access tokens it no longer
// covers, opaque and JWT (by `jti`), in the same transaction, and the verifier's cached copies drop
// before the change returns. On the old code each of these tokens worked again (or still) and
// introspected as active. Then the token endpoint: an empty `scope=` is an omitted one (RFC 6749
// §3.2), the key's own scopes and never more, and a limited client gets the RFC 6749 §5.2 shape
// (it used to get the non-standard `temporarily_unavailable`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../support/databases.js';
import {
  actor,
  basicAuth,
  closeSuiteServer,
  getToken,
  json,
  newClient,
  post,
  requestToken,
  startSuiteServer,
  type TestClient,
  whoami,
} from '../support/oauth.js';
import { startTestServer, type TestServer } from '../support/server.js';

const HOUR = 60 * 60 * 1000;
const FORMATS = ['opaque', 'jwt'] as const;
const CASES = ENGINES.flatMap((engine) => FORMATS.map((format) => [engine, format] as const));

describe.each(CASES)('key changes reach their tokens (%s, %s tokens)', (engine, format) => {
  let t: TestServer;
  /** A resource server's key (`keyward:verify`, another account): may introspect any token. */
  let introspector: TestClient;
  const secrets: string[] = [];

  beforeAll(async () => {
    ({ t, client: introspector } = await startSuiteServer(engine, { tokenFormat: format }, secrets));
    const ok = await t.server.context.store.keys.update(introspector.id, { scopes: ['keyward:verify'] }, actor);
    expect(ok.ok).toBe(true);
  });
  afterAll(() => closeSuiteServer(t, secrets));

  const keys = () => t.server.context.store.keys;

  async function client(settings: Parameters<typeof newClient>[1] = {}): Promise<TestClient> {
    const c = await newClient(t, settings);
    secrets.push(c.secret, c.token);
    return c;
  }

  async function token(c: TestClient, scope?: string): Promise<string> {
    const value = await getToken(t, c, scope === undefined ? {} : { scope });
    secrets.push(value);
    if (format === 'jwt') expect(value).toMatch(/^ey/);
    else expect(value).toMatch(/^kw_at_/);
    return value;
  }

  /** Used once, so that the verifier holds it in its cache: the change must reach the cache too. */
  async function usable(value: string): Promise<void> {
    const res = await whoami(t, value);
    expect(res.status).toBe(200);
  }

  async function refused(value: string): Promise<void> {
    const res = await whoami(t, value);
    expect(res.status).toBe(401);
    expect((await json(res)).error.code).toBe('token_invalid');
  }

  async function introspection(value: string) {
    const res = await post(
      t,
      '/oauth/introspect',
      { token: value },
      {
        authorization: basicAuth(introspector.id, introspector.secret),
      },
    );
    expect(res.status).toBe(200);
    return json(res);
  }

  async function tokensRevokedBy(c: TestClient, action: string): Promise<unknown> {
    const events = await t.server.context.store.audit.list({ objectId: c.id });
    return events.find((e) => e.action === action)?.detail;
  }

  it('disable then enable: the old token stays dead and introspects inactive', async () => {
    const c = await client();
    const value = await token(c);
    await usable(value);
    expect((await introspection(value)).active).toBe(true);
    expect((await keys().setEnabled(c.id, false, actor)).ok).toBe(true);
    await refused(value);
    expect((await keys().setEnabled(c.id, true, actor)).ok).toBe(true);
    await refused(value);
    expect(await introspection(value)).toEqual({ active: false });
    expect(await tokensRevokedBy(c, 'key.disable')).toEqual({ tokensRevoked: 1 });
    // The key itself works again, and so does a token issued after the change.
    await usable(await token(c));
  });

  it('narrowing scopes revokes the tokens holding a scope the key lost, and only those', async () => {
    const c = await client();
    const wide = await token(c, 'read:orders write:orders');
    const narrow = await token(c, 'read:orders');
    await usable(wide);
    await usable(narrow);
    expect((await keys().update(c.id, { scopes: ['read:orders', 'list:orders'] }, actor)).ok).toBe(true);
    await refused(wide);
    expect(await introspection(wide)).toEqual({ active: false });
    const still = await whoami(t, narrow);
    expect(still.status).toBe(200);
    expect((await json(still)).principal.scopes).toEqual(['read:orders']);
    expect((await introspection(narrow)).active).toBe(true);
    expect(await tokensRevokedBy(c, 'key.update')).toEqual({ fields: ['scopes'], tokensRevoked: 1 });
    // Widening the key again brings nothing back.
    expect((await keys().update(c.id, { scopes: ['read:orders', 'write:orders'] }, actor)).ok).toBe(true);
    await refused(wide);
  });

  it('taking oauth2 from the key revokes its tokens; giving it back does not revive them', async () => {
    const c = await client();
    const value = await token(c);
    await usable(value);
    expect((await keys().update(c.id, { methods: ['basic', 'oauth1'] }, actor)).ok).toBe(true);
    await refused(value);
    expect(await introspection(value)).toEqual({ active: false });
    expect((await keys().update(c.id, { methods: null }, actor)).ok).toBe(true);
    await refused(value);
    expect(await introspection(value)).toEqual({ active: false });
  });

  it('a method change that keeps oauth2, or a rename, leaves the tokens alone', async () => {
    const c = await client();
    const value = await token(c);
    await usable(value);
    expect((await keys().update(c.id, { methods: ['oauth2', 'basic'], name: 'renamed' }, actor)).ok).toBe(true);
    await usable(value);
    expect((await introspection(value)).active).toBe(true);
  });

  it('revoking the key revokes its tokens', async () => {
    const c = await client();
    const value = await token(c);
    await usable(value);
    expect((await keys().revoke(c.id, actor)).ok).toBe(true);
    await refused(value);
    expect(await introspection(value)).toEqual({ active: false });
    expect(await tokensRevokedBy(c, 'key.revoke')).toEqual({ tokensRevoked: 1 });
  });

  it('rotating with no grace revokes the tokens; with a grace period they stay', async () => {
    const c = await client();
    const value = await token(c);
    await usable(value);
    expect((await keys().rotate(c.id, { graceMs: HOUR }, actor)).ok).toBe(true);
    await usable(value);
    const rotated = await keys().rotate(c.id, { graceMs: 0 }, actor);
    if (!rotated.ok) throw new Error(rotated.code);
    secrets.push(rotated.value.secret, rotated.value.token);
    await refused(value);
    expect(await introspection(value)).toEqual({ active: false });
    await usable(await token({ ...c, secret: rotated.value.secret }));
  });

  it('an expired key given a new expiry does not bring back its tokens', async () => {
    const c = await client({ expiresAt: t.clock.t + 2 * HOUR });
    const value = await token(c);
    await usable(value);
    // The expiry moved before the token's end; then the key expires with the token still live.
    expect((await keys().update(c.id, { expiresAt: t.clock.t + 60_000 }, actor)).ok).toBe(true);
    t.clock.t += 2 * 60_000;
    const expired = await whoami(t, value);
    expect((await json(expired)).error.code).toBe('key_expired');
    expect((await keys().update(c.id, { expiresAt: t.clock.t + HOUR }, actor)).ok).toBe(true);
    await refused(value);
    expect(await introspection(value)).toEqual({ active: false });
  });
});

describe.each(ENGINES)('the token endpoint reads an empty scope as an omitted one (%s)', (engine) => {
  let t: TestServer;
  let client: TestClient;
  const secrets: string[] = [];

  beforeAll(async () => {
    ({ t, client } = await startSuiteServer(engine, {}, secrets));
  });
  afterAll(() => closeSuiteServer(t, secrets));

  it('`scope=` grants the key its own scopes, as no scope does (RFC 6749 §3.2, §3.3), never more', async () => {
    for (const method of ['basic', 'post'] as const) {
      for (const scope of ['', undefined]) {
        const res = await requestToken(t, client, { method, ...(scope === undefined ? {} : { scope }) });
        expect(res.status, `${method} ${String(scope)}`).toBe(200);
        const body = await json(res);
        secrets.push(body.access_token);
        expect(body.scope).toBe('read:orders write:orders');
      }
    }
  });
});

describe('a limited OAuth client gets the RFC 6749 §5.2 error shape', () => {
  let t: TestServer;
  let client: TestClient;

  beforeAll(async () => {
    // The loopback peer is a trusted proxy, so the test can speak for another client address.
    t = await startTestServer(
      'sqlite',
      { trustProxy: ['127.0.0.1'], limits: { failuresPerIp: { limit: 3, windowSeconds: 60 } } },
      { frozen: true },
    );
    client = await newClient(t);
  });
  afterAll(() => closeSuiteServer(t, [client.secret, client.token]));

  it('429 invalid_client with Retry-After at every client-authenticating endpoint', async () => {
    const from = { 'x-forwarded-for': '192.0.2.80', 'x-forwarded-proto': 'https' };
    const wrong = basicAuth(client.id, (await newClient(t)).secret);
    for (let i = 0; i < 3; i++) {
      const res = await post(
        t,
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: wrong, ...from },
      );
      expect(res.status).toBe(401);
    }
    for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
      const res = await post(
        t,
        path,
        { grant_type: 'client_credentials', token: 'x' },
        { authorization: wrong, ...from },
      );
      expect(res.status, path).toBe(429);
      expect(Number(res.headers.get('retry-after')), path).toBeGreaterThan(0);
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      // A 429, not a 401: no Basic challenge that would invite an immediate retry.
      expect(res.headers.get('www-authenticate'), path).toBeNull();
      expect(await json(res), path).toEqual({
        error: 'invalid_client',
        error_description: 'too many failed client authentications; retry later',
      });
    }
  });
});
