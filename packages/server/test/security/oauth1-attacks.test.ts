// Attack suite, cases that held on 5713fb4 (issue 16): OAuth 1.0a over real HTTP against the
// canonical base string (RFC 5849 §3.4.1): RFC 3986 encoding, not encodeURIComponent; `+` and
// `%20`; UTF-8; double encoding; duplicated parameters kept; protocol parameters duplicated or
// split between header and query refused; and the base URI and the transport rule never taken
// from Host / X-Forwarded-* sent by an untrusted peer.
import { createHmac } from 'node:crypto';
import { type Param, percentEncode } from '@keyward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERIFY_SCOPE } from '../../src/http/context.js';
import { newAccount, newClient, type TestClient } from '../support/oauth.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type Answer, call, code, oauthHeader, protocolParams, rawHttp, sign, UNLIMITED } from './attack-kit.js';

let t: TestServer;
let origin: string;
beforeAll(async () => {
  t = await startTestServer('sqlite', UNLIMITED);
  origin = t.server.context.config.publicUrl;
});
afterAll(async () => {
  await t?.close();
});

/** GET `target` signed over `signedQuery` (what the client believed the query decodes to). */
async function getSigned(target: string, signedQuery: Param[], key?: TestClient): Promise<Answer> {
  const k = key ?? (await newClient(t));
  const path = target.split('?')[0] as string;
  const header = oauthHeader(t, k, 'GET', path, { others: signedQuery });
  return call(t, target, { headers: { authorization: header } });
}

/** A base string built the wrong way: encodeURIComponent instead of RFC 3986. */
function naiveHeader(key: TestClient, path: string, query: Param[]): string {
  const enc = encodeURIComponent;
  const oauth = protocolParams(t, key);
  const all = [...oauth, ...query].map(([n, v]) => [enc(n), enc(v)] as const);
  all.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  const normalized = all.map(([n, v]) => `${n}=${v}`).join('&');
  const base = `GET&${enc(`${origin}${path}`)}&${enc(normalized)}`;
  const signature = createHmac('sha256', `${percentEncode(key.secret)}&`)
    .update(base)
    .digest('base64');
  const header = oauth.map(([n, v]) => `${n}="${percentEncode(v)}"`).join(', ');
  return `OAuth ${header}, oauth_signature="${percentEncode(signature)}"`;
}

describe('encodings (RFC 5849 §3.6)', () => {
  it("RFC 3986 reserved characters !*'(): the canonical signature passes, encodeURIComponent's fails", async () => {
    const value = "a!*'()b";
    const target = `/v1/whoami?q=${percentEncode(value)}`;
    expect((await getSigned(target, [['q', value]])).status).toBe(200);
    // The same characters sent literally decode to the same value: same base string.
    expect((await getSigned("/v1/whoami?q=a!*'()b", [['q', value]])).status).toBe(200);
    const key = await newClient(t);
    const naive = await call(t, target, { headers: { authorization: naiveHeader(key, '/v1/whoami', [['q', value]]) } });
    expect([naive.status, code(naive)]).toEqual([401, 'signature_invalid']);
  });

  it('`+` and `%20` in the query both mean a space; a literal plus must be %2B', async () => {
    expect((await getSigned('/v1/whoami?q=a+b', [['q', 'a b']])).status).toBe(200);
    expect((await getSigned('/v1/whoami?q=a%20b', [['q', 'a b']])).status).toBe(200);
    const plus = await getSigned('/v1/whoami?q=a+b', [['q', 'a+b']]);
    expect([plus.status, code(plus)]).toEqual([401, 'signature_invalid']);
    expect((await getSigned('/v1/whoami?q=a%2Bb', [['q', 'a+b']])).status).toBe(200);
  });

  it('UTF-8 is percent-encoded as UTF-8; Latin-1 bytes or invalid UTF-8 never verify', async () => {
    expect((await getSigned('/v1/whoami?q=%C3%A9t%C3%A9%20%F0%9F%94%91', [['q', 'été 🔑']])).status).toBe(200);
    const latin1 = await getSigned('/v1/whoami?q=%E9t%E9', [['q', 'été']]);
    expect(latin1.status).not.toBe(200);
    expect([400, 401]).toContain(latin1.status);
  });

  it('double encoding is decoded once: %2541 is "%41", not "A"', async () => {
    expect((await getSigned('/v1/whoami?q=%2541', [['q', '%41']])).status).toBe(200);
    const twice = await getSigned('/v1/whoami?q=%2541', [['q', 'A']]);
    expect([twice.status, code(twice)]).toEqual([401, 'signature_invalid']);
  });

  it('the signature covers every parameter: duplicates kept, order by name then value', async () => {
    expect(
      (
        await getSigned('/v1/whoami?a=2&a=1&b=', [
          ['a', '1'],
          ['a', '2'],
          ['b', ''],
        ])
      ).status,
    ).toBe(200);
    const dropped = await getSigned('/v1/whoami?a=2&a=1', [['a', '1']]);
    expect(code(dropped)).toBe('signature_invalid');
    const added = await getSigned('/v1/whoami?a=1&admin=true', [['a', '1']]);
    expect(code(added)).toBe('signature_invalid');
  });

  it('a form body is signed; changing it after signing fails, a JSON body is not read as parameters', async () => {
    const key = await newClient(t);
    const header = oauthHeader(t, key, 'POST', '/v1/whoami', { others: [['amount', '10']] });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const ok = await call(t, '/v1/whoami', {
      method: 'POST',
      headers: { ...form, authorization: header },
      body: 'amount=10',
    });
    expect(ok.status).toBe(200);
    const tampered = oauthHeader(t, key, 'POST', '/v1/whoami', { others: [['amount', '10']] });
    const changed = await call(t, '/v1/whoami', {
      method: 'POST',
      headers: { ...form, authorization: tampered },
      body: 'amount=10000',
    });
    expect([changed.status, code(changed)]).toEqual([401, 'signature_invalid']);
    const json = oauthHeader(t, key, 'POST', '/v1/whoami', { others: [['amount', '10']] });
    const asJson = await call(t, '/v1/whoami', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: json },
      body: '{"amount":"10"}',
    });
    expect(code(asJson)).toBe('signature_invalid');
  });
});

