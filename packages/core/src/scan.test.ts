// The scanners behind parseOAuthParams, parseForm and parseOAuth1Request replaced regex- and
// array-based parsers for speed. These tests hold them to the previous implementations, kept
// here verbatim as oracles: same result, same failure code and detail, for any input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpuTimed } from '../test/support/cpu-time.js';
import { type OAuthCredentials, parseAuthorization, parseOAuthParams } from './authorization.js';
import { DEFAULT_MAX_PARAMS, type FormLimits, formDecode, type Param, parseForm, percentDecode } from './encoding.js';
import { fail, type Result, succeed } from './errors.js';
import { parseOAuth1Request } from './oauth1/request.js';
import { signOAuth1 } from './oauth1/sign.js';
import { prepareOAuth1Secrets, verifyOAuth1, verifyOAuth1Signature } from './oauth1/verify.js';
import { decodePercent, encodeEncoded, NameSet } from './scan.js';

// ---------------------------------------------------------------------------------------------
// The previous implementations (commit c5791e2), as oracles
// ---------------------------------------------------------------------------------------------

// biome-ignore lint/suspicious/noControlCharactersInRegex: copied oracle
const OLD_OAUTH_PARAM = /[ \t,]*([A-Za-z0-9\-._~%]+)="([^"\\\x00-\x1f\x7f]*)"[ \t]*(?:,|$)/y;
const OLD_LIST_END = /[ \t,]*$/y;

function oldParseOAuthParams(
  input: string,
  maxParams = 32,
): Result<OAuthCredentials, 'malformed_header' | 'parameter_duplicated' | 'too_many_parameters'> {
  const params: Param[] = [];
  const seen = new NameSet();
  let realm: string | undefined;
  let i = 0;
  while (i < input.length) {
    OLD_OAUTH_PARAM.lastIndex = i;
    const m = OLD_OAUTH_PARAM.exec(input);
    if (m === null) {
      OLD_LIST_END.lastIndex = i;
      if (OLD_LIST_END.test(input)) break;
      return fail('malformed_header', `expected name="value" at offset ${i}`);
    }
    i = OLD_OAUTH_PARAM.lastIndex;
    const rawName = m[1] as string;
    const rawValue = m[2] as string;
    const name = percentDecode(rawName);
    if (name === undefined) return fail('malformed_header', 'invalid percent-encoding');
    if (name === 'realm') {
      if (realm !== undefined) return fail('parameter_duplicated', 'realm appears twice in the header');
      realm = rawValue;
      continue;
    }
    if (!seen.add(name)) return fail('parameter_duplicated', `${name} appears twice in the header`);
    if (params.length === maxParams) return fail('too_many_parameters', `more than ${maxParams} header parameters`);
    const value = percentDecode(rawValue);
    if (value === undefined) return fail('malformed_header', 'invalid percent-encoding');
    params.push([name, value]);
  }
  return succeed({ scheme: 'oauth', realm, params });
}

function oldParseForm(
  input: string,
  limits: FormLimits = {},
): Result<Param[], 'malformed_request' | 'too_many_parameters'> {
  const maxParams = limits.maxParams ?? DEFAULT_MAX_PARAMS;
  const params: Param[] = [];
  if (input.length === 0) return succeed(params);
  let start = 0;
  let eq = input.indexOf('=');
  while (start <= input.length) {
    let end = input.indexOf('&', start);
    if (end === -1) end = input.length;
    if (end > start) {
      if (params.length === maxParams) return fail('too_many_parameters', `more than ${maxParams} parameters`);
      if (eq !== -1 && eq < start) eq = input.indexOf('=', start);
      const hasValue = eq !== -1 && eq < end;
      const name = formDecode(input.slice(start, hasValue ? eq : end));
      const value = hasValue ? formDecode(input.slice(eq + 1, end)) : '';
      if (name === undefined || value === undefined) {
        return fail('malformed_request', 'invalid percent-encoding or UTF-8 in form data');
      }
      params.push([name, value]);
    }
    start = end + 1;
  }
  return succeed(params);
}

function oldDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: mostly near-misses of the grammars, where a scanner and a regex could disagree
// ---------------------------------------------------------------------------------------------

const piece = fc.oneof(
  fc.constantFrom('oauth_consumer_key', 'oauth_nonce', 'oauth_signature', 'oauth_token', 'realm', 're%61lm', 'a'),
  fc.constantFrom('=', '"', ',', ' ', '\t', '%', '%2B', '%2b', '%41', '%C3%A9', '%C3', '%ZZ', '%E2%82%AC', '+'),
  fc.constantFrom('&', '\\', '\x00', '\x1f', '\x7f', 'é', '\ud800', '\udc00', '~', '!', '*', '1.0'),
  fc.string({ maxLength: 4 }),
  fc.string({ unit: 'binary', maxLength: 3 }),
);
const text = fc.array(piece, { maxLength: 24 }).map((a) => a.join(''));
const element = fc
  .tuple(piece, fc.array(piece, { maxLength: 4 }), fc.constantFrom(', ', ',', ' ,', '', ',,', ' \t', '\t, '))
  .map(([name, value, sep]) => `${name}="${value.join('')}"${sep}`);
const headerList = fc.oneof(
  text,
  fc.array(element, { maxLength: 10 }).map((a) => a.join('')),
);
const formText = fc.oneof(
  text,
  fc
    .array(fc.tuple(piece, fc.constantFrom('=', '', '=='), piece, fc.constantFrom('&', '&&', '')), { maxLength: 8 })
    .map((a) => a.map((p) => p.join('')).join('')),
);

describe('the OAuth header scanner', () => {
  it('accepts and refuses exactly what the sticky-regex parser did, with the same result', () => {
    fc.assert(
      fc.property(headerList, fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }), (input, max) => {
        expect(parseOAuthParams(input, max)).toEqual(oldParseOAuthParams(input, max));
      }),
      { numRuns: 3000 },
    );
  });

  it('matches the scheme OAuth in any case, and nothing else, as toLowerCase did', () => {
    for (const scheme of ['OAuth', 'oauth', 'OAUTH', 'oAuTh']) {
      expect(parseAuthorization(`${scheme} a="b"`)).toEqual({
        ok: true,
        value: { scheme: 'oauth', realm: undefined, params: [['a', 'b']] },
      });
    }
    for (const scheme of ['OAuth2', 'OAut', 'ＯAuth', 'OAuth\u0130', 'O@uth']) {
      expect(parseAuthorization(`${scheme} a="b"`)).toMatchObject({ ok: false, code: 'scheme_unsupported' });
    }
  });

  it('reports the first problem in list order, even after a well-formed prefix', () => {
    expect(parseOAuthParams('a="%ZZ", b="1" c')).toEqual(oldParseOAuthParams('a="%ZZ", b="1" c'));
    expect(parseOAuthParams('a="1", a="2", "')).toMatchObject({ ok: false, code: 'parameter_duplicated' });
    expect(parseOAuthParams('a="1", b="2" x')).toEqual({
      ok: false,
      code: 'malformed_header',
      detail: 'expected name="value" at offset 6',
    });
  });

  it('stays linear on adversarial lists (one regular-expression pass, then indexOf)', () => {
    for (const input of [
      `${','.repeat(100_000)}x`,
      `${'a="b",'.repeat(16_000)}x`,
      `a="${'b'.repeat(100_000)}`,
      `${' ,a="b" \t'.repeat(11_000)}=`,
      `a="b"${' '.repeat(100_000)}x`,
    ]) {
      expect(cpuTimed(() => parseOAuthParams(input, Number.POSITIVE_INFINITY)).ms).toBeLessThan(500);
    }
  });
});

