// createClient against an in-memory fake of a Keyward server: the fake verifies OAuth 1.0a with
// core's verifier (so signing is checked for real), refuses timestamps the way Keyward does, and
// issues and refuses access tokens on demand. End-to-end runs against the real server live in
// packages/server/test/client-*.test.ts.
import { acceptableTimestamps, verifyOAuth1 } from '@keyward/core';
import { describe, expect, it } from 'vitest';
import { createClient } from './client.js';
import { KeywardError } from './errors.js';

const BASE = 'https://api.example.com';
const KEY = 'ck-any-format';
const SECRET = 'cs with spaces & symbols!';
const T0 = 1_800_000_000_000;

interface Seen {
  method: string;
  url: string;
  headers: Headers;
  body: string;
}

function seenOf(input: string | URL | Request, init: RequestInit | undefined, body: string): Seen {
  return { method: init?.method ?? 'GET', url: String(input), headers: new Headers(init?.headers), body };
}

async function bodyText(init: RequestInit | undefined): Promise<string> {
  const b = init?.body;
  if (b === undefined || b === null) return '';
  return new Response(b).text();
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'x-request-id': 'req-1', ...headers },
  });
}

/** A fake Keyward that verifies OAuth 1.0a against core, with its clock at `server.now`. */
function oauth1Server(server: { now: number }, consumerSecret = SECRET) {
  const seen: Seen[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = await bodyText(init);
    const s = seenOf(input, init, body);
    seen.push(s);
    const url = new URL(s.url);
    const result = verifyOAuth1(
      {
        method: s.method,
        origin: url.origin,
        target: url.pathname + url.search,
        authorization: s.headers.get('authorization') ?? undefined,
        contentType: s.headers.get('content-type') ?? undefined,
        body: body === '' ? undefined : body,
      },
      { now: server.now, secrets: () => ({ consumerSecret }) },
    );
    if (result.ok) return json(200, { ok: true, params: result.value.params, bodyHash: result.value.bodyHash });
    if (result.code === 'timestamp_refused') {
      const range = acceptableTimestamps(server.now);
      return json(
        401,
        {
          error: {
            code: 'timestamp_refused',
            message: 'The timestamp is outside the accepted window.',
            requestId: 'r',
          },
        },
        {
          date: new Date(server.now).toUTCString(),
          'www-authenticate': `OAuth realm="keyward", oauth_problem="timestamp_refused", oauth_acceptable_timestamps="${range.min}-${range.max}"`,
        },
      );
    }
    return json(401, { error: { code: result.code, message: 'refused', requestId: 'r' } });
  };
  return { fetch, seen };
}

