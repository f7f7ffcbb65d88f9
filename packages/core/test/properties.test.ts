// Property-based tests (fast-check) for @keyward/core: OAuth 1.0a sign→verify round trips and
// tampering, parsers that never throw nor hang, RFC 3986 percent-encoding, Keyward string
// checksums and AES-GCM sealing. numRuns are kept modest so the file stays fast on small CI
// machines; a failing run prints its seed and shrunk counterexample.
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ErrorCode,
  formatKeywardString,
  formatOAuthHeader,
  formDecode,
  generateApiKey,
  generateSessionSecret,
  generateToken,
  ID_LENGTH,
  identify,
  type KeywardStringType,
  type MasterKey,
  normalizeParameters,
  type OAuth1RequestInput,
  type OAuth1Secrets,
  openSecret,
  type Param,
  parseAuthorization,
  parseBasicCredentials,
  parseBearerCredentials,
  parseForm,
  parseOAuth1Request,
  parseOAuthParams,
  percentDecode,
  percentEncode,
  type RandomBytes,
  type Result,
  randomBase62,
  SECRET_LENGTH,
  SIGNATURE_METHODS,
  type SignatureMethod,
  sealedKeyVersion,
  sealSecret,
  signatureBaseString,
  signOAuth1,
  verifyOAuth1,
} from '../src/index.js';
import { cpuTimed } from './support/cpu-time.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers and arbitraries
// ---------------------------------------------------------------------------------------------

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE64URL = `${BASE62}-_`;
const UNRESERVED = new Set(`${BASE62}-._~`);

/** One code point anywhere in Unicode except the surrogate range (well-formed). */
const codePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
/** One lone UTF-16 surrogate (ill-formed on its own). */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Well-formed strings over the whole of Unicode. */
const unicodeString = (maxLength: number, minLength = 0) => fc.string({ unit: 'binary', minLength, maxLength });
/** Strings that may hold lone surrogates too ("full" JavaScript strings). */
const anyJsString = (maxLength: number) =>
  fc.string({
    unit: fc.oneof({ weight: 6, arbitrary: codePoint }, { weight: 1, arbitrary: loneSurrogate }),
    maxLength,
  });
const bytes = (maxLength: number) => fc.uint8Array({ maxLength });

/** What TextEncoder/UTF-8 does to a JavaScript string: lone surrogates become U+FFFD. */
function toWellFormed(s: string): string {
  return new TextDecoder().decode(new TextEncoder().encode(s));
}

function hasLoneSurrogate(s: string): boolean {
  return toWellFormed(s) !== s;
}

/** Reference RFC 3986 / RFC 5849 §3.6 encoder, byte by byte over UTF-8. */
function referenceEncode(s: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    out += UNRESERVED.has(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Reference signature base string (RFC 5849 §3.4.1.1–§3.4.1.3), written straight from the RFC. */
function referenceBaseString(method: string, uri: string, params: readonly Param[]): string {
  const encoded = params.map(([n, v]) => [referenceEncode(n), referenceEncode(v)] as const);
  // §3.4.1.3.2: sort by encoded name, ties by encoded value, in ascending byte order.
  encoded.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const normalized = encoded.map(([n, v]) => `${n}=${v}`).join('&');
  return `${referenceEncode(method.toUpperCase())}&${referenceEncode(uri)}&${referenceEncode(normalized)}`;
}

/** Reference signature (RFC 5849 §3.4.2–§3.4.4). */
function referenceSignature(method: SignatureMethod, base: string, consumerSecret: string, tokenSecret: string) {
  const key = `${referenceEncode(consumerSecret)}&${referenceEncode(tokenSecret)}`;
  if (method === 'PLAINTEXT') return key;
  return createHmac(method === 'HMAC-SHA1' ? 'sha1' : 'sha256', key)
    .update(base)
    .digest('base64');
}

/** Reference oauth_body_hash: base64 of the body's UTF-8 bytes hashed (draft-eaton-oauth-bodyhash §3.1). */
function referenceBodyHash(method: SignatureMethod, body: string | Uint8Array | undefined): string {
  const data = body === undefined ? new Uint8Array() : typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return createHash(method === 'HMAC-SHA1' ? 'sha1' : 'sha256')
    .update(data)
    .digest('base64');
}

function replaceAt(s: string, index: number, replacement: string): string {
  return s.slice(0, index) + replacement + s.slice(index + 1);
}

/** Picks a character different from `original` out of `alphabet`, driven by `n`. */
function otherChar(alphabet: string, original: string, n: number): string {
  const candidates = alphabet.replace(original, '');
  return candidates[n % candidates.length] as string;
}

function expectResult(result: Result<unknown, ErrorCode>, allowed: readonly ErrorCode[]): void {
  expect(typeof result.ok).toBe('boolean');
  if (!result.ok) expect(allowed).toContain(result.code);
}

function codeOf(result: Result<unknown, ErrorCode>): string {
  return result.ok ? 'ok' : result.code;
}

/**
 * Runs `f` and asserts it returned within a generous bound of CPU time: a hang guard, not a
 * speed target.
 */
function timed<T>(label: string, f: () => T): T {
  const { value, ms } = cpuTimed(f);
  expect(ms, `${label} took ${ms.toFixed(1)} ms of CPU time`).toBeLessThan(1000);
  return value;
}

const AUTHORIZATION_CODES: ErrorCode[] = [
  'credentials_missing',
  'scheme_unsupported',
  'malformed_header',
  'parameter_duplicated',
  'too_many_parameters',
];
const OAUTH_PARAM_CODES: ErrorCode[] = ['malformed_header', 'parameter_duplicated', 'too_many_parameters'];
const FORM_CODES: ErrorCode[] = ['malformed_request', 'too_many_parameters'];
const PARSE_CODES: ErrorCode[] = [
  'credentials_missing',
  'malformed_header',
  'malformed_request',
  'parameter_missing',
  'parameter_duplicated',
  'parameter_rejected',
  'too_many_parameters',
  'signature_method_rejected',
  'body_hash_missing',
];
const VERIFY_CODES: ErrorCode[] = [
  ...PARSE_CODES,
  'timestamp_refused',
  'key_unknown',
  'signature_invalid',
  'body_hash_invalid',
];

// ---------------------------------------------------------------------------------------------
// Requests to sign
// ---------------------------------------------------------------------------------------------

const TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const httpMethod = fc.oneof(
  fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'get', 'post', 'patch', 'Delete'),
  fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 12 }),
);

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const asciiLabel = fc
  .tuple(fc.constantFrom(...LETTERS), fc.string({ unit: fc.constantFrom(...`${LETTERS}0123456789-`), maxLength: 12 }))
  .map(([first, rest]) => first + rest)
  // An `xn--` label must be valid Punycode or the URL parser refuses the host.
  .filter((label) => !/^xn--/i.test(label));
