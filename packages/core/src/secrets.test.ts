import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hashSecret, type MasterKey, openSecret, sealedKeyVersion, sealSecret } from './secrets.js';

const pepper = new Uint8Array(32).fill(7);
const key1: MasterKey = { version: 1, key: new Uint8Array(32).fill(1) };
const key2: MasterKey = { version: 2, key: new Uint8Array(32).fill(2) };

describe('constantTimeEqual', () => {
  it('compares strings and bytes, any lengths', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual(Buffer.from('é'), 'é')).toBe(true);
    expect(constantTimeEqual('é', 'e')).toBe(false);
    expect(constantTimeEqual('☕', '☕')).toBe(true);
  });

  it('answers exactly as string equality does, for any two strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(a, a.slice())).toBe(true);
      }),
    );
  });

  it('tells apart equal-length strings that differ in one code unit, short or long', () => {
    // Strings up to 128 code units go through buffers kept per length; longer ones through
    // fresh buffers: both sides of that limit, and one changed code unit anywhere.
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 0xffff }),
        (a, at, delta) => {
          const i = at % a.length;
          const b = a.slice(0, i) + String.fromCharCode((a.charCodeAt(i) + delta) % 0x10000) + a.slice(i + 1);
          expect(constantTimeEqual(a, b)).toBe(false);
          expect(constantTimeEqual(b, b.slice())).toBe(true);
          expect(constantTimeEqual(a, `${a}x`)).toBe(false);
        },
      ),
    );
  });
});

describe('hashSecret', () => {
  it('is a deterministic keyed hash that depends on the pepper and never contains the secret', () => {
    const h = hashSecret(pepper, 'kw_sk_secret');
    expect(h).toBe(hashSecret(pepper, 'kw_sk_secret'));
    expect(h).not.toBe(hashSecret(new Uint8Array(32).fill(8), 'kw_sk_secret'));
    expect(h).not.toContain('secret');
    expect(Buffer.from(h, 'base64url')).toHaveLength(32);
  });

  it('refuses a short pepper', () => {
    expect(() => hashSecret(new Uint8Array(16), 'x')).toThrow(TypeError);
  });
});

describe('sealSecret / openSecret (AES-256-GCM)', () => {
  it('round-trips and names the key version in its first bytes', () => {
    const sealed = sealSecret('kw_sk_top secret ☕', key1, 'key:abc');
    expect(sealed).not.toContain('secret');
    expect(sealedKeyVersion(sealed)).toBe(1);
    expect(Buffer.from(sealed, 'base64url')[0]).toBe(1);
    expect(openSecret(sealed, key1, 'key:abc')).toEqual({ ok: true, value: 'kw_sk_top secret ☕' });
  });

  it('uses a fresh IV each time from the injected random source', () => {
    expect(sealSecret('s', key1)).not.toBe(sealSecret('s', key1));
    const fixed = () => new Uint8Array(12).fill(9);
    expect(sealSecret('s', key1, '', fixed)).toBe(sealSecret('s', key1, '', fixed));
  });

  it('picks the key by version during a rotation', () => {
    const old = sealSecret('old', key1);
    const fresh = sealSecret('new', key2);
    expect(openSecret(old, [key2, key1])).toEqual({ ok: true, value: 'old' });
    expect(openSecret(fresh, [key2, key1])).toEqual({ ok: true, value: 'new' });
    expect(openSecret(old, [key2])).toMatchObject({ ok: false, code: 'seal_invalid' });
  });

  it('refuses a wrong key, a wrong context, tampering and garbage with seal_invalid', () => {
    const sealed = sealSecret('s', key1, 'key:abc');
    const wrongKey: MasterKey = { version: 1, key: new Uint8Array(32).fill(3) };
    const raw = Buffer.from(sealed, 'base64url');
    raw[raw.length - 20] = (raw[raw.length - 20] ?? 0) ^ 1;
    for (const [value, keys, context] of [
      [sealed, wrongKey, 'key:abc'],
      [sealed, key1, 'key:other'],
      [raw.toString('base64url'), key1, 'key:abc'],
      ['', key1, ''],
      ['not sealed at all!', key1, ''],
      [`${sealed}A`, key1, 'key:abc'],
    ] as const) {
      expect(openSecret(value, keys, context)).toMatchObject({ ok: false, code: 'seal_invalid' });
    }
  });

  it('refuses a malformed master key with TypeError', () => {
    expect(() => sealSecret('s', { version: 1, key: new Uint8Array(16) })).toThrow(TypeError);
    expect(() => sealSecret('s', { version: 256, key: key1.key })).toThrow(TypeError);
  });
});