describe('createClient with OAuth 1.0a', () => {
  const auth = { type: 'oauth1', consumerKey: KEY, consumerSecret: SECRET } as const;

  it("signs the query, including !*'() and non-ASCII, and repeated parameters", async () => {
    const server = oauth1Server({ now: T0 });
    const api = createClient({ baseUrl: BASE, auth, fetch: server.fetch, now: () => T0 });
    const res = await api.get<{ params: [string, string][] }>('/v1/whoami', {
      query: { q: "!*'() café ☕", tag: ['a', 'b', 'a'] },
    });
    expect(res.params).toEqual(
      expect.arrayContaining([
        ['q', "!*'() café ☕"],
        ['tag', 'a'],
        ['tag', 'b'],
        ['tag', 'a'],
      ]),
    );
    expect(server.seen[0]?.headers.get('authorization')).toMatch(/^OAuth oauth_consumer_key="ck-any-format"/);
  });

  it('signs form bodies parameter by parameter, without a body hash', async () => {
    const server = oauth1Server({ now: T0 });
    const api = createClient({ baseUrl: BASE, auth, fetch: server.fetch, now: () => T0 });
    const res = await api('/v1/whoami', {
      method: 'POST',
      body: new URLSearchParams([
        ['a', '1 2'],
        ['a', "!*'()"],
      ]),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { params: [string, string][]; bodyHash?: string };
    expect(out.params).toEqual(
      expect.arrayContaining([
        ['a', '1 2'],
        ['a', "!*'()"],
      ]),
    );
    expect(out.bodyHash).toBeUndefined();
  });

  it('covers a JSON body with oauth_body_hash by default, and the server notices a changed body', async () => {
    const server = oauth1Server({ now: T0 });
    const api = createClient({ baseUrl: BASE, auth, fetch: server.fetch, now: () => T0 });
    const out = await api.post<{ bodyHash: string }>('/v1/whoami', { hello: 'wörld' });
    expect(out.bodyHash).toMatch(/^[A-Za-z0-9+/]+=*$/);

    // A man in the middle changing the body is caught.
    const tampering = async (input: string | URL | Request, init?: RequestInit) =>
      server.fetch(input, { ...init, body: '{"hello":"evil"}' });
    const tampered = createClient({ baseUrl: BASE, auth, fetch: tampering, now: () => T0 });
    await expect(tampered.post('/v1/whoami', { hello: 'wörld' })).rejects.toMatchObject({
      code: 'body_hash_invalid',
      status: 401,
    });
  });

  it('sends a fresh nonce on every request', async () => {
    const server = oauth1Server({ now: T0 });
    const api = createClient({ baseUrl: BASE, auth, fetch: server.fetch, now: () => T0 });
    await Promise.all(Array.from({ length: 20 }, () => api('/v1/whoami')));
    const nonces = server.seen.map((s) => /oauth_nonce="([^"]+)"/.exec(s.headers.get('authorization') ?? '')?.[1]);
    expect(new Set(nonces).size).toBe(20);
  });

  it.each([
    ['ahead', +3_600_000],
    ['behind', -3_600_000],
  ])('corrects its clock when the server is an hour %s, with one retry', async (_, skew) => {
    const server = oauth1Server({ now: T0 + skew });
    const api = createClient({ baseUrl: BASE, auth, fetch: server.fetch, now: () => T0 });
    expect((await api('/v1/whoami')).status).toBe(200);
    expect(server.seen).toHaveLength(2);
    expect(Math.abs(api.clockOffsetMs - skew)).toBeLessThan(1000);
    // Later requests use the corrected clock straight away.
    expect((await api('/v1/whoami')).status).toBe(200);
    expect(server.seen).toHaveLength(3);
  });

  it('learns the time from the Date header when the challenge has no acceptable range', async () => {
    const server = { now: T0 + 7_200_000 };
    let calls = 0;
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      calls++;
      const inner = await oauth1Server(server).fetch(input, init);
      if (inner.status !== 401) return inner;
      // Only the body code and the Date header: what a proxy that rewrites challenges leaves.
      return json(401, await inner.json(), { date: new Date(server.now).toUTCString() });
    };
    const api = createClient({ baseUrl: BASE, auth, fetch, now: () => T0 });
    expect((await api('/v1/whoami')).status).toBe(200);
    expect(calls).toBe(2);
  });

  it('retries only once: a second refusal is returned as is', async () => {
    let calls = 0;
    const fetch = async () => {
      calls++;
      return json(
        401,
        { error: { code: 'timestamp_refused', message: 'no', requestId: 'r' } },
        {
          'www-authenticate': `OAuth oauth_problem="timestamp_refused", oauth_acceptable_timestamps="${calls}-${calls}"`,
        },
      );
    };
    const api = createClient({ baseUrl: BASE, auth, fetch, now: () => T0 });
    const res = await api('/v1/whoami');
    expect(res.status).toBe(401);
    expect(calls).toBe(2);
    await expect(api.get('/v1/whoami')).rejects.toMatchObject({ code: 'timestamp_refused', status: 401 });
  });

  it('does not retry other refusals', async () => {
    const server = oauth1Server({ now: T0 }, 'another secret');
    const api = createClient({ baseUrl: BASE, auth, fetch: server.fetch, now: () => T0 });
    await expect(api.get('/v1/whoami')).rejects.toMatchObject({ code: 'signature_invalid' });
    expect(server.seen).toHaveLength(1);
  });

  it('signs a signed session with the account id, an empty consumer secret and the session secret', async () => {
    const seen: string[] = [];
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      const s = seenOf(input, init, await bodyText(init));
      const url = new URL(s.url);
      const result = verifyOAuth1(
        {
          method: s.method,
          origin: url.origin,
          target: url.pathname + url.search,
          authorization: s.headers.get('authorization') ?? undefined,
        },
        {
          now: T0,
          secrets: (ck, token) =>
            ck === 'acct_1' && token === 'kw_st_x' ? { consumerSecret: '', tokenSecret: 'kw_ss_y' } : undefined,
        },
      );
      seen.push(s.headers.get('authorization') ?? '');
      return json(result.ok ? 200 : 401, {});
    };
    const api = createClient({
      baseUrl: BASE,
      auth: { type: 'signed-session', consumerKey: 'acct_1', token: 'kw_st_x', secret: 'kw_ss_y' },
      fetch,
      now: () => T0,
    });
    expect((await api('/v1/whoami')).status).toBe(200);
    expect(seen[0]).toContain('oauth_token="kw_st_x"');
    expect(seen[0]).not.toContain('kw_ss_y');
  });
});

