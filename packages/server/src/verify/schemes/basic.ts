/**
 * HTTP Basic (RFC 7617) with the key id (`kw_kid_…`) as user-id and the key secret (`kw_sk_…`)
 * as password.
 *
 * @packageDocumentation
 */

import { identify, METHOD_TABLE, parseBasicCredentials } from '@keyward/core';
import { verifyKeySecret } from '../key-secret.js';
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
  async verify({ userId, password }, { transport }, ctx) {
    const id = identify(userId);
    const secret = identify(password);
    if (id?.type !== 'key_id' || secret?.type !== 'key_secret' || id.id === undefined || secret.secret === undefined) {
      await ctx.recordFailure(transport);
      return ctx.refuse(
        'malformed_token',
        { detail: 'Basic credentials must be a kw_kid_ key id and a kw_sk_ secret' },
        'basic',
      );
    }
    return verifyKeySecret(ctx, transport, 'basic', id.id, secret.secret, 'basic');
  },
  challenge: (realm) => basicChallenge(realm),
});
