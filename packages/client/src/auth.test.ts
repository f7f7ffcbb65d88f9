// The client's credential types follow core's method table: every method has an `auth.type`,
// and whether it puts a secret on the wire is the table's answer, not a second list.
import { BUILTIN_METHODS, METHOD_TABLE } from '@keyward/core';
import { describe, expect, it } from 'vitest';
import { type Auth, assertSafeTransport, checkAuth, sendsSecret } from './auth.js';

/** A valid credential of each type, as a caller would give it. */
const EXAMPLES: Record<Auth['type'], Auth> = {
  basic: { type: 'basic', keyId: 'kw_kid_x', secret: 'kw_sk_x' },
  'api-key': { type: 'api-key', token: 'kw_key_x' },
  oauth1: { type: 'oauth1', consumerKey: 'ck', consumerSecret: 'cs' },
  'client-credentials': { type: 'client-credentials', clientId: 'kw_kid_x', clientSecret: 'kw_sk_x' },
  session: { type: 'session', token: 'kw_st_x' },
  'signed-session': { type: 'signed-session', consumerKey: 'acc_x', token: 'kw_st_x', secret: 'kw_ss_x' },
};

describe('auth types from the method table', () => {
  it('has one auth type per method, and sendsSecret says what the table says', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(BUILTIN_METHODS.map((m) => METHOD_TABLE[m].clientAuth).sort());
    for (const m of BUILTIN_METHODS) {
      const auth = EXAMPLES[METHOD_TABLE[m].clientAuth];
      expect(sendsSecret(auth), m).toBe(METHOD_TABLE[m].sendsSecret);
      expect(() => checkAuth(auth), m).not.toThrow();
    }
  });

  it('refuses an unknown type with a TypeError naming the known ones', () => {
    const unknown = { type: 'digest' } as unknown as Auth;
    expect(() => sendsSecret(unknown)).toThrow(TypeError);
    expect(() => checkAuth(unknown)).toThrow(/basic, api-key/);
  });
});

// Issue 16 finding 10: plain HTTP carries a secret only to loopback, and `*.localhost` need not
// resolve there (RFC 6761 §6.3 allows resolvers to, it does not make them).
describe('assertSafeTransport: plain http only to loopback', () => {
  const check = (url: string) => () => assertSafeTransport(new URL(url), 'the secret');

  it.each([
    'http://localhost:4000/',
    'http://LOCALHOST/',
    'http://127.0.0.1:4000/',
    'http://127.1.2.3/',
    'http://127.1/',
    'http://[::1]:4000/',
    'http://[0:0:0:0:0:0:0:1]/',
    'https://api.example.com/',
    'https://evil.localhost/',
  ])('allows %s', (url) => {
    expect(check(url)).not.toThrow();
  });

  it.each([
    'http://evil.localhost/',
    'http://api.localhost:4000/',
    'http://localhost.example.com/',
    'http://localhost./',
    'http://128.0.0.1/',
    'http://[::2]/',
    'http://[::ffff:8.8.8.8]/',
    'http://0.0.0.0/',
    'http://api.example.com/',
  ])('refuses %s', (url) => {
    expect(check(url)).toThrow(/use https/);
  });
});
