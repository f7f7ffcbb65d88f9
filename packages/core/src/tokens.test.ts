import { describe, expect, it } from 'vitest';
import {
  apiKeyStrings,
  formatKeywardString,
  generateApiKey,
  generateSessionSecret,
  generateToken,
  ID_LENGTH,
  identify,
  randomBase62,
  SECRET_LENGTH,
} from './tokens.js';

/** A deterministic byte source, so tests can freeze randomness. */
function counter(start = 0): (n: number) => Uint8Array {
  let next = start;
  return (n) => Uint8Array.from({ length: n }, () => next++ % 256);
}

describe('Keyward strings', () => {
  it('carry at least 256 bits of secret entropy in a URL- and form-safe alphabet', () => {
    expect(SECRET_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(256);
    const key = generateApiKey();
    for (const s of [
      key.keyId,
      key.keySecret,
      key.token,
      generateToken('access_token').token,
      generateSessionSecret(),
    ]) {
      expect(s).toMatch(/^kw_[a-z]+_[0-9A-Za-z]+$/);
      // Safe as a Basic user-id, in a query or a form: nothing percent-encoding would touch.
      expect(encodeURIComponent(s)).toBe(s);
    }
  });

  it('identifies each type and returns its raw parts', () => {
    const key = generateApiKey();
    expect(identify(key.keyId)).toEqual({ type: 'key_id', id: key.id });
    expect(identify(key.keySecret)).toEqual({ type: 'key_secret', secret: key.secret });
    expect(identify(key.token)).toEqual({ type: 'api_key', id: key.id, secret: key.secret });
    const at = generateToken('access_token');
    expect(identify(at.token)).toEqual({ type: 'access_token', id: at.id, secret: at.secret });
    const st = generateToken('session_token');
    expect(identify(st.token)).toEqual({ type: 'session_token', id: st.id, secret: st.secret });
    expect(identify(generateSessionSecret())).toMatchObject({ type: 'session_secret' });
  });

  it('the bearer token and the Basic pair name the same id and secret', () => {
    const key = generateApiKey();
    const fromToken = identify(key.token);
    expect(fromToken?.id).toBe(identify(key.keyId)?.id);
    expect(fromToken?.secret).toBe(identify(key.keySecret)?.secret);
    expect(apiKeyStrings(key.id, key.secret)).toEqual(key);
  });

  it('refuses strings that are nothing of ours before any lookup', () => {
    const key = generateApiKey();
    const changed = key.token.slice(0, 20) + (key.token[20] === 'a' ? 'b' : 'a') + key.token.slice(21);
    for (const bad of [
      '',
      'kw_',
      'kw_key_',
      key.token.slice(0, -1),
      `${key.token}x`,
      changed,
      key.token.replace('kw_key_', 'kw_at_'),
      key.token.replace('kw_', 'KW_'),
      `${key.keyId.slice(0, 10)}-${key.keyId.slice(11)}`,
      'ghp_0123456789',
      'x'.repeat(100_000),
    ]) {
      expect(identify(bad)).toBeUndefined();
    }
  });

  it('draws from the injected random source, uniformly over base62', () => {
    const a = generateApiKey(counter());
    const b = generateApiKey(counter());
    expect(a).toEqual(b);
    expect(a.id).toHaveLength(ID_LENGTH);
    // Bytes ≥ 248 are rejected, never folded onto low characters.
    expect(randomBase62(3, () => Uint8Array.from([255, 248, 0, 61, 247, 9, 9, 9, 9, 9, 9]))).toBe('0zz');
  });

  it('formatKeywardString refuses misuse with TypeError', () => {
    expect(() => formatKeywardString('key_id', {})).toThrow(TypeError);
    expect(() => formatKeywardString('key_id', { id: 'short' })).toThrow(TypeError);
    expect(() =>
      formatKeywardString('key_id', { id: 'a'.repeat(ID_LENGTH), secret: 'b'.repeat(SECRET_LENGTH) }),
    ).toThrow(TypeError);
    expect(() => formatKeywardString('key_secret', { secret: `${'a'.repeat(SECRET_LENGTH - 1)}+` })).toThrow(TypeError);
  });
});
