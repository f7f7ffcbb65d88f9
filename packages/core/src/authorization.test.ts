import { describe, expect, it } from 'vitest';
import { formatOAuthHeader, parseAuthorization, parseOAuthParams, splitAuthorizationHeader } from './authorization.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('parseAuthorization', () => {
  it('reports a missing or blank header as credentials_missing', () => {
    expect(parseAuthorization(undefined)).toMatchObject({ ok: false, code: 'credentials_missing' });
    expect(parseAuthorization('   ')).toMatchObject({ ok: false, code: 'credentials_missing' });
  });

  it('matches scheme names case-insensitively (RFC 7235 §2.1)', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect(parseAuthorization(`${scheme} abc`)).toEqual({ ok: true, value: { scheme: 'bearer', token: 'abc' } });
    }
  });

  it('refuses unknown schemes with scheme_unsupported', () => {
    expect(parseAuthorization('Digest username="x"')).toMatchObject({ ok: false, code: 'scheme_unsupported' });
  });

  it('caps the header length before parsing', () => {
    const long = `Bearer ${'a'.repeat(9000)}`;
    expect(parseAuthorization(long)).toMatchObject({ ok: false, code: 'malformed_header' });
    expect(parseAuthorization(long, { maxLength: 10_000 }).ok).toBe(true);
  });
});

describe('splitAuthorizationHeader', () => {
  it('cuts scheme (lower-cased) from credentials without parsing them', () => {
    expect(splitAuthorizationHeader(' OAuth  realm="x", oauth_nonce="%zz" ')).toEqual({
      ok: true,
      value: { scheme: 'oauth', credentials: 'realm="x", oauth_nonce="%zz"' },
    });
    expect(splitAuthorizationHeader('BASIC !!')).toEqual({ ok: true, value: { scheme: 'basic', credentials: '!!' } });
    expect(splitAuthorizationHeader('Digest')).toEqual({ ok: true, value: { scheme: 'digest', credentials: '' } });
  });

  it('refuses what parseAuthorization refuses before looking at the credentials', () => {
    expect(splitAuthorizationHeader(' \t')).toMatchObject({ ok: false, code: 'credentials_missing' });
    expect(splitAuthorizationHeader(`Bearer ${'a'.repeat(9000)}`)).toMatchObject({
      ok: false,
      code: 'malformed_header',
    });
    expect(splitAuthorizationHeader('Bearer abc', { maxLength: 5 })).toMatchObject({
      ok: false,
      code: 'malformed_header',
    });
  });
});

describe('Basic (RFC 7617)', () => {
  it('splits at the first colon, so passwords may contain colons', () => {
    expect(parseAuthorization(`Basic ${b64('kw_kid_x:pa:ss')}`)).toEqual({
      ok: true,
      value: { scheme: 'basic', userId: 'kw_kid_x', password: 'pa:ss' },
    });
  });

  it('decodes UTF-8', () => {
    expect(parseAuthorization(`Basic ${b64('tëst:pässwörd☕')}`)).toMatchObject({
      ok: true,
      value: { userId: 'tëst', password: 'pässwörd☕' },
    });
  });

  it('accepts an empty password but not a missing colon', () => {
    expect(parseAuthorization(`Basic ${b64('id:')}`)).toMatchObject({ ok: true, value: { password: '' } });
    expect(parseAuthorization(`Basic ${b64('idonly')}`)).toMatchObject({ ok: false, code: 'malformed_header' });
  });

  it('refuses bad base64, missing padding, invalid UTF-8 and control characters', () => {
    for (const bad of [
      'Basic',
      'Basic !!!!',
      'Basic aWQ6c2VjcmV0Mw',
      'Basic aWQ6c2Vj=mV0',
      `Basic ${Buffer.from([0x69, 0x3a, 0xff]).toString('base64')}`,
      `Basic ${b64('id:se\ncret')}`,
    ]) {
      expect(parseAuthorization(bad)).toMatchObject({ ok: false, code: 'malformed_header' });
    }
  });
});

describe('Bearer (RFC 6750 §2.1)', () => {
  it('accepts b64token syntax including trailing =', () => {
    expect(parseAuthorization('Bearer a-b.c_d~e+f/g==')).toMatchObject({
      ok: true,
      value: { token: 'a-b.c_d~e+f/g==' },
    });
  });

  it('refuses anything else', () => {
    for (const bad of ['Bearer', 'Bearer a b', 'Bearer a=b', 'Bearer "abc"', 'Bearer a,b']) {
      expect(parseAuthorization(bad)).toMatchObject({ ok: false, code: 'malformed_header' });
    }
  });
});

describe('OAuth (RFC 5849 §3.5.1)', () => {
  it('parses quoted, percent-encoded parameters and sets realm aside', () => {
    const header =
      'OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2",oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D",  oauth_nonce="7d8f3e4a"';
    expect(parseAuthorization(header)).toEqual({
      ok: true,
      value: {
        scheme: 'oauth',
        realm: 'Example',
        params: [
          ['oauth_consumer_key', '9djdj82h48djs9d2'],
          ['oauth_signature', 'bYT5CMsGcbgUdFHObYMEfcx6bsw='],
          ['oauth_nonce', '7d8f3e4a'],
        ],
      },
    });
  });

  it('keeps empty values and tolerates empty list elements (RFC 7230 §7)', () => {
    expect(parseOAuthParams('a="", , b="x",')).toMatchObject({
      ok: true,
      value: {
        params: [
          ['a', ''],
          ['b', 'x'],
        ],
      },
    });
  });

  it('detects duplicated parameters, realm included', () => {
    expect(parseOAuthParams('oauth_nonce="a", oauth_nonce="b"')).toMatchObject({
      ok: false,
      code: 'parameter_duplicated',
    });
    expect(parseOAuthParams('realm="a", realm="b"')).toMatchObject({ ok: false, code: 'parameter_duplicated' });
    // The same name spelled encoded and plain is still the same parameter.
    expect(parseOAuthParams('oauth_nonce="a", oauth%5Fnonce="b"')).toMatchObject({
      ok: false,
      code: 'parameter_duplicated',
    });
  });

  it('refuses unquoted values, escapes, junk and broken encoding', () => {
    for (const bad of ['a=b', 'a="b', 'a="b\\"c"', 'a="b" c="d"', '="b"', 'a b="c"', 'a="%ZZ"', 'a="line\nbreak"']) {
      expect(parseOAuthParams(bad)).toMatchObject({ ok: false, code: 'malformed_header' });
    }
  });

  it('caps the number of parameters', () => {
    const many = Array.from({ length: 33 }, (_, i) => `p${i}="v"`).join(',');
    expect(parseOAuthParams(many)).toMatchObject({ ok: false, code: 'too_many_parameters' });
    expect(parseOAuthParams(many, 33).ok).toBe(true);
  });

  it('formats a header that parses back to the same parameters', () => {
    const params = [
      ['oauth_consumer_key', 'kw_kid_1'],
      ['oauth_signature', 'a+b/c='],
      ['x', "!*'() é"],
    ] as const;
    const header = formatOAuthHeader(params, 'api');
    expect(header).toBe(
      'OAuth realm="api", oauth_consumer_key="kw_kid_1", oauth_signature="a%2Bb%2Fc%3D", x="%21%2A%27%28%29%20%C3%A9"',
    );
    expect(parseAuthorization(header)).toEqual({ ok: true, value: { scheme: 'oauth', realm: 'api', params } });
    expect(() => formatOAuthHeader([], 'a"b')).toThrow(TypeError);
  });
});
