// The client's credential types follow core's method table: every method has an `auth.type`,
// and whether it puts a secret on the wire is the table's answer, not a second list.
import { BUILTIN_METHODS, METHOD_TABLE } from '@keyward/core';
import { describe, expect, it } from 'vitest';
import { type Auth, checkAuth, sendsSecret } from './auth.js';

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
