import { verifyOAuth1 } from '@keyward/core';
import { describe, expect, it } from 'vitest';
import { KeywardError } from './errors.js';
import { login } from './session.js';

const BASE = 'https://api.example.com';
const SESSION = {
  id: 's1',
  signed: true,
  expiresAt: '2030-01-01T12:00:00Z',
  idleExpiresAt: '2030-01-01T00:30:00Z',
  createdAt: '2030-01-01T00:00:00Z',
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

describe('login', () => {
  it('posts email, password and signed, then signs requests with the session secret', async () => {
    const sent: { url: string; init: RequestInit | undefined }[] = [];
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      sent.push({ url: String(input), init });
      if (String(input).endsWith('/v1/sessions')) {
        return json(201, { token: 'kw_st_t', secret: 'kw_ss_s', accountId: 'acct', session: SESSION });
      }
      const url = new URL(String(input));
      const result = verifyOAuth1(
        {
          method: init?.method ?? 'GET',
          origin: url.origin,
          target: url.pathname,
          authorization: new Headers(init?.headers).get('authorization') ?? undefined,
        },
        {
          secrets: (ck, token) =>
            ck === 'acct' && token === 'kw_st_t' ? { consumerSecret: '', tokenSecret: 'kw_ss_s' } : undefined,
        },
      );
      return json(result.ok ? 200 : 401, {});
    };
    const api = await login({ baseUrl: BASE, email: 'a@example.com', password: 'pw pw pw pw', signed: true, fetch });
    expect(sent[0]?.url).toBe(`${BASE}/v1/sessions`);
    expect(JSON.parse(String(sent[0]?.init?.body))).toEqual({
      email: 'a@example.com',
      password: 'pw pw pw pw',
      signed: true,
    });
    expect(api.session).toEqual(SESSION);
    expect(api.accountId).toBe('acct');
    expect(api.auth).toEqual({ type: 'signed-session', consumerKey: 'acct', token: 'kw_st_t', secret: 'kw_ss_s' });
    expect(Object.keys(api)).not.toContain('auth');
    expect((await api('/v1/whoami')).status).toBe(200);
  });

  it('binds a plain session as Bearer', async () => {
    let authorization: string | null = null;
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).endsWith('/v1/sessions')) {
        return json(201, { token: 'kw_st_t', accountId: 'acct', session: { ...SESSION, signed: false } });
      }
      authorization = new Headers(init?.headers).get('authorization');
      return json(200, {});
    };
    const api = await login({ baseUrl: BASE, email: 'a@example.com', password: 'pw', fetch });
    await api.get('/v1/whoami');
    expect(authorization).toBe('Bearer kw_st_t');
  });

  it('rejects with the server error, never with the password', async () => {
    const fetch = async () =>
      json(401, { error: { code: 'login_failed', message: 'The email or password is wrong.', requestId: 'r' } });
    const error = await login({ baseUrl: BASE, email: 'a@example.com', password: 'hunter2hunter2', fetch }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({ code: 'login_failed', status: 401 });
    expect(String(error)).not.toContain('hunter2');
  });

  it('refuses a signed login answer without a secret, and plain http to a remote host', async () => {
    const fetch = async () => json(201, { token: 'kw_st_t', accountId: 'acct', session: SESSION });
    await expect(login({ baseUrl: BASE, email: 'e', password: 'p', signed: true, fetch })).rejects.toMatchObject({
      code: 'unexpected_response',
    });
    await expect(login({ baseUrl: 'http://api.example.com', email: 'e', password: 'p', fetch })).rejects.toThrow(
      /use https/,
    );
  });
});
