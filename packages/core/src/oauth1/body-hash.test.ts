// The OAuth Request Body Hash (draft-eaton-oauth-bodyhash-00), accepted in SHA-1 or SHA-256 for
// either HMAC method. Published vectors (the draft's Appendix A) and requests signed by Python
// oauthlib are copied into test/fixtures with their sources: see test/fixtures/README.md.
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { type Param, percentEncode } from '../encoding.js';
import { type BodyHashAlgorithm, bodyHashAlgorithm, computeBodyHash, hashBody, verifyBodyHash } from './body-hash.js';
import { parseOAuth1Request } from './request.js';
import { signOAuth1 } from './sign.js';
import type { SignatureMethod } from './signature.js';
import { type OAuth1VerifyOptions, verifyOAuth1 } from './verify.js';

// Every timingSafeEqual call is recorded, so the tests can see the comparison is made by it.
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

interface Vectors {
  bodyHashes: { source: string; algorithm: BodyHashAlgorithm; body: string; bodyHash: string }[];
  baseStrings: {
    source: string;
    method: string;
    url: string;
    contentType?: string;
    body?: string;
    params: [string, string][];
    baseString: string;
  }[];
  signedRequests: {
    source: string;
    method: string;
    url: string;
    contentType: string;
    body: string;
    consumerSecret: string;
    tokenSecret: string;
    authorization: string;
  }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/oauth1-body-hash.json', import.meta.url), 'utf8'),
) as Vectors;

/** An `OAuth` Authorization header for parameters (RFC 5849 §3.5.1). */
function oauthHeader(params: readonly Param[]): string {
  return `OAuth ${params.map(([n, v]) => `${percentEncode(n)}="${percentEncode(v)}"`).join(', ')}`;
}

describe('body hash vectors (draft-eaton-oauth-bodyhash-00 Appendix A, and SHA-256 of the same bodies)', () => {
  it.each(vectors.bodyHashes)('$source', ({ algorithm, body, bodyHash }) => {
    expect(hashBody(algorithm, body)).toBe(bodyHash);
    expect(hashBody(algorithm, Buffer.from(body))).toBe(bodyHash);
    expect(bodyHashAlgorithm(bodyHash)).toBe(algorithm);
    expect(verifyBodyHash(bodyHash, body)).toEqual({ ok: true, value: true });
    // No body at all hashes as the empty string (§3.2).
    if (body === '') expect(verifyBodyHash(bodyHash, undefined).ok).toBe(true);
  });

  it.each(vectors.baseStrings)('$source: the signature base string', (v) => {
    const url = new URL(v.url);
    const parsed = parseOAuth1Request({
      method: v.method,
      origin: url.origin,
      target: url.pathname,
      authorization: oauthHeader([...v.params, ['oauth_signature', 'unchecked']]),
      contentType: v.contentType,
      body: v.body,
    });
    expect(parsed).toMatchObject({ ok: true, value: { baseString: v.baseString } });
    if (parsed.ok && parsed.value.bodyHash !== undefined) {
      expect(verifyBodyHash(parsed.value.bodyHash, parsed.value.body).ok).toBe(true);
    }
  });

  it.each(vectors.signedRequests)('$source: verifies, and not once the body changed', (v) => {
    const url = new URL(v.url);
    const input = {
      method: v.method,
      origin: url.origin,
      target: url.pathname,
      authorization: v.authorization,
      contentType: v.contentType,
      body: v.body,
    };
    const options: OAuth1VerifyOptions = {
      secrets: () => ({ consumerSecret: v.consumerSecret, tokenSecret: v.tokenSecret }),
    };
    expect(verifyOAuth1(input, options)).toMatchObject({
      ok: true,
      value: { bodyHash: 'Lve95gjOVATpfV8EL5X4nxwjKHE=' },
    });
    expect(verifyOAuth1({ ...input, body: 'Hello World?' }, options)).toMatchObject({
      ok: false,
      code: 'body_hash_invalid',
    });
  });
});

