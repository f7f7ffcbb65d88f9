import { describe, expect, it } from 'vitest';
import { cpuTimed } from '../test/support/cpu-time.js';
import { formDecode, parseForm, percentDecode, percentEncode } from './encoding.js';

describe('percentEncode (RFC 5849 §3.6)', () => {
  it('leaves exactly the unreserved set alone', () => {
    expect(percentEncode('AZaz09-._~')).toBe('AZaz09-._~');
  });

  it("encodes !*'() that encodeURIComponent leaves alone", () => {
    expect(encodeURIComponent("!*'()")).toBe("!*'()");
    expect(percentEncode("!*'()")).toBe('%21%2A%27%28%29');
  });

  it('uses upper-case hex over UTF-8 octets', () => {
    expect(percentEncode('é')).toBe('%C3%A9');
    expect(percentEncode('☕')).toBe('%E2%98%95');
    expect(percentEncode('𝄞')).toBe('%F0%9D%84%9E');
  });

  it('encodes space as %20, never +', () => {
    expect(percentEncode('a b+c')).toBe('a%20b%2Bc');
  });

  it('replaces a lone surrogate by U+FFFD instead of throwing', () => {
    expect(percentEncode('a\uD800b')).toBe('a%EF%BF%BDb');
  });
});

describe('percentDecode', () => {
  it('decodes either hex case and keeps + as a plus', () => {
    expect(percentDecode('%c3%A9+%2B')).toBe('é++');
  });

  it('returns undefined for broken escapes and invalid UTF-8', () => {
    expect(percentDecode('%')).toBeUndefined();
    expect(percentDecode('%G1')).toBeUndefined();
    expect(percentDecode('%C3')).toBeUndefined();
    expect(percentDecode('%FF')).toBeUndefined();
  });
});

describe('form decoding', () => {
  it('treats + as space, %2B as plus and %20 as space', () => {
    expect(formDecode('a+b%20c%2Bd')).toBe('a b c+d');
  });

  it('keeps duplicates, order and empty values', () => {
    expect(parseForm('a=1&a=&b&c=%3D&a=2')).toEqual({
      ok: true,
      value: [
        ['a', '1'],
        ['a', ''],
        ['b', ''],
        ['c', '='],
        ['a', '2'],
      ],
    });
  });

  it('skips empty segments and splits at the first =', () => {
    expect(parseForm('&&a=b=c&&')).toEqual({ ok: true, value: [['a', 'b=c']] });
  });

  it('refuses invalid encoding with malformed_request', () => {
    expect(parseForm('a=%ZZ')).toMatchObject({ ok: false, code: 'malformed_request' });
  });

  it('caps the number of parameters', () => {
    expect(parseForm('a=1&b=2&c=3', { maxParams: 2 })).toMatchObject({ ok: false, code: 'too_many_parameters' });
    expect(parseForm('a=1&b=2', { maxParams: 2 }).ok).toBe(true);
  });
});

describe('parseForm stays linear', () => {
  it('handles many segments without "=" and a leading empty segment', () => {
    expect(parseForm('&a=1&b&c=2')).toEqual({
      ok: true,
      value: [
        ['a', '1'],
        ['b', ''],
        ['c', '2'],
      ],
    });
    const many = 'a&'.repeat(200_000);
    const { value: parsed, ms } = cpuTimed(() => parseForm(many, { maxParams: Number.POSITIVE_INFINITY }));
    // A hang guard, not a speed target: the quadratic version took over a second here.
    expect(ms).toBeLessThan(1000);
    expect(parsed.ok && parsed.value.length).toBe(200_000);
  });
});
