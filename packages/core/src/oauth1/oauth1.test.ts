import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseOAuthParams } from '../authorization.js';
import { percentEncode } from '../encoding.js';
import { parseOAuth1Request } from './request.js';
import { signOAuth1 } from './sign.js';
import { computeBodyHash } from './signature.js';
import { acceptableTimestamps, checkTimestamp, type OAuth1VerifyOptions, verifyOAuth1 } from './verify.js';

const ORIGIN = 'https://api.example.com';
const NOW = 1_800_000_000_000;
const TS = NOW / 1000;
const secrets = { consumerSecret: "s3cr3t !*'()", tokenSecret: '' };
const options: OAuth1VerifyOptions = { secrets: () => secrets, now: NOW };

/** Signs with core and returns what a server receives. */
function signed(
  method: string,
  path: string,
  extra: Partial<Parameters<typeof signOAuth1>[0]> = {},
): { method: string; origin: string; target: string; authorization: string; body?: string; contentType?: string } {
  const url = new URL(path, ORIGIN);
  const s = signOAuth1({
    method,
    url,
    consumerKey: 'kw_kid_demo',
    consumerSecret: secrets.consumerSecret,
    nonce: 'nonce-1',
    timestamp: TS,
    ...extra,
  });
  const body = typeof extra.body === 'string' ? extra.body : undefined;
  return {
    method,
    origin: ORIGIN,
    target: url.pathname + url.search,
    authorization: s.authorization,
    ...(body !== undefined ? { body } : {}),
    ...(extra.contentType !== undefined ? { contentType: extra.contentType } : {}),
  };
}

/** Replaces one parameter of an OAuth header. */
function withHeaderParam(header: string, name: string, value: string | undefined): string {
  const parsed = parseOAuthParams(header.slice('OAuth '.length));
  if (!parsed.ok) throw new Error('test header does not parse');
  const params = parsed.value.params.filter(([n]) => n !== name);
  if (value !== undefined) params.push([name, value]);
  return `OAuth ${params.map(([n, v]) => `${percentEncode(n)}="${percentEncode(v)}"`).join(', ')}`;
}