describe('verifyOAuth1 with oauth_body_hash in either digest', () => {
  const ORIGIN = 'https://api.example.com';
  const NOW = 1_800_000_000_000;
  const secrets = { consumerSecret: "s3cr3t !*'()", tokenSecret: '' };
  const options: OAuth1VerifyOptions = { secrets: () => secrets, now: NOW };
  const json = JSON.stringify({ order: 42, note: "it's ☕", list: [1, 2] });

  /** A JSON POST signed with core, carrying `oauth_body_hash` = `bodyHash` as it was signed. */
  function signedWith(signatureMethod: SignatureMethod, bodyHash: string, body = json) {
    const url = new URL('/v1/orders?x=1', ORIGIN);
    const s = signOAuth1({
      method: 'POST',
      url,
      consumerKey: 'kw_kid_demo',
      consumerSecret: secrets.consumerSecret,
      signatureMethod,
      nonce: 'nonce-1',
      timestamp: NOW / 1000,
      contentType: 'application/json',
      body,
      extraOAuthParams: [['oauth_body_hash', bodyHash]],
    });
    return {
      method: 'POST',
      origin: ORIGIN,
      target: `${url.pathname}${url.search}`,
      authorization: s.authorization,
      contentType: 'application/json; charset=utf-8',
      body,
    };
  }

  const methods = ['HMAC-SHA1', 'HMAC-SHA256'] as const;
  const algorithms = ['sha1', 'sha256'] as const;
  const combinations = methods.flatMap((method) => algorithms.map((algorithm) => [method, algorithm] as const));

  it.each(combinations)('%s with a %s body hash verifies', (method, algorithm) => {
    const bodyHash = hashBody(algorithm, json);
    const req = signedWith(method, bodyHash);
    expect(verifyOAuth1(req, options)).toMatchObject({ ok: true, value: { signatureMethod: method, bodyHash } });
    // The same digest whether the body arrives as text or as bytes.
    expect(verifyOAuth1({ ...req, body: Buffer.from(json) }, options).ok).toBe(true);
  });

  it.each(combinations)('%s with a wrong %s body hash (signed as sent) → body_hash_invalid', (method, algorithm) => {
    // The hash of another body, signed: the signature verifies, only the body hash is wrong.
    const req = signedWith(method, hashBody(algorithm, `${json} `));
    expect(verifyOAuth1(req, options)).toMatchObject({ ok: false, code: 'body_hash_invalid' });
    // And the right hash with the body changed after signing.
    const changed = { ...signedWith(method, hashBody(algorithm, json)), body: json.replace('42', '43') };
    expect(verifyOAuth1(changed, options)).toMatchObject({ ok: false, code: 'body_hash_invalid' });
  });

  const sha1 = crypto.createHash('sha1').update(json).digest();
  const sha256 = crypto.createHash('sha256').update(json).digest();
  const otherLengths: [string, string][] = [
    ['empty', ''],
    ['SHA-1 base64 without padding (27)', sha1.toString('base64').replace(/=+$/, '')],
    ['SHA-256 base64 without padding (43)', sha256.toString('base64').replace(/=+$/, '')],
    ['SHA-1 in hex (40)', sha1.toString('hex')],
    ['SHA-256 in hex (64)', sha256.toString('hex')],
    ['SHA-512 base64 (88)', crypto.createHash('sha512').update(json).digest('base64')],
    ['SHA-1 base64 with a character more (29)', `${sha1.toString('base64')}=`],
  ];

  it.each(methods)('%s with a body hash of another length → body_hash_invalid', (method) => {
    for (const [, value] of otherLengths) {
      expect(bodyHashAlgorithm(value)).toBeUndefined();
      expect(verifyOAuth1(signedWith(method, value), options)).toMatchObject({ ok: false, code: 'body_hash_invalid' });
    }
  });

  it('accepts no other encoding of the right digest (base64url has the same length)', () => {
    // A body whose SHA-256 has "+" or "/" in base64, so base64url differs in the same length.
    let body = json;
    while (!/[+/]/.test(hashBody('sha256', body))) body += ' ';
    const url = crypto.createHash('sha256').update(body).digest('base64url');
    expect(verifyOAuth1(signedWith('HMAC-SHA256', `${url}=`, body), options)).toMatchObject({
      ok: false,
      code: 'body_hash_invalid',
    });
  });

  it('checks the signature first: a forged request with a wrong body hash is signature_invalid', () => {
    const req = signedWith('HMAC-SHA256', hashBody('sha1', 'another body'));
    expect(verifyOAuth1(req, { ...options, secrets: () => ({ consumerSecret: 'wrong' }) })).toMatchObject({
      ok: false,
      code: 'signature_invalid',
    });
  });
});

describe('verifyBodyHash', () => {
  it('compares with crypto.timingSafeEqual on buffers of equal length', () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    for (const algorithm of ['sha1', 'sha256'] as const) {
      const wrong = hashBody(algorithm, 'another body');
      compare.mockClear();
      expect(verifyBodyHash(wrong, 'the body')).toMatchObject({ ok: false, code: 'body_hash_invalid' });
      expect(compare).toHaveBeenCalledTimes(1);
      const [a, b] = compare.mock.calls[0] as [NodeJS.ArrayBufferView, NodeJS.ArrayBufferView];
      expect(a.byteLength).toBe(b.byteLength);
      expect(a.byteLength).toBeGreaterThan(0);
    }
  });

  it('names the expected forms when the length is neither', () => {
    expect(verifyBodyHash('abc', '')).toMatchObject({
      ok: false,
      code: 'body_hash_invalid',
      detail: expect.any(String),
    });
  });
});

describe('computeBodyHash (what the signer sends)', () => {
  it("uses the signature method's own digest, and none for PLAINTEXT", () => {
    expect(computeBodyHash('HMAC-SHA1', 'Hello World!')).toBe('Lve95gjOVATpfV8EL5X4nxwjKHE=');
    expect(computeBodyHash('HMAC-SHA256', 'Hello World!')).toBe('f4OxZX/x/FO5LcGBSKHWXfwtSx+j1ncoSt3SABJtkGk=');
    expect(computeBodyHash('PLAINTEXT', 'Hello World!')).toBeUndefined();
  });
});