const unicodeLabel = fc.constantFrom('münchen', 'BÜCHER', '例え', 'пример', 'école', 'straße', 'ευρώπη');
const hostname = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.oneof(asciiLabel, unicodeLabel), { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(['127.0.0.1'], ['10.0.0.255'], ['[::1]'], ['[2001:DB8::1]']) },
);

// Path characters: sub-delims `!*'()` that encodeURIComponent leaves alone, spaces, a bare `%`,
// non-ASCII, and anything else but `?` and `#` (which would end the path).
const pathUnit = fc.oneof(
  fc.constantFrom(...`!*'()%  $&+,;=:@~-._[]"<>^\`{|}\\é€😀`, '%41', '%2e', '%2F', '%zz', '..', '.'),
  fc.constantFrom(...BASE62),
  codePoint.filter((c) => c !== '?' && c !== '#'),
  loneSurrogate,
);
const pathSegments = fc.array(fc.string({ unit: pathUnit, maxLength: 8 }), { maxLength: 5 });

/** Names and values of query and form parameters; duplicates come from the small pool. */
const paramName = fc
  .oneof(fc.constantFrom('a', 'b', 'a b', 'ü', '', 'x+y', 'oauth', 'q'), unicodeString(8))
  .filter((n) => !n.startsWith('oauth_'));
const paramValue = fc.oneof(fc.constantFrom('', '1', ' ', "!*'()", '%', '+', '&=', 'é'), unicodeString(12));
const paramList = fc.array(fc.tuple(paramName, paramValue), { maxLength: 8 });
/** Enough parameters, often sharing names, to take the sort past its small-list path. */
const longParamList = fc.array(
  fc.tuple(fc.constantFrom('a', 'A', 'a-b', 'a.b', 'a_b', 'a~', 'ab', 'b', 'é', 'a b', '!', '%'), paramValue),
  { minLength: 20, maxLength: 40 },
);

interface EncodeStyle {
  /** Write `name` instead of `name=` for an empty value. */
  readonly omitEquals: boolean;
  /** Lower-case hex digits in `%xx`. */
  readonly lowerHex: boolean;
  /** Encode spaces as `+` (HTML form encoding). */
  readonly plusForSpace: boolean;
}
const encodeStyle: fc.Arbitrary<EncodeStyle> = fc.record({
  omitEquals: fc.boolean(),
  lowerHex: fc.boolean(),
  plusForSpace: fc.boolean(),
});

function encodeComponent(s: string, style: EncodeStyle): string {
  let e = percentEncode(s);
  if (style.lowerHex) e = e.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  if (style.plusForSpace) e = e.replaceAll('%20', '+');
  return e;
}

function encodePairs(pairs: readonly Param[], style: EncodeStyle): string {
  return pairs
    .map(([n, v]) =>
      v === '' && n !== '' && style.omitEquals
        ? encodeComponent(n, style)
        : `${encodeComponent(n, style)}=${encodeComponent(v, style)}`,
    )
    .join('&');
}

const FORM_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'Application/X-WWW-Form-URLEncoded',
  '  application/x-www-form-urlencoded ;charset=utf-8',
];
const OTHER_TYPES = [
  'application/json',
  'text/plain; charset=utf-8',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencodedx',
  'x-www-form-urlencoded',
];

type BodyCase =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'form';
      readonly pairs: Param[];
      readonly style: EncodeStyle;
      readonly contentType: string;
      readonly asBytes: boolean;
    }
  | {
      readonly kind: 'raw';
      readonly body: string | Uint8Array | undefined;
      readonly contentType: string | undefined;
      readonly bodyHash: boolean;
    };

const bodyCase: fc.Arbitrary<BodyCase> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({
    kind: fc.constant('form' as const),
    pairs: paramList,
    style: encodeStyle,
    contentType: fc.constantFrom(...FORM_TYPES),
    asBytes: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('raw' as const),
    body: fc.oneof(anyJsString(60), bytes(120), fc.constant(undefined)),
    contentType: fc.option(fc.constantFrom(...OTHER_TYPES), { nil: undefined }),
    bodyHash: fc.boolean(),
  }),
);

/** Secrets: any JavaScript string, lone surrogates included. */
const secret = anyJsString(24);
const VISIBLE_ASCII = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
const nonce = fc.string({ unit: fc.constantFrom(...VISIBLE_ASCII), minLength: 1, maxLength: 64 });
const realm = fc.option(
  unicodeString(16).filter((r) => ![...r].some((c) => c === '"' || c === '\\' || c < ' ' || c === '\x7f')),
  { nil: undefined },
);

const signCase = fc.record({
  method: httpMethod,
  https: fc.boolean(),
  host: hostname,
  port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  segments: pathSegments,
  query: fc.oneof({ weight: 4, arbitrary: paramList }, { weight: 1, arbitrary: longParamList }),
  queryStyle: encodeStyle,
  body: bodyCase,
  consumerKey: unicodeString(24, 1),
  consumerSecret: secret,
  token: fc.option(unicodeString(24, 1), { nil: undefined }),
  tokenSecret: secret,
  signatureMethod: fc.constantFrom<SignatureMethod>(...SIGNATURE_METHODS),
  enableAllMethods: fc.boolean(),
  nonce,
  timestamp: fc.integer({ min: 0, max: 9_999_999_999 }),
  skewSeconds: fc.integer({ min: -300, max: 300 }),
  skewMillis: fc.integer({ min: 0, max: 999 }),
  realm,
  includeVersion: fc.boolean(),
  callback: fc.option(unicodeString(16), { nil: undefined }),
});
type SignCase = typeof signCase extends fc.Arbitrary<infer T> ? T : never;

interface Built {
  readonly c: SignCase;
  readonly url: string;
  readonly body: string | Uint8Array | undefined;
  readonly contentType: string | undefined;
  readonly bodyHash: boolean;
  readonly signed: ReturnType<typeof signOAuth1>;
  readonly input: OAuth1RequestInput;
  readonly now: number;
  readonly signatureMethods: readonly SignatureMethod[] | undefined;
  readonly secrets: OAuth1Secrets;
  /** The non-protocol parameters the server must collect: query, then form body. */
  readonly expectedParams: Param[];
}

