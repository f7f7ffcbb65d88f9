// @keyward/client against a real Keyward server (SQLite, loopback): every auth type, through the
// fetch-compatible function and the JSON helpers, with the bodies and query strings that break
// naive signers.
import { createClient, KeywardError, login } from '@keyward/client';
import { identify } from '@keyward/core';
import { afterAll, describe, expect, it } from 'vitest';
import { countingFetch, PASSWORD, startWithKey, type Whoami } from './support/client-fixture.js';

const f = await startWithKey();
afterAll(() => f.t.close());
const { t, key } = f;

// Values that trip up percent-encoders: what encodeURIComponent leaves alone but RFC 5849 §3.6
// escapes, a plus, a space, and non-ASCII (UTF-8 first).
const AWKWARD = "!*'() a+b café ☕ ü";

describe.each(['HMAC-SHA256', 'HMAC-SHA1'] as const)('oauth1 (%s)', (signatureMethod) => {
  const api = createClient({
    baseUrl: t.url,
    auth: { type: 'oauth1', consumerKey: key.id, consumerSecret: key.secret, signatureMethod },
  });

  it("signs query strings with !*'(), non-ASCII and repeated parameters", async () => {
    const me = await api.get<Whoami>('/v1/whoami', { query: { q: AWKWARD, tag: ['b', 'a', 'b'], empty: '' } });
    expect(me.principal).toMatchObject({ method: 'oauth1', keyId: key.id, accountId: f.accountId });
    // The same, written into the path by hand rather than through the query helper.
    const raw = await api(`/v1/whoami?q=!*'()&x=caf%C3%A9&x=ü&x=%20&flag`);
    expect(raw.status).toBe(200);
  });

  it('signs form bodies, repeated names included, and the server receives them as sent', async () => {
    const form = new URLSearchParams([
      ['a', '1'],
      ['a', AWKWARD],
      ['z', ''],
    ]);
    const res = await api('/v1/whoami?a=0', { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const out = (await res.json()) as Whoami;
    expect(out.principal.method).toBe('oauth1');
    expect(out.body).toBe(form.toString());
  });

  it('covers JSON bodies with oauth_body_hash; a body changed on the way is refused', async () => {
    const payload = { hello: 'wörld', list: [1, 2, 3], nested: { q: AWKWARD } };
    const out = await api.post<Whoami>('/v1/whoami', payload);
    expect(out).toMatchObject({ principal: { method: 'oauth1' }, body: payload });

    const tampering = createClient({
      baseUrl: t.url,
      auth: { type: 'oauth1', consumerKey: key.id, consumerSecret: key.secret, signatureMethod },
      fetch: (input, init) => fetch(input, { ...init, body: JSON.stringify({ ...payload, hello: 'evil' }) }),
    });
    const error = await tampering.post('/v1/whoami', payload).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({ code: 'body_hash_invalid', status: 401, oauthProblem: 'body_hash_invalid' });
    expect((error as KeywardError).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a wrong secret with the server code, and never says the secret', async () => {
    const other = await f.newKey();
    const wrong = createClient({
      baseUrl: t.url,
      auth: { type: 'oauth1', consumerKey: key.id, consumerSecret: other.secret, signatureMethod },
    });
    const error = await wrong.get('/v1/whoami').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'signature_invalid', status: 401 });
    expect(JSON.stringify(error) + String(error)).not.toContain(other.secret);
  });
});

describe('basic and api-key', () => {
  it('calls with Basic key id and secret', async () => {
    const api = createClient({ baseUrl: t.url, auth: { type: 'basic', keyId: key.id, secret: key.secret } });
    expect((await api.get<Whoami>('/v1/whoami')).principal).toMatchObject({ method: 'basic', keyId: key.id });
    const posted = await api.post<Whoami>('/v1/whoami', { a: 1 });
    expect(posted.body).toEqual({ a: 1 });
  });

  it('calls with the API key token as Bearer', async () => {
    const api = createClient({ baseUrl: t.url, auth: { type: 'api-key', token: key.token } });
    expect((await api.get<Whoami>('/v1/whoami', { query: { q: AWKWARD } })).principal).toMatchObject({
      method: 'api-key',
      keyId: key.id,
    });
  });

  it('reports a revoked key as a KeywardError', async () => {
    const doomed = await f.newKey();
    await t.server.context.store.keys.revoke(doomed.id, { type: 'system' });
    const api = createClient({ baseUrl: t.url, auth: { type: 'api-key', token: doomed.token } });
    await expect(api.get('/v1/whoami')).rejects.toMatchObject({ status: 401, code: expect.stringMatching(/^key_/) });
  });
});

describe('sessions made by the store', () => {
  async function session(signed: boolean) {
    const issued = await t.server.context.store.sessions.create({
      accountId: f.accountId,
      clientIp: '127.0.0.1',
      signed,
    });
    if (!issued.ok) throw new Error(issued.code);
    return issued.value;
  }

  it('calls with a session token as Bearer', async () => {
    const s = await session(false);
    const api = createClient({ baseUrl: t.url, auth: { type: 'session', token: s.token } });
    expect((await api.get<Whoami>('/v1/whoami')).principal).toMatchObject({
      method: 'session',
      sessionId: s.session.id,
    });
  });

  it('signs with a signed session: query, form and JSON bodies', async () => {
    const s = await session(true);
    if (s.secret === undefined) throw new Error('a signed session has a secret');
    const api = createClient({
      baseUrl: t.url,
      auth: { type: 'signed-session', consumerKey: f.accountId, token: s.token, secret: s.secret },
    });
    const me = await api.get<Whoami>('/v1/whoami', { query: { q: AWKWARD, r: ['1', '1'] } });
    expect(me.principal).toMatchObject({ method: 'signed-session', sessionId: s.session.id });
    const form = await api('/v1/whoami', { method: 'POST', body: new URLSearchParams({ q: AWKWARD }) });
    expect(form.status).toBe(200);
    expect(await api.post<Whoami>('/v1/whoami', { q: AWKWARD })).toMatchObject({ body: { q: AWKWARD } });
  });

  it('is refused when the token alone is sent for a signed session', async () => {
    const s = await session(true);
    const api = createClient({ baseUrl: t.url, auth: { type: 'session', token: s.token } });
    await expect(api.get('/v1/whoami')).rejects.toMatchObject({ status: 401 });
  });
});

describe('client credentials against POST /oauth/token', () => {
  const auth = { type: 'client-credentials', clientId: key.id, clientSecret: key.secret } as const;

  it('gets a token and calls as oauth2, with the scopes asked for', async () => {
    const api = createClient({ baseUrl: t.url, auth: { ...auth, scope: 'read' } });
    expect((await api.get<Whoami>('/v1/whoami')).principal).toMatchObject({
      method: 'oauth2',
      keyId: key.id,
      scopes: ['read'],
    });
  });

  it('shares one token request among 50 concurrent calls', async () => {
    const counting = countingFetch();
    const api = createClient({ baseUrl: t.url, auth, fetch: counting.fetch });
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => api.post<Whoami>('/v1/whoami', { i })));
    expect(all.map((r) => r.principal.method)).toEqual(Array(50).fill('oauth2'));
    expect(all.map((r) => r.body)).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
    const tokenHits = counting.sent.filter((s) => s.url === `${t.url}/oauth/token`);
    expect(tokenHits).toHaveLength(1);
    expect(counting.sent).toHaveLength(51);
  });

  it('refreshes before expiry, once for all the callers waiting', async () => {
    const counting = countingFetch();
    let shift = 0;
    const api = createClient({ baseUrl: t.url, auth, fetch: counting.fetch, now: () => Date.now() + shift });
    await api.get('/v1/whoami');
    shift = 59.5 * 60 * 1000; // inside the last minute of the server's one-hour token
    await Promise.all(Array.from({ length: 10 }, () => api.get('/v1/whoami')));
    expect(counting.sent.filter((s) => s.url.endsWith('/oauth/token'))).toHaveLength(2);
  });

  it('gets a new token and retries once when the server calls it invalid', async () => {
    const counting = countingFetch();
    let lastToken = '';
    const api = createClient({
      baseUrl: t.url,
      auth,
      fetch: async (input, init) => {
        const authorization = new Headers(init?.headers).get('authorization') ?? '';
        if (authorization.startsWith('Bearer ')) lastToken = authorization.slice(7);
        return counting.fetch(input, init);
      },
    });
    await api.get('/v1/whoami');
    const id = identify(lastToken)?.id;
    if (id === undefined) throw new Error('not a Keyward access token');
    await t.server.context.store.tokens.revoke(id);
    expect((await api.get<Whoami>('/v1/whoami')).principal.method).toBe('oauth2');
    expect(counting.sent.map((s) => new URL(s.url).pathname)).toEqual([
      '/oauth/token',
      '/v1/whoami',
      '/v1/whoami', // refused: invalid_token
      '/oauth/token',
      '/v1/whoami',
    ]);
  });

  it('reports a refused client in the RFC 6749 shape, without the secret', async () => {
    const other = await f.newKey();
    const api = createClient({ baseUrl: t.url, auth: { ...auth, clientSecret: other.secret } });
    const error = await api.get('/v1/whoami').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({ code: 'invalid_client', status: 401 });
    expect(JSON.stringify(error) + String(error)).not.toContain(other.secret);
  });
});

describe('login()', () => {
  it('logs in and calls with the session as Bearer', async () => {
    const api = await login({ baseUrl: t.url, email: f.email, password: PASSWORD });
    expect(api.session.signed).toBe(false);
    expect((await api.get<Whoami>('/v1/whoami')).principal).toMatchObject({
      method: 'session',
      sessionId: api.session.id,
      accountId: f.accountId,
    });
  });

  it('logs in to a signed session and signs every request', async () => {
    const api = await login({ baseUrl: t.url, email: f.email, password: PASSWORD, signed: true });
    expect(api.session.signed).toBe(true);
    expect(api.accountId).toBe(f.accountId);
    expect(await api.post<Whoami>('/v1/whoami', { q: AWKWARD })).toMatchObject({
      principal: { method: 'signed-session', sessionId: api.session.id },
      body: { q: AWKWARD },
    });
    expect((await api('/v1/whoami', { method: 'POST', body: new URLSearchParams({ q: AWKWARD }) })).status).toBe(200);
  });

  it('rejects a wrong password with login_failed', async () => {
    const error = await login({ baseUrl: t.url, email: f.email, password: 'not the password at all' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({ code: 'login_failed', status: 401 });
  });
});