describe('duplicated and split protocol parameters (RFC 5849 §3.5)', () => {
  it('refuses a protocol parameter twice in the header', async () => {
    const key = await newClient(t);
    for (const name of ['oauth_nonce', 'oauth_timestamp', 'oauth_consumer_key', 'oauth_signature_method']) {
      const oauth = protocolParams(t, key);
      const value = oauth.find(([n]) => n === name)?.[1] as string;
      const header = oauthHeader(t, key, 'GET', '/v1/whoami', { oauth: [...oauth, [name, value]] });
      const answer = await call(t, '/v1/whoami', { headers: { authorization: header } });
      expect([answer.status, code(answer)], name).toEqual([400, 'parameter_duplicated']);
    }
    const header = oauthHeader(t, key, 'GET', '/v1/whoami');
    const twoSignatures = `${header}, oauth_signature="AAAA"`;
    const answer = await call(t, '/v1/whoami', { headers: { authorization: twoSignatures } });
    expect([answer.status, code(answer)]).toEqual([400, 'parameter_duplicated']);
  });

  it('refuses protocol parameters in both the header and the query or the form body', async () => {
    const key = await newClient(t);
    const oauth = protocolParams(t, key);
    const n = oauth.find(([k]) => k === 'oauth_nonce')?.[1] as string;
    const header = oauthHeader(t, key, 'GET', '/v1/whoami', { oauth, others: [['oauth_nonce', n]] });
    const inQuery = await call(t, `/v1/whoami?oauth_nonce=${n}`, { headers: { authorization: header } });
    expect([inQuery.status, code(inQuery)]).toEqual([400, 'parameter_duplicated']);
    const other = await call(t, '/v1/whoami?oauth_token=abc', {
      headers: { authorization: oauthHeader(t, key, 'GET', '/v1/whoami', { others: [['oauth_token', 'abc']] }) },
    });
    expect(other.status).toBe(400);
    const form = await call(t, '/v1/whoami', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: oauthHeader(t, key, 'POST', '/v1/whoami', { others: [['oauth_signature_method', 'PLAINTEXT']] }),
      },
      body: 'oauth_signature_method=PLAINTEXT',
    });
    expect(form.status).toBe(400);
  });

  it('refuses a split: some protocol parameters in the header, the rest in the query', async () => {
    const key = await newClient(t);
    const oauth = protocolParams(t, key);
    const inHeader = oauth.filter(([n]) => n !== 'oauth_timestamp');
    const ts = oauth.find(([n]) => n === 'oauth_timestamp')?.[1] as string;
    const signature = sign('GET', origin, '/v1/whoami', oauth, key.secret);
    const header = `OAuth ${[...inHeader, ['oauth_signature', signature]].map(([n, v]) => `${n}="${percentEncode(v as string)}"`).join(', ')}`;
    const answer = await call(t, `/v1/whoami?oauth_timestamp=${ts}`, { headers: { authorization: header } });
    expect(answer.status).toBe(400);
    expect(['parameter_missing', 'parameter_duplicated']).toContain(code(answer));
  });

  it('refuses a missing nonce, an oversized nonce, and an unknown signature method', async () => {
    const key = await newClient(t);
    const cases: [Record<string, string | undefined>, number][] = [
      [{ oauth_nonce: undefined }, 400],
      [{ oauth_nonce: 'n'.repeat(10_000) }, 400],
      [{ oauth_signature_method: 'RSA-SHA1' }, 400],
      [{ oauth_signature_method: 'PLAINTEXT' }, 400],
      [{ oauth_version: '2.0' }, 400],
    ];
    for (const [overrides, status] of cases) {
      const header = oauthHeader(t, key, 'GET', '/v1/whoami', { oauth: protocolParams(t, key, overrides) });
      const answer = await call(t, '/v1/whoami', { headers: { authorization: header } });
      expect(answer.status, JSON.stringify(overrides).slice(0, 80)).toBe(status);
    }
  });
});