function build(c: SignCase): Built {
  const host = c.host.join('.');
  const port = c.port === undefined ? '' : `:${c.port}`;
  const qs = encodePairs(c.query, c.queryStyle);
  const url = `${c.https ? 'https' : 'http'}://${host}${port}/${c.segments.join('/')}${qs === '' ? '' : `?${qs}`}`;

  let body: string | Uint8Array | undefined;
  let contentType: string | undefined;
  let bodyHash = false;
  const expectedParams: Param[] = [];
  // Empty segments (`a=1&&b`) are skipped by form parsing, and a pair ['', ''] with `omitEquals`
  // would be one; encodePairs never writes that, so every pair comes back.
  expectedParams.push(...c.query);
  if (c.body.kind === 'form') {
    const text = encodePairs(c.body.pairs, c.body.style);
    body = c.body.asBytes ? new TextEncoder().encode(text) : text;
    contentType = c.body.contentType;
    expectedParams.push(...c.body.pairs);
  } else if (c.body.kind === 'raw') {
    body = c.body.body;
    contentType = c.body.contentType;
    // PLAINTEXT has no hash algorithm: signOAuth1 documents a TypeError for that combination.
    bodyHash = c.body.bodyHash && c.signatureMethod !== 'PLAINTEXT';
  }

  const signed = signOAuth1({
    method: c.method,
    url,
    consumerKey: c.consumerKey,
    consumerSecret: c.consumerSecret,
    token: c.token,
    tokenSecret: c.tokenSecret,
    signatureMethod: c.signatureMethod,
    nonce: c.nonce,
    timestamp: c.timestamp,
    body,
    contentType,
    bodyHash,
    realm: c.realm,
    includeVersion: c.includeVersion,
    extraOAuthParams: c.callback === undefined ? undefined : [['oauth_callback', c.callback]],
  });

  // What a server receives: its configured public origin and the request-target as sent.
  const u = new URL(url);
  const input: OAuth1RequestInput = {
    method: c.method,
    origin: u.origin,
    target: u.pathname + u.search,
    authorization: signed.authorization,
    contentType,
    body,
  };
  return {
    c,
    url,
    body,
    contentType,
    bodyHash,
    signed,
    input,
    now: (c.timestamp + c.skewSeconds) * 1000 + c.skewMillis,
    signatureMethods: c.signatureMethod === 'PLAINTEXT' || c.enableAllMethods ? SIGNATURE_METHODS : undefined,
    secrets: { consumerSecret: c.consumerSecret, tokenSecret: c.tokenSecret },
    expectedParams,
  };
}

function verifyBuilt(b: Built, input: OAuth1RequestInput = b.input, secrets: OAuth1Secrets = b.secrets) {
  return verifyOAuth1(input, {
    // Only the signer's exact key and token have secrets: a mangled key must not verify.
    secrets: (key, token) => (key === b.c.consumerKey && token === b.c.token ? secrets : undefined),
    now: b.now,
    signatureMethods: b.signatureMethods,
  });
}

const byJson = (a: Param, b: Param) => {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

// ---------------------------------------------------------------------------------------------
// 1. OAuth 1.0a sign → verify
// ---------------------------------------------------------------------------------------------

describe('OAuth 1.0a: signOAuth1 → verifyOAuth1', () => {
  it('every signed request verifies, with the same base string and parameters', () => {
    fc.assert(
      fc.property(signCase, (c) => {
        const b = build(c);
        const result = verifyBuilt(b);
        expect(codeOf(result), b.url).toBe('ok');
        if (!result.ok) return;
        const request = result.value;
        expect(request.baseString).toBe(b.signed.baseString);
        expect(request.signature).toBe(b.signed.signature);
        expect(request.consumerKey).toBe(c.consumerKey);
        expect(request.token).toBe(c.token);
        expect(request.nonce).toBe(c.nonce);
        expect(request.timestamp).toBe(c.timestamp);
        expect(request.signatureMethod).toBe(c.signatureMethod);
        expect(request.realm).toBe(c.realm);
        expect(request.location).toBe('header');
        expect(request.formBody).toBe(c.body.kind === 'form');
        expect(request.bodyHash === undefined).toBe(!b.bodyHash);
        expect([...request.params].sort(byJson)).toEqual([...b.signed.params].sort(byJson));
        // Query and form parameters come back decoded, duplicates and order kept.
        expect(request.params.filter(([n]) => !n.startsWith('oauth_'))).toEqual(b.expectedParams);
        // Both sides agree with a from-the-RFC implementation, so they cannot share a mistake.
        const protocol: Param[] = [
          ['oauth_consumer_key', c.consumerKey],
          ['oauth_nonce', c.nonce],
          ['oauth_signature_method', c.signatureMethod],
          ['oauth_timestamp', String(c.timestamp)],
        ];
        if (c.token !== undefined) protocol.push(['oauth_token', c.token]);
        if (c.includeVersion) protocol.push(['oauth_version', '1.0']);
        if (c.callback !== undefined) protocol.push(['oauth_callback', c.callback]);
        if (b.bodyHash) protocol.push(['oauth_body_hash', referenceBodyHash(c.signatureMethod, b.body)]);
        const u = new URL(b.url);
        const base = referenceBaseString(c.method, u.origin + u.pathname, [...protocol, ...b.expectedParams]);
        expect(request.baseString).toBe(base);
        expect(request.signature).toBe(referenceSignature(c.signatureMethod, base, c.consumerSecret, c.tokenSecret));
      }),
      { numRuns: 300 },
    );
  });

  it('flipping any character of the signature gives signature_invalid', () => {
    fc.assert(
      fc.property(signCase, fc.nat(), codePoint, (c, n, replacement) => {
        const b = build(c);
        const signature = b.signed.signature;
        const index = n % signature.length;
        const original = signature[index] as string;
        const flipped = replaceAt(
          signature,
          index,
          replacement === original ? otherChar(BASE64URL, original, n) : replacement,
        );
        const params: Param[] = b.signed.oauthParams.map(([name, value]) =>
          name === 'oauth_signature' ? [name, flipped] : [name, value],
        );
        const authorization = formatOAuthHeader(params, c.realm);
        expect(codeOf(verifyBuilt(b, { ...b.input, authorization }))).toBe('signature_invalid');
      }),
      { numRuns: 150 },
    );
  });

  it('a different consumer secret (or token secret) gives signature_invalid', () => {
    fc.assert(
      fc.property(signCase, secret, fc.boolean(), (c, other, changeToken) => {
        const current = changeToken ? c.tokenSecret : c.consumerSecret;
        // Secrets enter the signing key UTF-8 encoded: a lone surrogate and U+FFFD are one key.
        fc.pre(percentEncode(other) !== percentEncode(current));
        const b = build(c);
        const secrets = changeToken
          ? { consumerSecret: c.consumerSecret, tokenSecret: other }
          : { consumerSecret: other, tokenSecret: c.tokenSecret };
        expect(codeOf(verifyBuilt(b, b.input, secrets))).toBe('signature_invalid');
      }),
      { numRuns: 150 },
    );
  });

  const hashedCase = signCase.filter(
    (c) => c.body.kind === 'raw' && c.body.bodyHash && c.signatureMethod !== 'PLAINTEXT',
  );

  it('changing a body covered by oauth_body_hash gives body_hash_invalid', () => {
    fc.assert(
      fc.property(hashedCase, fc.nat(), fc.integer({ min: 1, max: 255 }), (c, n, delta) => {
        const b = build(c);
        expect(b.signed.oauthParams.some(([name]) => name === 'oauth_body_hash')).toBe(true);
        let body: string | Uint8Array;
        if (b.body === undefined) body = 'x';
        else if (typeof b.body === 'string') body = `${b.body}x`;
        else if (b.body.length === 0) body = new Uint8Array([n % 256]);
        else {
          body = Uint8Array.from(b.body);
          const i = n % body.length;
          body[i] = ((body[i] as number) + delta) % 256;
        }
        expect(codeOf(verifyBuilt(b, { ...b.input, body }))).toBe('body_hash_invalid');
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Parsers never throw and never hang
// ---------------------------------------------------------------------------------------------

const PROTOCOL_NAMES = [
  'oauth_consumer_key',
  'oauth_signature',
  'oauth_signature_method',
  'oauth_timestamp',
  'oauth_nonce',
  'oauth_token',
  'oauth_body_hash',
  'oauth_version',
  'oauth_callback',
  'realm',
];
const fuzzUnit = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'OAuth',
      'oauth',
      'Basic',
      'Bearer',
      ' ',
      '\t',
      ',',
      '=',
      '"',
      '\\',
      '%',
      '%2',
      '%41',
      '%C3',
      '%c3%a9',
      '%FF',
      '%ED%A0%80',
      '+',
      '/',
      '&',
      '?',
      '#',
      ':',
      ';',
      ...PROTOCOL_NAMES,
      'HMAC-SHA256',
      'HMAC-SHA1',
      'PLAINTEXT',
      '1.0',
      'kw_',
      'kw_key_',
      'A',
      'z',
      '0',
      '==',
      'application/x-www-form-urlencoded',
    ),
  },
  { weight: 3, arbitrary: codePoint },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
);
const fuzz = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fuzzUnit, maxLength: 40 }) },
  { weight: 1, arbitrary: anyJsString(40) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }) },
);

