// Published OAuth 1.0a vectors (RFC 5849, oauth.net TestCases, Twitter's signing example),
// copied into fixtures/ with their sources: see fixtures/README.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  baseStringUri,
  computeSignature,
  normalizeParameters,
  type Param,
  parseForm,
  parseOAuth1Request,
  percentEncode,
  type SignatureMethod,
  signatureBaseString,
  signOAuth1,
  verifyOAuth1,
} from '../src/index.js';

interface SignedRequest {
  source: string;
  method: string;
  url: string;
  params: [string, string][];
  consumerSecret: string;
  tokenSecret: string;
  signatureMethod: SignatureMethod;
  baseString: string;
  signature: string;
}

interface Vectors {
  percentEncoding: { input: string; encoded: string }[];
  parameterNormalization: { source: string; query: string; normalized: string }[];
  baseStrings: {
    source: string;
    method?: string;
    url: string;
    headers?: Record<string, string>;
    body?: string;
    params?: [string, string][];
    baseString?: string;
    baseStringUri?: string;
  }[];
  hmacSha1: { source: string; key: string; text: string; signature: string }[];
  signedRequests: SignedRequest[];
}

const vectors = JSON.parse(readFileSync(new URL('./fixtures/oauth1-vectors.json', import.meta.url), 'utf8')) as Vectors;

describe('percent-encoding vectors (RFC 5849 §3.6)', () => {
  it.each(vectors.percentEncoding)('encodes $input as $encoded', ({ input, encoded }) => {
    expect(percentEncode(input)).toBe(encoded);
  });
});

describe('parameter normalization vectors (RFC 5849 §3.4.1.3.2)', () => {
  it.each(vectors.parameterNormalization)('$query → $normalized', ({ query, normalized }) => {
    const parsed = parseForm(query);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(normalizeParameters(parsed.value)).toBe(normalized);
  });
});

describe('base string vectors (RFC 5849 §3.4.1)', () => {
  for (const v of vectors.baseStrings) {
    it(`${v.source}: ${v.url}`, () => {
      const url = new URL(v.url);
      if (v.baseStringUri !== undefined) {
        // §3.4.1.2: built from the scheme/host/port of the URL and its path as sent.
        const path = v.url.slice(v.url.indexOf('/', v.url.indexOf('//') + 2)).split('?')[0] ?? '/';
        expect(baseStringUri(`${url.protocol}//${url.host}`, path)).toBe(v.baseStringUri);
        return;
      }
      if (v.headers !== undefined) {
        // A whole received request: header, query and form body all take part.
        const parsed = parseOAuth1Request({
          method: v.method ?? 'GET',
          origin: url.origin,
          target: url.pathname + url.search,
          authorization: v.headers.Authorization,
          contentType: v.headers['Content-Type'],
          body: v.body,
        });
        expect(parsed.ok).toBe(true);
        if (parsed.ok) {
          expect(parsed.value.baseString).toBe(v.baseString);
          expect(parsed.value.realm).toBe('Example');
        }
        return;
      }
      const base = signatureBaseString(v.method ?? 'GET', baseStringUri(url.origin, url.pathname), v.params ?? []);
      expect(base).toBe(v.baseString);
    });
  }
});

describe('HMAC-SHA1 vectors (RFC 5849 §3.4.2)', () => {
  it.each(vectors.hmacSha1)('$source: key $key', ({ key, text, signature }) => {
    const [consumerSecret = '', tokenSecret = ''] = key.split('&').map(decodeURIComponent);
    expect(computeSignature('HMAC-SHA1', text, consumerSecret, tokenSecret)).toBe(signature);
  });
});

function receivedRequest(v: SignedRequest): { origin: string; target: string; authorization: string } {
  // Send the vector's protocol parameters in the header and the rest in the query, as a
  // client would, with the published signature.
  const url = new URL(v.url);
  const oauth: Param[] = v.params.filter(([n]) => n.startsWith('oauth_'));
  oauth.push(['oauth_signature', v.signature]);
  const header = `OAuth ${oauth.map(([n, val]) => `${percentEncode(n)}="${percentEncode(val)}"`).join(', ')}`;
  const query = v.params
    .filter(([n]) => !n.startsWith('oauth_'))
    .map(([n, val]) => `${percentEncode(n)}=${percentEncode(val)}`)
    .join('&');
  return { origin: url.origin, target: url.pathname + (query ? `?${query}` : ''), authorization: header };
}

describe('signed request vectors', () => {
  for (const v of vectors.signedRequests) {
    it(`${v.source}: base string and signature`, () => {
      const url = new URL(v.url);
      const base = signatureBaseString(v.method, baseStringUri(url.origin, url.pathname), v.params);
      expect(base).toBe(v.baseString);
      expect(computeSignature(v.signatureMethod, base, v.consumerSecret, v.tokenSecret)).toBe(v.signature);
    });

    it(`${v.source}: verifies as a received request`, () => {
      const received = receivedRequest(v);
      const timestamp = Number(v.params.find(([n]) => n === 'oauth_timestamp')?.[1]);
      const result = verifyOAuth1(
        { method: v.method, ...received },
        {
          secrets: () => ({ consumerSecret: v.consumerSecret, tokenSecret: v.tokenSecret }),
          now: timestamp * 1000,
        },
      );
      expect(result).toMatchObject({ ok: true, value: { baseString: v.baseString, signature: v.signature } });
    });

    it(`${v.source}: signOAuth1 reproduces the signature`, () => {
      const get = (name: string) => v.params.find(([n]) => n === name)?.[1];
      const url = new URL(v.url);
      url.search = '';
      for (const [n, val] of v.params) if (!n.startsWith('oauth_')) url.searchParams.append(n, val);
      const extra = v.params.filter(
        ([n]) =>
          n.startsWith('oauth_') &&
          ![
            'oauth_consumer_key',
            'oauth_nonce',
            'oauth_signature_method',
            'oauth_timestamp',
            'oauth_token',
            'oauth_version',
          ].includes(n),
      );
      const signed = signOAuth1({
        method: v.method,
        // The query is set from the vector's parameters (URLSearchParams encodes with `+`,
        // which form-decodes back to the same values).
        url: `${url.origin}${url.pathname}?${url.searchParams.toString()}`.replace(/\?$/, ''),
        consumerKey: get('oauth_consumer_key') ?? '',
        consumerSecret: v.consumerSecret,
        token: get('oauth_token'),
        tokenSecret: v.tokenSecret,
        signatureMethod: v.signatureMethod,
        nonce: get('oauth_nonce') ?? '',
        timestamp: Number(get('oauth_timestamp')),
        includeVersion: get('oauth_version') !== undefined,
        extraOAuthParams: extra,
      });
      expect(signed.baseString).toBe(v.baseString);
      expect(signed.signature).toBe(v.signature);
    });
  }

  it('the Twitter example signed with encodeURIComponent fails to verify', () => {
    const v = vectors.signedRequests.find((r) => r.source.startsWith('Twitter'));
    expect(v).toBeDefined();
    if (v === undefined) return;
    const received = receivedRequest({ ...v, signature: '1Ihv0FdxR4wzz3ltZ9LKORkSodo=' });
    const result = verifyOAuth1(
      { method: v.method, ...received },
      { secrets: () => ({ consumerSecret: v.consumerSecret, tokenSecret: v.tokenSecret }) },
    );
    expect(result).toMatchObject({ ok: false, code: 'signature_invalid' });
  });
});