describe('verifyOAuth1: requests that must verify', () => {
  it('a 2-legged GET with query parameters', () => {
    const req = signed('GET', '/v1/things?b=2&a=1');
    expect(verifyOAuth1(req, options)).toMatchObject({
      ok: true,
      value: { consumerKey: 'kw_kid_demo', token: undefined, location: 'header', signatureMethod: 'HMAC-SHA256' },
    });
  });

  it('duplicate parameters and empty values take part in the signature', () => {
    const req = signed('GET', '/v1/things?a=2&a=1&a=&empty=&flag');
    const result = verifyOAuth1(req, options);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.baseString).toContain('a%3D%26a%3D1%26a%3D2%26empty%3D%26flag%3D');
    // Dropping one duplicate breaks the signature.
    expect(verifyOAuth1({ ...req, target: '/v1/things?a=2&a=&empty=&flag' }, options)).toMatchObject({
      ok: false,
      code: 'signature_invalid',
    });
  });

  it('non-ASCII in path, query and form body', () => {
    const req = signed('POST', '/v1/caf%C3%A9?q=%E2%98%95', {
      body: `name=${percentEncode('Zoë ☕')}`,
      contentType: 'application/x-www-form-urlencoded; charset=utf-8',
    });
    const result = verifyOAuth1(req, options);
    expect(result).toMatchObject({ ok: true, value: { formBody: true } });
    if (result.ok) expect(result.value.params).toContainEqual(['name', 'Zoë ☕']);
  });

  it('params lists what was signed, decoded and in the order sent: no realm, no signature', () => {
    const header =
      'OAuth realm="Orders", oauth_consumer_key="kw_kid_demo", oauth_nonce="n%2F1", ' +
      'oauth_signature="c2ln%3D", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1800000000", extra="x%2By"';
    const parsed = parseOAuth1Request({
      method: 'POST',
      origin: ORIGIN,
      target: '/v1/things?q=a+b&q=%C3%A9',
      authorization: header,
      body: 'note=rush+order&empty',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.params).toEqual([
      ['oauth_consumer_key', 'kw_kid_demo'],
      ['oauth_nonce', 'n/1'],
      ['oauth_signature_method', 'HMAC-SHA1'],
      ['oauth_timestamp', '1800000000'],
      ['extra', 'x+y'],
      ['q', 'a b'],
      ['q', 'é'],
      ['note', 'rush order'],
      ['empty', ''],
    ]);
    // Collected once, when first read.
    expect(parsed.value.params).toBe(parsed.value.params);
    expect(parsed.value).toMatchObject({ realm: 'Orders', signature: 'c2ln=' });
  });

  it('+ and %20 are the same space in a query; %2B is a plus', () => {
    const req = signed('GET', '/v1/search?q=a+b');
    expect(verifyOAuth1({ ...req, target: '/v1/search?q=a%20b' }, options).ok).toBe(true);
    expect(verifyOAuth1({ ...req, target: '/v1/search?q=a%2Bb' }, options)).toMatchObject({
      ok: false,
      code: 'signature_invalid',
    });
  });

  it('realm is excluded from the signature (RFC 5849 §3.4.1.3.1)', () => {
    const req = signed('GET', '/v1/things', { realm: 'Photos' });
    const result = verifyOAuth1(req, options);
    expect(result).toMatchObject({ ok: true, value: { realm: 'Photos' } });
    const other = req.authorization.replace('realm="Photos"', 'realm="Elsewhere"');
    expect(verifyOAuth1({ ...req, authorization: other }, options).ok).toBe(true);
  });

  it('the base string URI comes from the configured origin, default port dropped, case folded', () => {
    const req = signed('GET', '/v1/Things');
    expect(verifyOAuth1({ ...req, origin: 'HTTPS://API.Example.COM:443' }, options).ok).toBe(true);
    expect(verifyOAuth1({ ...req, origin: 'https://api.example.com:8443' }, options)).toMatchObject({
      ok: false,
      code: 'signature_invalid',
    });
    // The path is kept as sent: case matters.
    expect(verifyOAuth1({ ...req, target: '/v1/things' }, options)).toMatchObject({ ok: false });
  });

  it('a form body counts only when the Content-Type says so', () => {
    const form = signed('POST', '/v1/orders', {
      body: 'item=42&qty=1',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(verifyOAuth1(form, options)).toMatchObject({ ok: true, value: { formBody: true } });
    // The same bytes sent as text/plain are not parameters: the signature no longer matches.
    expect(verifyOAuth1({ ...form, contentType: 'text/plain' }, options)).toMatchObject({
      ok: false,
      code: 'signature_invalid',
    });
    // Changing a signed form value breaks the signature.
    expect(verifyOAuth1({ ...form, body: 'item=43&qty=1' }, options)).toMatchObject({
      ok: false,
      code: 'signature_invalid',
    });
  });

  it('protocol parameters in the query (signed URL) verify too', () => {
    const s = signOAuth1({
      method: 'GET',
      url: `${ORIGIN}/v1/things?x=1`,
      consumerKey: 'kw_kid_demo',
      consumerSecret: secrets.consumerSecret,
      nonce: 'n2',
      timestamp: TS,
    });
    const query = s.oauthParams.map(([n, v]) => `${percentEncode(n)}=${percentEncode(v)}`).join('&');
    const result = verifyOAuth1({ method: 'GET', origin: ORIGIN, target: `/v1/things?x=1&${query}` }, options);
    expect(result).toMatchObject({ ok: true, value: { location: 'query' } });
  });

  it('protocol parameters in a form body verify, and a Basic header beside them is ignored', () => {
    const s = signOAuth1({
      method: 'POST',
      url: `${ORIGIN}/v1/things`,
      consumerKey: 'kw_kid_demo',
      consumerSecret: secrets.consumerSecret,
      nonce: 'n3',
      timestamp: TS,
      body: 'a=1',
      contentType: 'application/x-www-form-urlencoded',
    });
    const body = `a=1&${s.oauthParams.map(([n, v]) => `${percentEncode(n)}=${percentEncode(v)}`).join('&')}`;
    const input = {
      method: 'POST',
      origin: ORIGIN,
      target: '/v1/things',
      contentType: 'application/x-www-form-urlencoded',
      body: Buffer.from(body),
      authorization: 'Basic aWQ6c2VjcmV0',
    };
    expect(verifyOAuth1(input, options)).toMatchObject({ ok: true, value: { location: 'body' } });
  });

  it('a token and token secret (signed sessions) are part of the key', () => {
    const req = signed('GET', '/v1/me', { token: 'kw_st_x', tokenSecret: 'ts' });
    const lookup = (tokenSecret: string): OAuth1VerifyOptions => ({
      now: NOW,
      secrets: (key, token) => (key === 'kw_kid_demo' && token === 'kw_st_x' ? { ...secrets, tokenSecret } : undefined),
    });
    expect(verifyOAuth1(req, lookup('ts'))).toMatchObject({ ok: true, value: { token: 'kw_st_x' } });
    expect(verifyOAuth1(req, lookup('other'))).toMatchObject({ ok: false, code: 'signature_invalid' });
  });

  it('other oauth_* parameters sort among the ones the verifier holds apart (RFC 5849 §3.4.1.3.2)', () => {
    // oauth_callback sorts between oauth_body_hash and oauth_consumer_key, oauth_verifier
    // between oauth_token and oauth_version, oauth_zz after them all; `oauth` and `oauth~`
    // (no underscore) sort below and above the whole oauth_ block.
    const extraOAuthParams: [string, string][] = [
      ['oauth_zz', '1'],
      ['oauth_verifier', 'v'],
      ['oauth_callback', 'https://client.example/cb?x=1'],
    ];
    const s = signOAuth1({
      method: 'PUT',
      url: `${ORIGIN}/v1/x?oauth=1&oauth~=2&a=3`,
      consumerKey: 'kw_kid_demo',
      consumerSecret: secrets.consumerSecret,
      token: 'kw_st_x',
      tokenSecret: 'ts',
      nonce: 'nonce-1',
      timestamp: TS,
      body: '{"a":1}',
      contentType: 'application/json',
      bodyHash: true,
      extraOAuthParams,
    });
    const names = s.params.map(([n]) => n).sort();
    expect(names).toEqual(
      [
        'a',
        'oauth',
        'oauth_body_hash',
        'oauth_callback',
        'oauth_consumer_key',
        'oauth_nonce',
        'oauth_signature_method',
        'oauth_timestamp',
        'oauth_token',
        'oauth_verifier',
        'oauth_version',
        'oauth_zz',
        'oauth~',
      ].sort(),
    );
    const input = {
      method: 'PUT',
      origin: ORIGIN,
      target: '/v1/x?oauth=1&oauth~=2&a=3',
      authorization: s.authorization,
      body: '{"a":1}',
      contentType: 'application/json',
    };
    const verified = verifyOAuth1(input, { now: NOW, secrets: () => ({ ...secrets, tokenSecret: 'ts' }) });
    expect(verified).toMatchObject({ ok: true, value: { baseString: s.baseString } });
    const bodyHash = percentEncode(percentEncode(computeBodyHash('HMAC-SHA256', '{"a":1}') ?? ''));
    expect(s.baseString).toContain(`&a%3D3%26oauth%3D1%26oauth_body_hash%3D${bodyHash}%26oauth_callback%3D`);
    expect(s.baseString).toMatch(
      /%26oauth_token%3Dkw_st_x%26oauth_verifier%3Dv%26oauth_version%3D1\.0%26oauth_zz%3D1%26oauth~%3D2$/,
    );
  });

  it('an empty oauth_token is a 2-legged request but still signed', () => {
    const req = signed('GET', '/v1/me', { token: '' });
    expect(verifyOAuth1(req, options)).toMatchObject({ ok: true, value: { token: undefined } });
  });

  it('HMAC-SHA1 and, when enabled, PLAINTEXT', () => {
    expect(verifyOAuth1(signed('GET', '/x', { signatureMethod: 'HMAC-SHA1' }), options).ok).toBe(true);
    const plain = signed('GET', '/x', { signatureMethod: 'PLAINTEXT' });
    expect(verifyOAuth1(plain, options)).toMatchObject({ ok: false, code: 'signature_method_rejected' });
    expect(verifyOAuth1(plain, { ...options, signatureMethods: ['PLAINTEXT'] }).ok).toBe(true);
  });
});

describe("the !*'() regression", () => {
  /** A signer that makes the classic mistake: encodeURIComponent instead of RFC 3986. */
  function naiveSign(params: [string, string][], secret: string): string {
    const enc = encodeURIComponent;
    const norm = params
      .map(([n, v]) => [enc(n), enc(v)])
      .sort((a, b) => (a[0] === b[0] ? ((a[1] ?? '') < (b[1] ?? '') ? -1 : 1) : (a[0] ?? '') < (b[0] ?? '') ? -1 : 1))
      .map(([n, v]) => `${n}=${v}`)
      .join('&');
    const base = `GET&${enc(`${ORIGIN}/v1/search`)}&${enc(norm)}`;
    return createHmac('sha256', `${enc(secret)}&`)
      .update(base)
      .digest('base64');
  }

  it('a signature made with encodeURIComponent fails to verify', () => {
    const oauth: [string, string][] = [
      ['oauth_consumer_key', 'kw_kid_demo'],
      ['oauth_nonce', 'n'],
      ['oauth_signature_method', 'HMAC-SHA256'],
      ['oauth_timestamp', String(TS)],
    ];
    const params: [string, string][] = [...oauth, ['q', "it's (really) *that* good!"]];
    const signature = naiveSign(params, secrets.consumerSecret);
    const header = `OAuth ${[...oauth, ['oauth_signature', signature]].map(([n, v]) => `${n}="${percentEncode(v ?? '')}"`).join(', ')}`;
    const target = `/v1/search?q=${percentEncode("it's (really) *that* good!")}`;
    expect(verifyOAuth1({ method: 'GET', origin: ORIGIN, target, authorization: header }, options)).toMatchObject({
      ok: false,
      code: 'signature_invalid',
    });
    // Control: core's own signer gets the same request right.
    expect(verifyOAuth1(signed('GET', target), options).ok).toBe(true);
  });
});

describe('verifyOAuth1: requests that must be refused', () => {
  const base = signed('GET', '/v1/things?x=1');

  it('protocol parameters in two places → parameter_duplicated', () => {
    expect(verifyOAuth1({ ...base, target: '/v1/things?x=1&oauth_nonce=other' }, options)).toMatchObject({
      ok: false,
      code: 'parameter_duplicated',
    });
    expect(verifyOAuth1({ ...base, target: '/v1/things?x=1&oauth_extra=1' }, options)).toMatchObject({
      ok: false,
      code: 'parameter_duplicated',
    });
  });

  it('a protocol parameter twice in the query → parameter_duplicated', () => {
    const q = `oauth_consumer_key=a&oauth_nonce=1&oauth_nonce=2&oauth_signature_method=HMAC-SHA1&oauth_timestamp=${TS}&oauth_signature=x`;
    expect(verifyOAuth1({ method: 'GET', origin: ORIGIN, target: `/x?${q}` }, options)).toMatchObject({
      ok: false,
      code: 'parameter_duplicated',
    });
  });

  it.each(['oauth_consumer_key', 'oauth_signature_method', 'oauth_signature', 'oauth_timestamp', 'oauth_nonce'])(
    'missing or empty %s → parameter_missing',
    (name) => {
      for (const value of [undefined, '']) {
        const authorization = withHeaderParam(base.authorization, name, value);
        expect(verifyOAuth1({ ...base, authorization }, options)).toMatchObject({
          ok: false,
          code: 'parameter_missing',
          detail: name,
        });
      }
    },
  );

  it('no OAuth parameters anywhere → credentials_missing', () => {
    expect(verifyOAuth1({ method: 'GET', origin: ORIGIN, target: '/x?a=1' }, options)).toMatchObject({
      ok: false,
      code: 'credentials_missing',
    });
  });

  it.each([
    ['oauth_version', '2.0', 'parameter_rejected'],
    ['oauth_timestamp', '1800000000000', 'parameter_rejected'],
    ['oauth_timestamp', '18e8', 'parameter_rejected'],
    ['oauth_timestamp', ' 1800000000', 'parameter_rejected'],
    ['oauth_nonce', 'has space', 'parameter_rejected'],
    ['oauth_nonce', 'n'.repeat(65), 'parameter_rejected'],
    ['oauth_signature_method', 'RSA-SHA1', 'signature_method_rejected'],
    ['oauth_signature_method', 'hmac-sha256', 'signature_method_rejected'],
  ])('%s=%s → %s', (name, value, code) => {
    const authorization = withHeaderParam(base.authorization, name, value);
    expect(verifyOAuth1({ ...base, authorization }, options)).toMatchObject({ ok: false, code });
  });

  it('timestamps outside the window → timestamp_refused with the acceptable range', () => {
    expect(verifyOAuth1(base, { ...options, now: NOW + 301_000 })).toMatchObject({
      ok: false,
      code: 'timestamp_refused',
      detail: `${TS + 1}-${TS + 601}`,
    });
    expect(verifyOAuth1(base, { ...options, now: NOW - 301_000 })).toMatchObject({
      ok: false,
      code: 'timestamp_refused',
    });
    expect(verifyOAuth1(base, { ...options, now: NOW + 300_999 }).ok).toBe(true);
    expect(verifyOAuth1(base, { ...options, now: NOW + 20_000, timestampWindow: 10 })).toMatchObject({
      ok: false,
      code: 'timestamp_refused',
    });
    expect(checkTimestamp(TS, NOW)).toEqual({ ok: true, value: true });
    expect(acceptableTimestamps(NOW, 60)).toEqual({ min: TS - 60, max: TS + 60 });
  });

  it('an unknown consumer key → key_unknown', () => {
    expect(verifyOAuth1(base, { ...options, secrets: () => undefined })).toMatchObject({
      ok: false,
      code: 'key_unknown',
    });
  });

  it('a wrong secret, method, path or an alternative base64 spelling → signature_invalid', () => {
    expect(verifyOAuth1(base, { ...options, secrets: () => ({ consumerSecret: 'wrong' }) })).toMatchObject({
      ok: false,
      code: 'signature_invalid',
    });
    expect(verifyOAuth1({ ...base, method: 'POST' }, options)).toMatchObject({ ok: false, code: 'signature_invalid' });
    expect(verifyOAuth1({ ...base, target: '/v1/other?x=1' }, options)).toMatchObject({
      ok: false,
      code: 'signature_invalid',
    });
    const parsed = parseOAuth1Request(base);
    if (!parsed.ok) throw new Error('base request must parse');
    const unpadded = parsed.value.signature.replace(/=+$/, '');
    const authorization = withHeaderParam(base.authorization, 'oauth_signature', unpadded);
    expect(verifyOAuth1({ ...base, authorization }, options)).toMatchObject({ ok: false, code: 'signature_invalid' });
  });

  it('a malformed header, target or query → malformed_*', () => {
    expect(verifyOAuth1({ ...base, authorization: 'OAuth oauth_nonce=unquoted' }, options)).toMatchObject({
      ok: false,
      code: 'malformed_header',
    });
    expect(verifyOAuth1({ ...base, target: 'http://evil.example/v1/things' }, options)).toMatchObject({
      ok: false,
      code: 'malformed_request',
    });
    expect(verifyOAuth1({ ...base, target: '/v1/things?x=%E0%A4' }, options)).toMatchObject({
      ok: false,
      code: 'malformed_request',
    });
    expect(
      verifyOAuth1(
        { ...base, body: Buffer.from([0x61, 0x3d, 0xff]), contentType: 'application/x-www-form-urlencoded' },
        options,
      ),
    ).toMatchObject({ ok: false, code: 'malformed_request' });
  });

  it('too many query parameters → too_many_parameters', () => {
    const target = `/x?${Array.from({ length: 300 }, (_, i) => `p${i}=1`).join('&')}`;
    expect(verifyOAuth1({ ...base, target }, options)).toMatchObject({ ok: false, code: 'too_many_parameters' });
  });
});

describe('OAuth Request Body Hash', () => {
  const json = JSON.stringify({ order: 42, note: "it's ☕" });

  it('a JSON body covered by oauth_body_hash verifies, and a changed body does not', () => {
    const req = signed('POST', '/v1/orders', { body: json, contentType: 'application/json', bodyHash: true });
    expect(verifyOAuth1(req, options)).toMatchObject({
      ok: true,
      value: { bodyHash: computeBodyHash('HMAC-SHA256', json) },
    });
    expect(verifyOAuth1({ ...req, body: json.replace('42', '43') }, options)).toMatchObject({
      ok: false,
      code: 'body_hash_invalid',
    });
    // Bytes or string: the same hash.
    expect(verifyOAuth1({ ...req, body: Buffer.from(json) }, options).ok).toBe(true);
  });

  it('uses SHA-1 with HMAC-SHA1 and hashes an absent body as empty', () => {
    const req = signed('GET', '/v1/orders', { signatureMethod: 'HMAC-SHA1', bodyHash: true });
    expect(verifyOAuth1(req, options)).toMatchObject({ ok: true, value: { bodyHash: '2jmj7l5rSw0yVb/vlWAYkK/YBwk=' } });
  });

  it('is refused with a form body or PLAINTEXT, and required when the route says so', () => {
    const form = signed('POST', '/v1/orders', { body: 'a=1', contentType: 'application/x-www-form-urlencoded' });
    const withHash = withHeaderParam(
      form.authorization,
      'oauth_body_hash',
      computeBodyHash('HMAC-SHA256', 'a=1') ?? '',
    );
    expect(verifyOAuth1({ ...form, authorization: withHash }, options)).toMatchObject({
      ok: false,
      code: 'parameter_rejected',
    });
    const plain = signed('POST', '/v1/orders', {
      body: json,
      contentType: 'application/json',
      signatureMethod: 'PLAINTEXT',
    });
    const plainWithHash = withHeaderParam(plain.authorization, 'oauth_body_hash', 'x');
    expect(
      verifyOAuth1({ ...plain, authorization: plainWithHash }, { ...options, signatureMethods: ['PLAINTEXT'] }),
    ).toMatchObject({ ok: false, code: 'parameter_rejected' });
    const unhashed = signed('POST', '/v1/orders', { body: json, contentType: 'application/json' });
    expect(verifyOAuth1(unhashed, { ...options, requireBodyHash: true })).toMatchObject({
      ok: false,
      code: 'body_hash_missing',
    });
    expect(verifyOAuth1(form, { ...options, requireBodyHash: true }).ok).toBe(true);
  });
});

describe('signOAuth1 misuse', () => {
  it('throws TypeError on a non-http URL, a fractional timestamp or PLAINTEXT with a body hash', () => {
    const input = { method: 'GET', consumerKey: 'k', consumerSecret: 's', nonce: 'n', timestamp: TS };
    expect(() => signOAuth1({ ...input, url: 'ftp://x/y' })).toThrow(TypeError);
    expect(() => signOAuth1({ ...input, url: `${ORIGIN}/`, timestamp: 1.5 })).toThrow(TypeError);
    expect(() => signOAuth1({ ...input, url: `${ORIGIN}/`, signatureMethod: 'PLAINTEXT', bodyHash: true })).toThrow(
      TypeError,
    );
    expect(() => parseOAuth1Request({ ...signed('GET', '/'), origin: 'https://x.example/path' })).toThrow(TypeError);
  });
});