/** Protocol parameters close to valid, dropped, duplicated and shuffled at random. */
const protocolValue = fc.oneof(
  fc.constantFrom('HMAC-SHA256', 'HMAC-SHA1', 'PLAINTEXT', 'RSA-SHA1', '1.0', '2.0', '1700000000', 'abc', '', 'k'),
  fuzz,
);
const protocolParams: fc.Arbitrary<Param[]> = fc
  .tuple(
    fc.shuffledSubarray(PROTOCOL_NAMES, { minLength: 0 }),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PROTOCOL_NAMES), fuzz), protocolValue), { maxLength: 4 }),
    fc.array(protocolValue, { minLength: PROTOCOL_NAMES.length, maxLength: PROTOCOL_NAMES.length }),
  )
  .map(([names, extra, values]) => [...names.map((n, i): Param => [n, values[i] ?? '']), ...extra]);

const authorizationHeader = fc.oneof(
  fuzz,
  protocolParams.map((p) => formatOAuthHeader(p)),
  fc.tuple(fuzz, fuzz).map(([a, b]) => `OAuth ${a}="${b}"`),
  fc.tuple(fc.constantFrom('Basic ', 'basic  ', 'Bearer ', 'OAuth\t', ''), fuzz).map(([s, t]) => s + t),
  fc
    .tuple(fuzz, fuzz)
    .map(([user, pass]) => `Basic ${Buffer.from(`${toWellFormed(user)}:${toWellFormed(pass)}`).toString('base64')}`),
);
const targetString = fc.oneof(
  fuzz,
  fuzz.map((s) => `/${s}`),
  fc
    .tuple(fuzz, protocolParams)
    .map(([p, q]) => `/${p}?${encodePairs(q, { omitEquals: false, lowerHex: false, plusForSpace: false })}`),
  fc.tuple(fuzz, fuzz).map(([p, q]) => `/${p}?${q}`),
);
const bodyValue = fc.oneof(
  fc.constant(undefined),
  fuzz,
  bytes(80),
  protocolParams.map((p) => encodePairs(p, { omitEquals: false, lowerHex: false, plusForSpace: true })),
);
const contentTypeValue = fc.option(fc.oneof(fc.constantFrom(...FORM_TYPES, ...OTHER_TYPES), fuzz), {
  nil: undefined,
});
const fuzzInput: fc.Arbitrary<OAuth1RequestInput> = fc.record({
  method: fc.oneof(httpMethod, fuzz),
  origin: fc.constantFrom('https://api.example.com', 'http://localhost:8080', 'HTTPS://Example.COM:443'),
  target: targetString,
  authorization: fc.option(authorizationHeader, { nil: undefined }),
  contentType: contentTypeValue,
  body: bodyValue,
});

const masterKey: fc.Arbitrary<MasterKey> = fc.record({
  version: fc.integer({ min: 0, max: 255 }),
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});