describe('createClient with header credentials', () => {
  async function authorizationSent(auth: Parameters<typeof createClient>[0]['auth']): Promise<string | null> {
    let sent: string | null = null;
    const fetch = async (_input: string | URL | Request, init?: RequestInit) => {
      sent = new Headers(init?.headers).get('authorization');
      return json(200, {});
    };
    await createClient({ baseUrl: BASE, auth, fetch })('/v1/whoami');
    return sent;
  }

  it('sends Basic with the UTF-8 key id and secret (RFC 7617)', async () => {
    expect(await authorizationSent({ type: 'basic', keyId: 'kw_kid_a', secret: 'sé:cret' })).toBe(
      `Basic ${Buffer.from('kw_kid_a:sé:cret').toString('base64')}`,
    );
  });

  it('sends API keys and session tokens as Bearer', async () => {
    expect(await authorizationSent({ type: 'api-key', token: 'kw_key_abc' })).toBe('Bearer kw_key_abc');
    expect(await authorizationSent({ type: 'session', token: 'kw_st_abc' })).toBe('Bearer kw_st_abc');
  });

  it('refuses to send a secret over plain http except to loopback', () => {
    const auth = { type: 'basic', keyId: 'kw_kid_a', secret: 'TOPSECRET' } as const;
    expect(() => createClient({ baseUrl: 'http://api.example.com', auth })).toThrow(/use https/);
    try {
      createClient({ baseUrl: 'http://api.example.com', auth });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('TOPSECRET');
    }
    expect(() => createClient({ baseUrl: 'http://127.0.0.1:4000', auth })).not.toThrow();
    expect(() => createClient({ baseUrl: 'http://localhost:4000', auth })).not.toThrow();
    // A signature reveals no secret: OAuth 1.0a may go over http (the server decides).
    expect(() =>
      createClient({
        baseUrl: 'http://api.example.com',
        auth: { type: 'oauth1', consumerKey: 'k', consumerSecret: 's' },
      }),
    ).not.toThrow();
  });

  it('never sends credentials to another origin', async () => {
    const api = createClient({
      baseUrl: BASE,
      auth: { type: 'api-key', token: 'kw_key_abc' },
      fetch: async () => json(200, {}),
    });
    await expect(api('https://evil.example.net/steal')).rejects.toThrow(TypeError);
    await expect(api(new Request('https://evil.example.net/steal'))).rejects.toThrow(TypeError);
    expect((await api(`${BASE}/v1/whoami`)).status).toBe(200);
  });

  it('checks credentials without echoing them', () => {
    expect(() => createClient({ baseUrl: BASE, auth: { type: 'basic', keyId: 'a:b', secret: 'TOPSECRET' } })).toThrow(
      /keyId/,
    );
    expect(() => createClient({ baseUrl: BASE, auth: { type: 'api-key', token: '' } })).toThrow(/auth.token/);
    expect(() => createClient({ baseUrl: BASE, auth: { type: 'nope' } as never })).toThrow(/auth.type/);
  });
});

describe('createClient JSON helpers', () => {
  it('resolves paths under the base URL path, sends JSON and parses JSON', async () => {
    const seen: Seen[] = [];
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      seen.push(seenOf(input, init, await bodyText(init)));
      return init?.method === 'DELETE' ? new Response(null, { status: 204 }) : json(200, { ok: 1 });
    };
    const api = createClient({ baseUrl: `${BASE}/api/`, auth: { type: 'api-key', token: 'kw_key_abc' }, fetch });
    expect(await api.put('/things/1', { a: [1, 2] })).toEqual({ ok: 1 });
    expect(await api.delete('things/1')).toBeUndefined();
    expect(seen[0]).toMatchObject({ method: 'PUT', url: `${BASE}/api/things/1`, body: '{"a":[1,2]}' });
    expect(seen[0]?.headers.get('content-type')).toBe('application/json');
    expect(seen[0]?.headers.get('accept')).toBe('application/json');
    expect(seen[1]).toMatchObject({ method: 'DELETE', url: `${BASE}/api/things/1` });
  });

  it('throws a KeywardError with the server code, status, message and request id', async () => {
    const api = createClient({
      baseUrl: BASE,
      auth: { type: 'api-key', token: 'kw_key_abc' },
      fetch: async () =>
        json(403, { error: { code: 'insufficient_scope', message: 'needs orders:write', requestId: 'abc-123' } }),
    });
    const error = await api.get('/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({
      code: 'insufficient_scope',
      status: 403,
      message: 'needs orders:write',
      requestId: 'abc-123',
    });
  });

  it('reports a response that is not an error shape by its status', async () => {
    const api = createClient({
      baseUrl: BASE,
      auth: { type: 'api-key', token: 'kw_key_abc' },
      fetch: async () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
    });
    await expect(api.get('/x')).rejects.toMatchObject({ code: 'unexpected_response', status: 502 });
  });
});