describe('the form scanner', () => {
  it('gives the same pairs and failures as the indexOf-based parser', () => {
    fc.assert(
      fc.property(formText, fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), (input, maxParams) => {
        expect(parseForm(input, { maxParams })).toEqual(oldParseForm(input, { maxParams }));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('decodePercent and encodeEncoded', () => {
  it('decodePercent is decodeURIComponent, undefined where that throws', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ unit: 'binary', maxLength: 12 })), (s) => {
        expect(decodePercent(s)).toBe(oldDecode(s));
      }),
      { numRuns: 3000 },
    );
    expect(decodePercent('%f0%9F%98%80 %2b%2B')).toBe('😀 ++');
    expect(decodePercent('%41%C3')).toBeUndefined();
    expect(decodePercent('%C3%A9%4')).toBeUndefined();
  });

  it('encodeEncoded turns every % into %25 and nothing else', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(encodeEncoded(s)).toBe(s.replaceAll('%', '%25'));
      }),
    );
  });
});

describe('parseOAuth1Request error precedence', () => {
  const origin = 'https://api.example.com';
  const signed = signOAuth1({
    method: 'POST',
    url: `${origin}/r?oauth_nonce=x`,
    consumerKey: 'ck',
    consumerSecret: 's',
    nonce: 'n',
    timestamp: 1_800_000_000,
  });

  it('reports a malformed body before protocol parameters sent in two places', () => {
    const input = {
      method: 'POST',
      origin,
      target: '/r?oauth_nonce=x',
      authorization: signed.authorization,
      contentType: 'application/x-www-form-urlencoded',
    };
    expect(parseOAuth1Request({ ...input, body: 'a=%ZZ' })).toMatchObject({ ok: false, code: 'malformed_request' });
    expect(parseOAuth1Request({ ...input, body: 'a=1' })).toMatchObject({ ok: false, code: 'parameter_duplicated' });
  });

  it('keeps the first collecting failure: header and query before query and body', () => {
    const result = parseOAuth1Request({
      method: 'POST',
      origin,
      target: '/r?oauth_nonce=x',
      authorization: signed.authorization,
      contentType: 'application/x-www-form-urlencoded',
      body: 'oauth_token=t',
    });
    expect(result).toEqual({
      ok: false,
      code: 'parameter_duplicated',
      detail: 'protocol parameters sent in both the header and the query',
    });
  });
});

describe('prepareOAuth1Secrets', () => {
  const origin = 'https://api.example.com';

  it('verifies exactly as the plain secrets do, for every method', () => {
    for (const signatureMethod of ['HMAC-SHA256', 'HMAC-SHA1', 'PLAINTEXT'] as const) {
      const signed = signOAuth1({
        method: 'GET',
        url: `${origin}/a?b=c d`,
        consumerKey: 'ck',
        consumerSecret: 'cs&!',
        token: 'tk',
        tokenSecret: 'ts é',
        signatureMethod,
        nonce: 'n',
        timestamp: 1_800_000_000,
      });
      const input = { method: 'GET', origin, target: '/a?b=c%20d', authorization: signed.authorization };
      const options = { signatureMethods: [signatureMethod] };
      const parsed = parseOAuth1Request(input, options);
      if (!parsed.ok) throw new Error(parsed.code);
      const prepared = prepareOAuth1Secrets('cs&!', 'ts é');
      expect(verifyOAuth1Signature(parsed.value, prepared)).toEqual({ ok: true, value: true });
      expect(verifyOAuth1Signature(parsed.value, prepareOAuth1Secrets('cs&!', 'other'))).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
      expect(verifyOAuth1(input, { ...options, secrets: () => prepared }).ok).toBe(true);
    }
  });

  it('never shows the key bytes when inspected', async () => {
    const { inspect } = await import('node:util');
    const prepared = prepareOAuth1Secrets('kw_sk_secret');
    expect(inspect(prepared.hmacKey)).not.toContain('kw_sk_secret');
  });
});