describe('parsers never throw', () => {
  it('Authorization header parsers return a Result for any string', () => {
    fc.assert(
      fc.property(
        authorizationHeader,
        fc.option(fc.record({ maxLength: fc.nat(200), maxParams: fc.nat(40) }), { nil: undefined }),
        (header, limits) => {
          expectResult(parseAuthorization(header, limits), AUTHORIZATION_CODES);
          expectResult(parseAuthorization(header), AUTHORIZATION_CODES);
          expectResult(parseOAuthParams(header), OAUTH_PARAM_CODES);
          expectResult(parseOAuthParams(header, limits?.maxParams), OAUTH_PARAM_CODES);
          expectResult(parseBasicCredentials(header), ['malformed_header']);
          expectResult(parseBearerCredentials(header), ['malformed_header']);
          const stripped = header.replace(/^\S*\s*/, '');
          expectResult(parseOAuthParams(stripped), OAUTH_PARAM_CODES);
          expectResult(parseBasicCredentials(stripped), ['malformed_header']);
          expectResult(parseBearerCredentials(stripped), ['malformed_header']);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a parsed OAuth header has at most maxParams parameters, none twice', () => {
    fc.assert(
      fc.property(authorizationHeader, fc.nat(12), (header, maxParams) => {
        const result = parseOAuthParams(header.replace(/^\S*\s*/, ''), maxParams);
        expectResult(result, OAUTH_PARAM_CODES);
        if (!result.ok) return;
        expect(result.value.params.length).toBeLessThanOrEqual(maxParams);
        const names = result.value.params.map(([n]) => n);
        expect(new Set(names).size).toBe(names.length);
        expect(names).not.toContain('realm');
      }),
      { numRuns: 300 },
    );
  });

  it('parseForm, percentDecode, formDecode and identify return values for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(fuzz, targetString),
        fc.option(fc.oneof(fc.nat(300), fc.constant(Number.POSITIVE_INFINITY)), { nil: undefined }),
        (s, maxParams) => {
          const form = parseForm(s, maxParams === undefined ? undefined : { maxParams });
          expectResult(form, FORM_CODES);
          if (form.ok) {
            expect(form.value.length).toBeLessThanOrEqual(maxParams ?? 256);
            for (const [n, v] of form.value) {
              expect(typeof n).toBe('string');
              expect(typeof v).toBe('string');
            }
          }
          const decoded = percentDecode(s);
          expect(decoded === undefined || typeof decoded === 'string').toBe(true);
          if (!s.includes('%')) expect(decoded).toBe(s);
          const formDecoded = formDecode(s);
          expect(formDecoded === undefined || typeof formDecoded === 'string').toBe(true);
          const id = identify(s);
          expect(id === undefined || typeof id.type === 'string').toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('parseOAuth1Request and verifyOAuth1 return a Result for any request', () => {
    fc.assert(
      fc.property(
        fuzzInput,
        fc.record({
          now: fc.option(fc.integer({ min: 0, max: 4e12 }), { nil: undefined }),
          allMethods: fc.boolean(),
          requireBodyHash: fc.boolean(),
          knownKey: fc.boolean(),
          consumerSecret: secret,
        }),
        (input, o) => {
          const options = {
            signatureMethods: o.allMethods ? SIGNATURE_METHODS : undefined,
            requireBodyHash: o.requireBodyHash,
          };
          expectResult(parseOAuth1Request(input, options), PARSE_CODES);
          expectResult(parseOAuth1Request(input), PARSE_CODES);
          const result = verifyOAuth1(input, {
            ...options,
            now: o.now,
            secrets: () => (o.knownKey ? { consumerSecret: o.consumerSecret } : undefined),
          });
          expectResult(result, VERIFY_CODES);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('verifyOAuth1 returns a Result for mutated copies of valid signed requests', () => {
    // Arbitrary strings rarely get past the parser; start from a valid request instead and
    // insert, delete or replace one character of the header, the target or the body.
    fc.assert(
      fc.property(
        signCase,
        fc.constantFrom('authorization', 'target', 'body', 'method', 'contentType'),
        fc.nat(),
        fc.option(fuzzUnit, { nil: undefined }),
        fc.boolean(),
        (c, field, n, insert, removeOne) => {
          const b = build(c);
          const current = b.input[field];
          const text =
            current === undefined ? '' : typeof current === 'string' ? current : new TextDecoder().decode(current);
          const i = text.length === 0 ? 0 : n % text.length;
          const mutated = text.slice(0, i) + (insert ?? '') + text.slice(removeOne || insert === undefined ? i + 1 : i);
          const input = { ...b.input, [field]: mutated };
          expectResult(parseOAuth1Request(input, { signatureMethods: b.signatureMethods }), PARSE_CODES);
          expectResult(verifyBuilt(b, input), VERIFY_CODES);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('openSecret returns a Result for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fuzz,
          fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 80 }),
          // Looks like a sealed value (format byte, version byte, IV, tag) but is random.
          fc
            .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 28, maxLength: 80 }))
            .map(([v, rest]) => Buffer.concat([Buffer.from([1, v]), rest]).toString('base64url')),
        ),
        fc.array(masterKey, { minLength: 1, maxLength: 3 }),
        fuzz,
        (sealed, keys, context) => {
          // Random bytes never authenticate under AES-GCM (probability 2^-128).
          expect(codeOf(openSecret(sealed, keys, context))).toBe('seal_invalid');
          expect(codeOf(openSecret(sealed, keys[0] as MasterKey))).toBe('seal_invalid');
          const version = sealedKeyVersion(sealed);
          expect(version === undefined || (Number.isInteger(version) && version >= 0 && version <= 255)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('parsers never hang (~100 kB adversarial inputs)', () => {
  const N = 100_000;
  const manyParams = Array.from({ length: 20_000 }, (_, i) => `p${i}="v"`).join(',');
  const noLimit = { maxLength: Number.POSITIVE_INFINITY };

  it('parseAuthorization refuses long headers by length, and parses them linearly without the cap', () => {
    const cases: [string, ErrorCode | 'ok', ErrorCode | 'ok'][] = [
      // header, code with the default 8 kB cap, code without a length cap
      [`OAuth ${'a="b",'.repeat(20_000)}`, 'malformed_header', 'parameter_duplicated'],
      [`OAuth ${manyParams}`, 'malformed_header', 'too_many_parameters'],
      [`OAuth ${'"'.repeat(N)}`, 'malformed_header', 'malformed_header'],
      [`OAuth ${'%'.repeat(N)}`, 'malformed_header', 'malformed_header'],
      [`OAuth ${'a'.repeat(N)}`, 'malformed_header', 'malformed_header'],
      [`OAuth ${'='.repeat(N)}`, 'malformed_header', 'malformed_header'],
      [`OAuth a="${'x'.repeat(N)}`, 'malformed_header', 'malformed_header'],
      [`OAuth a="${'%'.repeat(N)}"`, 'malformed_header', 'malformed_header'],
      [`OAuth a="${'%41'.repeat(N / 3)}"`, 'malformed_header', 'ok'],
      [`OAuth a="b"${' '.repeat(N)}c`, 'malformed_header', 'malformed_header'],
      [`OAuth ${', '.repeat(N / 2)}`, 'malformed_header', 'ok'],
      [`OAuth ${'\t'.repeat(N)}`, 'malformed_header', 'ok'],
      [`Basic ${'A'.repeat(N)}`, 'malformed_header', 'malformed_header'],
      [`Basic ${'A'.repeat(N - 1)}!`, 'malformed_header', 'malformed_header'],
      [`Basic ${'='.repeat(N)}`, 'malformed_header', 'malformed_header'],
      [`Bearer ${'A'.repeat(N)}`, 'malformed_header', 'ok'],
      [`Bearer ${'A'.repeat(N / 2)}${'='.repeat(N / 2)}!`, 'malformed_header', 'malformed_header'],
      ['x'.repeat(N), 'malformed_header', 'scheme_unsupported'],
      [' '.repeat(N), 'malformed_header', 'credentials_missing'],
      [`${' '.repeat(N)}OAuth a="b"`, 'malformed_header', 'ok'],
    ];
    for (const [header, capped, uncapped] of cases) {
      const label = `${header.slice(0, 20)}… (${header.length})`;
      expect(codeOf(timed(label, () => parseAuthorization(header))), label).toBe(capped);
      expect(codeOf(timed(label, () => parseAuthorization(header, noLimit))), label).toBe(uncapped);
    }
  });

  it('parseOAuthParams, parseBasicCredentials and parseBearerCredentials stay linear', () => {
    const oauth: [string, ErrorCode | 'ok'][] = [
      ['a="b",'.repeat(20_000), 'parameter_duplicated'],
      [manyParams, 'too_many_parameters'],
      ['"'.repeat(N), 'malformed_header'],
      ['%'.repeat(N), 'malformed_header'],
      ['a'.repeat(N), 'malformed_header'],
      [`a="${'x'.repeat(N)}`, 'malformed_header'],
      [`a="${'%'.repeat(N)}"`, 'malformed_header'],
      [`a="${'%C3'.repeat(N / 3)}"`, 'malformed_header'],
      [`${'%41'.repeat(N / 3)}="b"`, 'ok'],
      [','.repeat(N), 'ok'],
    ];
    for (const [input, code] of oauth) {
      expect(codeOf(timed(`OAuth ${input.slice(0, 12)}`, () => parseOAuthParams(input))), input.slice(0, 12)).toBe(
        code,
      );
    }

    const basic: [string, ErrorCode | 'ok'][] = [
      ['A'.repeat(N), 'malformed_header'], // decodes to NULs: no colon
      [`${'A'.repeat(N - 1)}!`, 'malformed_header'],
      [`${'A'.repeat(N - 2)}==`, 'malformed_header'],
      ['='.repeat(N), 'malformed_header'],
      [Buffer.from(`:${'x'.repeat(74_999)}`).toString('base64'), 'ok'],
      [Buffer.from(`u:${'\u0001'.repeat(74_998)}`).toString('base64'), 'malformed_header'],
      [Buffer.alloc(75_000, 0xff).toString('base64'), 'malformed_header'],
    ];
    for (const [input, code] of basic) {
      expect(codeOf(timed(`Basic ${input.slice(0, 12)}`, () => parseBasicCredentials(input)))).toBe(code);
    }
    const bearer: [string, ErrorCode | 'ok'][] = [
      ['A'.repeat(N), 'ok'],
      [`${'A'.repeat(N / 2)}${'='.repeat(N / 2)}`, 'ok'],
      [`${'A'.repeat(N / 2)}${'='.repeat(N / 2)}A`, 'malformed_header'],
      ['='.repeat(N), 'malformed_header'],
      [`${'A'.repeat(N - 1)} `, 'malformed_header'],
    ];
    for (const [input, code] of bearer) {
      expect(codeOf(timed(`Bearer ${input.slice(0, 12)}`, () => parseBearerCredentials(input)))).toBe(code);
    }
  });

  it('parseOAuthParams stays linear in the number of parameters when maxParams is raised', () => {
    // The module promises linear-time parsing whatever the input; HeaderLimits.maxParams is a
    // public knob. 8× the parameters must cost about 8× the time (quadratic work costs ~64×).
    // Best of a few runs, plus 50 ms of slack, so that a GC pause or a busy machine does not
    // count: only the growth rate does.
    const header = (n: number) =>
      Array.from({ length: n }, (_, i) => `${i.toString(36).padStart(4, '0')}=""`).join(',');
    const small = header(1_560);
    const big = header(12_500); // 100 kB
    const best = (input: string, runs: number) => {
      let min = Number.POSITIVE_INFINITY;
      for (let k = 0; k < runs; k++) {
        const { value: result, ms } = cpuTimed(() => parseOAuthParams(input, Number.POSITIVE_INFINITY));
        min = Math.min(min, ms);
        expect(codeOf(result)).toBe('ok');
      }
      return min;
    };
    const tSmall = best(small, 3);
    const tBig = best(big, 2);
    expect(
      tBig,
      `${small.length} chars: ${tSmall.toFixed(1)} ms, ${big.length} chars: ${tBig.toFixed(1)} ms`,
    ).toBeLessThan(20 * tSmall + 50);
  });

  it('parseForm, percentDecode, formDecode and identify stay linear', () => {
    const unlimited = { maxParams: Number.POSITIVE_INFINITY };
    const forms: [string, { maxParams: number } | undefined, ErrorCode | 'ok'][] = [
      ['%'.repeat(N), undefined, 'malformed_request'],
      ['%C3'.repeat(N / 3), undefined, 'malformed_request'],
      ['&'.repeat(N), undefined, 'ok'],
      ['='.repeat(N), undefined, 'ok'],
      ['a=1&'.repeat(N / 4), undefined, 'too_many_parameters'],
      ['a=1&'.repeat(N / 4), unlimited, 'ok'],
      ['a&'.repeat(N / 2), unlimited, 'ok'],
      ['+'.repeat(N), undefined, 'ok'],
    ];
    for (const [input, limits, code] of forms) {
      expect(codeOf(timed(`form ${input.slice(0, 12)}`, () => parseForm(input, limits)))).toBe(code);
    }
    expect(timed('%', () => percentDecode('%'.repeat(N)))).toBeUndefined();
    expect(timed('%C3', () => percentDecode('%C3'.repeat(N / 3)))).toBeUndefined();
    expect(timed('%41', () => percentDecode('%41'.repeat(N / 3)))).toBe('A'.repeat(N / 3));
    expect(timed('emoji', () => percentDecode('%F0%9F%98%80'.repeat(8000)))).toBe('😀'.repeat(8000));
    expect(timed('x', () => percentDecode('x'.repeat(N)))).toBe('x'.repeat(N));
    expect(timed('+', () => formDecode('+'.repeat(N)))).toBe(' '.repeat(N));
    expect(timed('%+', () => formDecode('%+'.repeat(N / 2)))).toBeUndefined();
    expect(timed('kw', () => identify(`kw_key_${'A'.repeat(N)}`))).toBeUndefined();
    expect(timed('x', () => identify('x'.repeat(N)))).toBeUndefined();
  });

  it('parseOAuth1Request and verifyOAuth1 refuse huge requests quickly', () => {
    const origin = 'https://api.example.com';
    const form = 'application/x-www-form-urlencoded';
    const cases: [OAuth1RequestInput, ErrorCode][] = [
      [{ method: 'GET', origin, target: '/', authorization: `OAuth ${'a="b",'.repeat(20_000)}` }, 'malformed_header'],
      [{ method: 'GET', origin, target: '/', authorization: `Bearer ${'A'.repeat(N)}` }, 'malformed_header'],
      [{ method: 'GET', origin, target: `/?${'a=1&'.repeat(N / 4)}` }, 'too_many_parameters'],
      [{ method: 'GET', origin, target: `/?${'%'.repeat(N)}` }, 'malformed_request'],
      [{ method: 'GET', origin, target: 'x'.repeat(N) }, 'malformed_request'],
      [{ method: 'GET', origin, target: '/'.repeat(N) }, 'credentials_missing'],
      [{ method: 'POST', origin, target: '/', contentType: form, body: 'a&'.repeat(N / 2) }, 'too_many_parameters'],
      [{ method: 'POST', origin, target: '/', contentType: form, body: '%'.repeat(N) }, 'malformed_request'],
      [
        { method: 'POST', origin, target: '/', contentType: form, body: new Uint8Array(N).fill(0xff) },
        'malformed_request',
      ],
    ];
    for (const [input, code] of cases) {
      expect(codeOf(timed('parse', () => parseOAuth1Request(input)))).toBe(code);
      expect(codeOf(timed('verify', () => verifyOAuth1(input, { secrets: () => ({ consumerSecret: 's' }) })))).toBe(
        code,
      );
    }
  });

  it('a valid request with a 100 kB path and body verifies within the bound', () => {
    const url = `https://api.example.com/${'x'.repeat(N)}?q=${'%E2%82%AC'.repeat(1000)}`;
    const body = 'é'.repeat(N);
    const signed = signOAuth1({
      method: 'PUT',
      url,
      consumerKey: 'ck',
      consumerSecret: 'cs',
      nonce: 'n',
      timestamp: 1_700_000_000,
      body,
      contentType: 'text/plain',
      bodyHash: true,
    });
    const u = new URL(url);
    const input = {
      method: 'PUT',
      origin: u.origin,
      target: u.pathname + u.search,
      authorization: signed.authorization,
      contentType: 'text/plain',
      body,
    };
    const secrets = () => ({ consumerSecret: 'cs' });
    expect(codeOf(timed('verify', () => verifyOAuth1(input, { secrets })))).toBe('ok');
    expect(codeOf(timed('verify', () => verifyOAuth1({ ...input, body: `${body}!` }, { secrets })))).toBe(
      'body_hash_invalid',
    );
  });

  it('openSecret refuses 100 kB values quickly', () => {
    const key: MasterKey = { version: 7, key: new Uint8Array(32).fill(1) };
    expect(codeOf(timed('A', () => openSecret('A'.repeat(N), key)))).toBe('seal_invalid');
    expect(codeOf(timed('x', () => openSecret('x'.repeat(N), key)))).toBe('seal_invalid');
    const forged = Buffer.concat([Buffer.from([1, 7]), Buffer.alloc(N, 0xab)]).toString('base64url');
    expect(codeOf(timed('forged', () => openSecret(forged, key)))).toBe('seal_invalid');
    const big = 'é'.repeat(N);
    const sealed = sealSecret(big, key, 'ctx');
    expect(timed('open', () => openSecret(sealed, key, 'ctx'))).toEqual({ ok: true, value: big });
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Percent-encoding
// ---------------------------------------------------------------------------------------------

describe('percent-encoding (RFC 3986 §2, RFC 5849 §3.6)', () => {
  const wellFormed = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: fc.constantFrom(...`!*'()%+ &=~-._/?#[]@:;,$"<>\\^\`{|}`), maxLength: 20 }),
  );

  it('percentDecode(percentEncode(s)) === s and formDecode(percentEncode(s)) === s', () => {
    fc.assert(
      fc.property(wellFormed, (s) => {
        const encoded = percentEncode(s);
        expect(percentDecode(encoded)).toBe(s);
        expect(formDecode(encoded)).toBe(s);
        // Either hex case decodes (RFC 3986 §2.1).
        expect(percentDecode(encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()))).toBe(s);
      }),
      { numRuns: 300 },
    );
  });

  it('percentEncode emits only unreserved characters and upper-case %XX, as a byte-wise encoder does', () => {
    fc.assert(
      fc.property(fc.oneof(wellFormed, anyJsString(30)), (s) => {
        const encoded = percentEncode(s);
        expect(encoded).toMatch(/^[A-Za-z0-9\-._~%]*$/);
        expect(encoded).toMatch(/^(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})*$/);
        expect(encoded).toBe(referenceEncode(s));
        expect(percentEncode(encoded)).toBe(referenceEncode(encoded));
      }),
      { numRuns: 300 },
    );
  });

  it('lone surrogates are encoded as U+FFFD and decode to it', () => {
    fc.assert(
      fc.property(anyJsString(30).filter(hasLoneSurrogate), (s) => {
        const encoded = percentEncode(s);
        expect(encoded).toBe(percentEncode(toWellFormed(s)));
        expect(encoded).toContain('%EF%BF%BD');
        expect(percentDecode(encoded)).toBe(toWellFormed(s));
      }),
      { numRuns: 150 },
    );
  });

  it('percentDecode leaves `+` alone, formDecode turns it into a space', () => {
    fc.assert(
      fc.property(fc.array(wellFormed, { maxLength: 4 }), (parts) => {
        const encoded = parts.map(percentEncode).join('+');
        expect(percentDecode(encoded)).toBe(parts.join('+'));
        expect(formDecode(encoded)).toBe(parts.join(' '));
      }),
      { numRuns: 150 },
    );
  });

  it('parseForm of an encoded pair list returns the same pairs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.constantFrom('a', ''), wellFormed), wellFormed), { maxLength: 12 }),
        encodeStyle,
        (pairs, style) => {
          const result = parseForm(encodePairs(pairs, style));
          expect(result).toEqual({ ok: true, value: pairs });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('signature base string (RFC 5849 §3.4.1)', () => {
  it('normalizeParameters and signatureBaseString match a reference implementation', () => {
    fc.assert(
      fc.property(
        httpMethod,
        fc.webUrl({ withQueryParameters: false, withFragments: false }),
        fc.oneof(paramList, longParamList, fc.array(fc.tuple(paramName, paramValue), { maxLength: 60 })),
        (method, uri, params) => {
          const base = referenceBaseString(method, uri, params);
          expect(signatureBaseString(method, uri, params)).toBe(base);
          const normalized = base.slice(base.lastIndexOf('&') + 1);
          expect(referenceEncode(normalizeParameters(params))).toBe(normalized);
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Keyward strings and sealing
// ---------------------------------------------------------------------------------------------

const KEYWARD_TYPES: KeywardStringType[] = [
  'key_id',
  'key_secret',
  'api_key',
  'access_token',
  'session_token',
  'session_secret',
];
const HAS_ID = new Set<KeywardStringType>(['key_id', 'api_key', 'access_token', 'session_token']);
const HAS_SECRET = new Set<KeywardStringType>([
  'key_secret',
  'api_key',
  'access_token',
  'session_token',
  'session_secret',
]);

const base62 = (length: number) =>
  fc.string({ unit: fc.constantFrom(...BASE62), minLength: length, maxLength: length });
const keywardParts = fc
  .record({ type: fc.constantFrom(...KEYWARD_TYPES), id: base62(ID_LENGTH), secret: base62(SECRET_LENGTH) })
  .map(({ type, id, secret }) => ({
    type,
    ...(HAS_ID.has(type) ? { id } : {}),
    ...(HAS_SECRET.has(type) ? { secret } : {}),
  }));
const keywardString = keywardParts.map(({ type, ...parts }) => formatKeywardString(type, parts));

/**
 * A byte source cycling through fast-check-drawn bytes. At least one byte is below 248 (the
 * rejection threshold of randomBase62), otherwise no source can ever make progress.
 */
const randomSource: fc.Arbitrary<RandomBytes> = fc
  .uint8Array({ minLength: 1, maxLength: 300 })
  .filter((a) => a.some((b) => b < 248))
  .map((pool) => {
    let position = 0;
    const source: RandomBytes = (size) => {
      const out = new Uint8Array(size);
      for (let i = 0; i < size; i++) out[i] = pool[position++ % pool.length] as number;
      return out;
    };
    return source;
  });

describe('Keyward strings', () => {
  it('identify(formatKeywardString(type, parts)) returns the same type and parts', () => {
    fc.assert(
      fc.property(keywardParts, ({ type, ...parts }) => {
        const s = formatKeywardString(type, parts);
        expect(s).toMatch(/^kw_[a-z]+_[0-9A-Za-z]+$/);
        expect(identify(s)).toEqual({ type, ...parts });
      }),
      { numRuns: 200 },
    );
  });

  it('generated keys and tokens from any byte source are identified with their parts', () => {
    fc.assert(
      fc.property(randomSource, (random) => {
        const key = generateApiKey(random);
        expect(key.id).toMatch(new RegExp(`^[0-9A-Za-z]{${ID_LENGTH}}$`));
        expect(key.secret).toMatch(new RegExp(`^[0-9A-Za-z]{${SECRET_LENGTH}}$`));
        expect(identify(key.keyId)).toEqual({ type: 'key_id', id: key.id });
        expect(identify(key.keySecret)).toEqual({ type: 'key_secret', secret: key.secret });
        expect(identify(key.token)).toEqual({ type: 'api_key', id: key.id, secret: key.secret });
        for (const type of ['access_token', 'session_token'] as const) {
          const t = generateToken(type, random);
          expect(identify(t.token)).toEqual({ type, id: t.id, secret: t.secret });
        }
        expect(identify(generateSessionSecret(random))?.type).toBe('session_secret');
        expect(randomBase62(17, random)).toMatch(/^[0-9A-Za-z]{17}$/);
      }),
      { numRuns: 150 },
    );
  });

  it('the checksum catches every single-character substitution within base62 (exhaustive per sample)', () => {
    fc.assert(
      fc.property(keywardString, (s) => {
        const prefixLength = s.indexOf('_', 3) + 1;
        for (let i = prefixLength; i < s.length; i++) {
          for (const c of BASE62) {
            if (c === s[i]) continue;
            const changed = replaceAt(s, i, c);
            if (identify(changed) !== undefined) expect.fail(`identify accepted ${changed} (from ${s})`);
          }
        }
      }),
      { numRuns: 30 },
    );
  });

  it('any single-character change, adjacent swap, truncation or extension is refused', () => {
    fc.assert(
      fc.property(keywardString, fc.nat(), fc.oneof(codePoint, fc.constantFrom(...BASE62, '_', '-')), (s, n, c) => {
        const i = n % s.length;
        if (c !== s[i]) expect(identify(replaceAt(s, i, c))).toBeUndefined();
        const j = n % (s.length - 1);
        if (s[j] !== s[j + 1]) {
          expect(identify(s.slice(0, j) + s[j + 1] + s[j] + s.slice(j + 2))).toBeUndefined();
        }
        expect(identify(s.slice(0, -1))).toBeUndefined();
        expect(identify(s + c)).toBeUndefined();
        expect(identify(s.slice(0, i) + s.slice(i + 1))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('whatever identify accepts formats back to the same string', () => {
    fc.assert(
      fc.property(fc.oneof(fuzz, keywardString), (s) => {
        const parts = identify(s);
        if (parts === undefined) return;
        const { type, ...rest } = parts;
        expect(formatKeywardString(type, rest)).toBe(s);
      }),
      { numRuns: 200 },
    );
  });
});

describe('sealing (AES-256-GCM)', () => {
  const iv = fc.uint8Array({ minLength: 12, maxLength: 12 });

  it('openSecret(sealSecret(s, key, ctx), key, ctx) returns s', () => {
    fc.assert(
      fc.property(unicodeString(60), masterKey, unicodeString(20), iv, (s, key, ctx, ivBytes) => {
        const sealed = sealSecret(s, key, ctx, () => ivBytes);
        expect(sealedKeyVersion(sealed)).toBe(key.version);
        expect(openSecret(sealed, key, ctx)).toEqual({ ok: true, value: s });
        // During a rotation the version byte picks the right key out of several.
        const other: MasterKey = { version: (key.version + 1) % 256, key: new Uint8Array(32) };
        expect(openSecret(sealed, [other, key], ctx)).toEqual({ ok: true, value: s });
      }),
      { numRuns: 150 },
    );
  });

  it('a secret with lone surrogates opens as its UTF-8 (U+FFFD) form', () => {
    fc.assert(
      fc.property(anyJsString(30).filter(hasLoneSurrogate), masterKey, (s, key) => {
        expect(openSecret(sealSecret(s, key), key)).toEqual({ ok: true, value: toWellFormed(s) });
      }),
      { numRuns: 50 },
    );
  });

  it('a different context, key or key version gives seal_invalid', () => {
    fc.assert(
      fc.property(
        unicodeString(40),
        masterKey,
        anyJsString(20),
        anyJsString(20),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 1, max: 255 }),
        (s, key, ctx, otherCtx, otherKeyBytes, versionDelta) => {
          const sealed = sealSecret(s, key, ctx);
          // The context is bound as UTF-8: only a context with other bytes is a different one.
          if (toWellFormed(otherCtx) !== toWellFormed(ctx)) {
            expect(codeOf(openSecret(sealed, key, otherCtx))).toBe('seal_invalid');
          }
          if (Buffer.compare(Buffer.from(otherKeyBytes), Buffer.from(key.key)) !== 0) {
            expect(codeOf(openSecret(sealed, { version: key.version, key: otherKeyBytes }, ctx))).toBe('seal_invalid');
          }
          const otherVersion = { version: (key.version + versionDelta) % 256, key: key.key };
          expect(codeOf(openSecret(sealed, otherVersion, ctx))).toBe('seal_invalid');
          expect(codeOf(openSecret(sealed, [], ctx))).toBe('seal_invalid');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('changing any one character of a sealed value gives seal_invalid', () => {
    fc.assert(
      fc.property(unicodeString(30), masterKey, fc.nat(), fc.nat(), (s, key, n, m) => {
        const sealed = sealSecret(s, key);
        const i = n % sealed.length;
        const changed = replaceAt(sealed, i, otherChar(BASE64URL, sealed[i] as string, m));
        expect(codeOf(openSecret(changed, key))).toBe('seal_invalid');
      }),
      { numRuns: 200 },
    );
  });
});