describe('createClient with client credentials', () => {
  function tokenServer(options: { lifetime?: number; refuseFirstUse?: boolean } = {}) {
    let issued = 0;
    const tokenHits: string[] = [];
    const valid = new Set<string>();
    let refusedOnce = false;
    const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const s = seenOf(input, init, await bodyText(init));
      if (s.url.endsWith('/oauth/token')) {
        tokenHits.push(s.body);
        await new Promise((r) => setTimeout(r, 5));
        const token = `kw_at_${++issued}`;
        valid.add(token);
        return json(200, {
          access_token: token,
          token_type: 'Bearer',
          expires_in: options.lifetime ?? 3600,
          scope: '',
        });
      }
      const token = s.headers.get('authorization')?.replace(/^Bearer /, '') ?? '';
      if (options.refuseFirstUse === true && !refusedOnce) {
        refusedOnce = true;
        valid.delete(token);
      }
      if (!valid.has(token)) {
        return json(
          401,
          {
            error: {
              code: 'token_invalid',
              message: 'The access token is unknown, revoked or malformed.',
              requestId: 'r',
            },
          },
          { 'www-authenticate': 'Bearer realm="keyward", error="invalid_token"' },
        );
      }
      return json(200, { token });
    };
    return { fetch, tokenHits, valid };
  }
  const auth = {
    type: 'client-credentials',
    clientId: 'kw_kid_a',
    clientSecret: 'kw_sk_b',
    scope: ['read', 'write'],
  } as const;

  it('shares one token request among 50 concurrent calls and reuses the token', async () => {
    const server = tokenServer();
    const api = createClient({ baseUrl: BASE, auth, fetch: server.fetch });
    const results = await Promise.all(Array.from({ length: 50 }, () => api.get<{ token: string }>('/v1/whoami')));
    expect(new Set(results.map((r) => r.token))).toEqual(new Set(['kw_at_1']));
    await api.get('/v1/whoami');
    expect(server.tokenHits).toEqual(['grant_type=client_credentials&scope=read+write']);
  });

  it('refreshes shortly before expiry', async () => {
    const server = tokenServer({ lifetime: 600 });
    let now = T0;
    const api = createClient({ baseUrl: BASE, auth, fetch: server.fetch, now: () => now });
    expect(await api.get('/x')).toEqual({ token: 'kw_at_1' });
    now += 539_000;
    expect(await api.get('/x')).toEqual({ token: 'kw_at_1' });
    now += 2_000; // within the last minute
    expect(await api.get('/x')).toEqual({ token: 'kw_at_2' });
    expect(server.tokenHits).toHaveLength(2);
  });

  it('gets a new token and retries once when the server calls the token invalid', async () => {
    const server = tokenServer({ refuseFirstUse: true });
    const api = createClient({ baseUrl: BASE, auth, fetch: server.fetch });
    expect(await api.get('/x')).toEqual({ token: 'kw_at_2' });
    expect(server.tokenHits).toHaveLength(2);
  });

  it('reports a token endpoint refusal in the RFC 6749 shape as a KeywardError', async () => {
    const fetch = async () =>
      json(
        401,
        { error: 'invalid_client', error_description: 'Client authentication failed.' },
        { 'www-authenticate': 'Basic realm="keyward"' },
      );
    const api = createClient({ baseUrl: BASE, auth, fetch });
    const error = await api.get('/x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid_client', status: 401, message: 'Client authentication failed.' });
    expect(String(error)).not.toContain('kw_sk_b');
  });

  it('posts client_secret_basic with form-encoded id and secret (RFC 6749 §2.3.1)', async () => {
    let authorization = '';
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      if (!String(input).endsWith('/token')) return json(200, {});
      authorization = new Headers(init?.headers).get('authorization') ?? '';
      return json(200, { access_token: 't', token_type: 'bearer', expires_in: 60 });
    };
    const api = createClient({
      baseUrl: BASE,
      auth: {
        type: 'client-credentials',
        clientId: 'id:1',
        clientSecret: 'sé cret+/',
        tokenUrl: 'https://api.example.com/token',
      },
      fetch,
    });
    await api('/x');
    const decoded = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(decoded).toBe('id%3A1:s%C3%A9+cret%2B%2F');
  });
});
