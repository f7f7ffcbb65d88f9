// The web console's session over real sockets, without a browser: the sign-in sets two HttpOnly
// SameSite=Strict cookies (Secure with the __Host- prefix behind TLS) and answers a CSRF token,
// never the session token; every call made with the cookie needs the token, reads included; the
// token is bound to its session; the sign-out ends the session; a sign-in posted from another
// site is refused; a server without the console takes no cookie. The browser suite
// (packages/console/test) drives the console itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

const SECRET = /kw_(?:sk|key|at|st|ss)_[0-9A-Za-z]{40,}/;
const PASSWORD = 'correct horse battery';

interface Signed {
  cookie: string;
  csrfToken: string;
  setCookies: string[];
}

async function signIn(t: TestServer, headers: Record<string, string> = {}): Promise<Signed> {
  const res = await fetch(`${t.url}/v1/console/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ email: 'ada@example.com', password: PASSWORD }),
  });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  expect(text).not.toMatch(SECRET); // the session token is in the cookie only
  const body = JSON.parse(text) as { csrfToken: string; account: { email: string } };
  expect(body.account.email).toBe('ada@example.com');
  const setCookies = res.headers.getSetCookie();
  const cookie = setCookies.map((c) => c.split(';')[0]).join('; ');
  return { cookie, csrfToken: body.csrfToken, setCookies };
}

async function call(
  t: TestServer,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text === '' ? {} : (JSON.parse(text) as { error?: { code: string } });
  return { status: res.status, code: json.error?.code };
}

describe('the console session (cookie + CSRF token)', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    const made = await t.server.context.store.accounts.create(
      { email: 'ada@example.com', password: PASSWORD },
      { type: 'system' },
    );
    if (!made.ok) throw new Error(made.code);
  });
  afterAll(async () => {
    await t.close();
  });

  it('sets HttpOnly SameSite=Strict cookies on plain loopback HTTP, without Secure', async () => {
    const { setCookies } = await signIn(t);
    expect(setCookies).toHaveLength(2);
    for (const c of setCookies) {
      expect(c).toMatch(/^keyward_(session|csrf)=/);
      expect(c).toContain('HttpOnly');
      expect(c).toContain('SameSite=Strict');
      expect(c).toContain('Path=/');
      expect(c).not.toContain('Secure');
    }
  });

  it('admits a call with the cookie and the token; refuses it without the token, reads included', async () => {
    const { cookie, csrfToken } = await signIn(t);
    expect(await call(t, 'POST', '/v1/keys', { cookie, 'x-csrf-token': csrfToken }, { name: 'k' })).toEqual({
      status: 201,
      code: undefined,
    });
    expect(await call(t, 'POST', '/v1/keys', { cookie }, { name: 'k' })).toEqual({
      status: 403,
      code: 'csrf_token_invalid',
    });
    expect(await call(t, 'GET', '/v1/keys', { cookie })).toEqual({ status: 403, code: 'csrf_token_invalid' });
    expect(await call(t, 'GET', '/v1/keys', { cookie, 'x-csrf-token': csrfToken })).toEqual({
      status: 200,
      code: undefined,
    });
    const whoami = await fetch(`${t.url}/v1/whoami`, { headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(((await whoami.json()) as { principal: { method: string } }).principal.method).toBe('console-session');
  });

  it("binds the token to its session: another session's token is refused", async () => {
    const a = await signIn(t);
    const b = await signIn(t);
    expect(await call(t, 'GET', '/v1/account', { cookie: a.cookie, 'x-csrf-token': b.csrfToken })).toEqual({
      status: 403,
      code: 'csrf_token_invalid',
    });
    // Session a's token cookie with session b's secret cookie: still not a's token.
    const mixed = `${a.cookie.split('; ')[0]}; ${b.cookie.split('; ')[1]}`;
    expect((await call(t, 'GET', '/v1/account', { cookie: mixed, 'x-csrf-token': a.csrfToken })).status).toBe(403);
  });

  it('gives a reloaded page its token back from the cookies, and the sign-out ends the session', async () => {
    const { cookie, csrfToken } = await signIn(t);
    const res = await fetch(`${t.url}/v1/console/session`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const again = (await res.json()) as { csrfToken: string };
    expect(await call(t, 'GET', '/v1/account', { cookie, 'x-csrf-token': again.csrfToken })).toMatchObject({
      status: 200,
    });
    expect(await call(t, 'DELETE', '/v1/console/session', { cookie })).toEqual({
      status: 403,
      code: 'csrf_token_invalid',
    });
    const out = await fetch(`${t.url}/v1/console/session`, {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().every((c) => c.includes('Max-Age=0'))).toBe(true);
    expect(await call(t, 'GET', '/v1/account', { cookie, 'x-csrf-token': csrfToken })).toEqual({
      status: 401,
      code: 'session_invalid',
    });
    const gone = await fetch(`${t.url}/v1/console/session`, { headers: { cookie } });
    expect(gone.status).toBe(401);
    expect(gone.headers.getSetCookie()).toHaveLength(2); // the page's cookies are cleared
  });

  it('refuses a sign-in posted from another site, and a wrong password like the API login', async () => {
    const crossSite = await call(
      t,
      'POST',
      '/v1/console/session',
      { 'sec-fetch-site': 'cross-site' },
      { email: 'ada@example.com', password: PASSWORD },
    );
    expect(crossSite).toEqual({ status: 403, code: 'csrf_token_invalid' });
    await signIn(t, { 'sec-fetch-site': 'same-origin' });
    expect(
      await call(t, 'POST', '/v1/console/session', {}, { email: 'ada@example.com', password: 'wrong password!' }),
    ).toEqual({ status: 401, code: 'login_failed' });
    expect(await call(t, 'GET', '/v1/console/session', {})).toEqual({ status: 401, code: 'credentials_missing' });
  });

  it('leaves requests with an Authorization header to their own scheme', async () => {
    const { cookie } = await signIn(t);
    const res = await fetch(`${t.url}/v1/account`, { headers: { cookie, authorization: 'Bearer kw_st_nope' } });
    expect(res.status).toBe(401);
    // The session scheme's answer for an unknown session token, not the console's.
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('session_invalid');
  });

  it('answers /console with the CSP (the page itself when the console is built)', async () => {
    const res = await fetch(`${t.url}/console/keys`);
    expect([200, 404]).toContain(res.status);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(t.logs.join('\n')).not.toMatch(SECRET);
  });
});

describe('behind a TLS proxy', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { trustProxy: ['127.0.0.1'] });
    await t.server.context.store.accounts.create({ email: 'ada@example.com', password: PASSWORD }, { type: 'system' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('names the cookies with the __Host- prefix and marks them Secure', async () => {
    const https = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1' };
    const { setCookies, cookie, csrfToken } = await signIn(t, https);
    for (const c of setCookies) {
      expect(c).toMatch(/^__Host-keyward_(session|csrf)=/);
      expect(c).toContain('Secure');
    }
    expect((await call(t, 'GET', '/v1/account', { ...https, cookie, 'x-csrf-token': csrfToken })).status).toBe(200);
    // The same cookies over plain HTTP are not the console's (a __Host- cookie is TLS only).
    expect(await call(t, 'GET', '/v1/account', { cookie, 'x-csrf-token': csrfToken })).toEqual({
      status: 401,
      code: 'credentials_missing',
    });
  });
});

describe('a server without the console', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { console: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves no /console and takes no cookie', async () => {
    expect((await fetch(`${t.url}/console/`)).status).toBe(404);
    expect((await fetch(`${t.url}/v1/console/session`)).status).toBe(404);
    const res = await fetch(`${t.url}/v1/account`, { headers: { cookie: 'keyward_session=kw_st_x' } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('credentials_missing');
  });
});
