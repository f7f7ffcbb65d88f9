/**
 * HTTP Basic (RFC 7617) with the key id (`kw_kid_…`) as user-id and the key secret (`kw_sk_…`)
 * as password.
 *
 * @packageDocumentation
 */

import { METHOD_TABLE, parseBasicCredentials } from '@keyward/core';
import { verifyPresentedKey } from '../key-secret.js';
import { basicChallenge } from '../refusals.js';
import { defineScheme } from '../scheme.js';

/** The `basic` scheme. */
export const basicScheme = defineScheme<{ readonly userId: string; readonly password: string }>({
  method: 'basic',
  httpScheme: METHOD_TABLE.basic.httpScheme,
  sendsSecret: METHOD_TABLE.basic.sendsSecret,
  needsBody: () => false,
  claim({ authorization }, ctx) {
    if (authorization?.scheme !== 'basic') return undefined;
    const basic = parseBasicCredentials(authorization.credentials);
    if (!basic.ok) return ctx.refuse(basic.code, { detail: basic.detail }, 'basic');
    return { claimed: basic.value };
  },
  verify({ userId, password }, { transport }, ctx) {
    // RFC 7617 §2: user-id and password; here the key id and the key secret.
    return verifyPresentedKey(ctx, transport, 'basic', userId, password, 'basic');
  },
  challenge: (realm) => basicChallenge(realm),
});