describe('origin and forwarded-header spoofing from an untrusted peer', () => {
  const spoofed = {
    host: 'evil.example',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'https',
    'x-forwarded-port': '443',
    forwarded: 'for=203.0.113.1;host=evil.example;proto=https',
  };

  it('signs against the configured public origin whatever Host and X-Forwarded-* say', async () => {
    const key = await newClient(t);
    const good = await rawHttp(t, 'GET', '/v1/whoami', {
      ...spoofed,
      authorization: oauthHeader(t, key, 'GET', '/v1/whoami'),
    });
    expect(good.status).toBe(200);
    for (const fake of ['https://evil.example', 'http://evil.example', `https://${new URL(origin).host}`]) {
      const answer = await rawHttp(t, 'GET', '/v1/whoami', {
        ...spoofed,
        authorization: oauthHeader(t, key, 'GET', '/v1/whoami', { origin: fake }),
      });
      expect([answer.status, code(answer)], fake).toEqual([401, 'signature_invalid']);
    }
  });

  it('POST /v1/verify: the forwarded Host never names the origin, X-Forwarded-Proto never makes TLS', async () => {
    const gateway = await newAccount(t);
    const service = await newClient(t, { scopes: [VERIFY_SCOPE] }, gateway);
    const customer = await newClient(t);
    const basicOf = (k: TestClient) => `Basic ${Buffer.from(`${k.id}:${k.secret}`).toString('base64')}`;
    const verify = (body: unknown) =>
      call(t, '/v1/verify', {
        method: 'POST',
        headers: { authorization: basicOf(service), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // Basic from a remote client over plain HTTP, with forwarded headers claiming https from loopback.
    const basic = await verify({
      method: 'GET',
      url: '/orders',
      headers: { authorization: basicOf(customer), ...spoofed, 'x-forwarded-for': '127.0.0.1' },
      remoteAddress: '198.51.100.7',
      secure: false,
    });
    expect(basic.status).toBe(200);
    expect(basic.body).toMatchObject({ ok: false, status: 403, code: 'transport_insecure' });
    // OAuth 1.0a signed for the forwarded host: refused; for the public origin: accepted.
    const forHost = await verify({
      method: 'GET',
      url: '/orders',
      headers: {
        authorization: oauthHeader(t, customer, 'GET', '/orders', { origin: 'https://evil.example' }),
        ...spoofed,
      },
      remoteAddress: '198.51.100.7',
    });
    expect(forHost.body).toMatchObject({ ok: false, code: 'signature_invalid' });
    const forOrigin = await verify({
      method: 'GET',
      url: '/orders',
      headers: { authorization: oauthHeader(t, customer, 'GET', '/orders'), ...spoofed },
      remoteAddress: '198.51.100.7',
    });
    expect(forOrigin.body).toMatchObject({ ok: true, principal: { keyId: customer.id, method: 'oauth1' } });
  });

  it('a server behind a trusted proxy still ignores forwarded headers from anyone else', async () => {
    const proxied = await startTestServer('sqlite', {
      ...UNLIMITED,
      trustProxy: ['10.1.2.3'],
      publicUrl: 'https://api.example.test',
    });
    try {
      const key = await newClient(proxied);
      // The peer is 127.0.0.1, not the trusted proxy: X-Forwarded-Host cannot move the origin.
      const answer = await rawHttp(proxied, 'GET', '/v1/whoami', {
        ...spoofed,
        authorization: oauthHeader(proxied, key, 'GET', '/v1/whoami', { origin: 'https://evil.example' }),
      });
      expect([answer.status, code(answer)]).toEqual([401, 'signature_invalid']);
      const right = await rawHttp(proxied, 'GET', '/v1/whoami', {
        ...spoofed,
        authorization: oauthHeader(proxied, key, 'GET', '/v1/whoami'),
      });
      expect(right.status).toBe(200);
    } finally {
      await proxied.close();
    }
  });
});
