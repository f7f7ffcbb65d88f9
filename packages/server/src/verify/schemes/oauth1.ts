/**
 * 2-legged OAuth 1.0a (RFC 5849) with the replay protection peers leave to the application:
 * timestamp window, then signature against every secret valid now (two during a rotation),
 * then the key's state, then the nonce, recorded atomically and only once the signature
 * verified. The consumer key is the key id, the consumer secret the key secret.
 *
 * @packageDocumentation
 */

import {
  identify,
  METHOD_TABLE,
  type OAuth1Request,
  type OAuth1Secrets,
  prepareOAuth1Secrets,
  verifyOAuth1Signature,
} from '@keyward/core';
import { checkBeforeSecrets, consumeNonce, OAUTH, oauth1NeedsBody, oauth1Request } from '../oauth1-request.js';
import { oauthChallenge } from '../refusals.js';
import { defineScheme } from '../scheme.js';

// Checked against when the key is unknown; prepared like real secrets so both cost the same.
const NO_SECRETS: readonly OAuth1Secrets[] = [prepareOAuth1Secrets('')];

/** undefined when one of the secrets verifies; else the failure code of the last try. */
function verifyAgainst(
  request: OAuth1Request,
  secrets: readonly OAuth1Secrets[],
): 'signature_invalid' | 'body_hash_invalid' | undefined {
  let code: 'signature_invalid' | 'body_hash_invalid' = 'signature_invalid';
  for (const prepared of secrets) {
    const result = verifyOAuth1Signature(request, prepared);
    if (result.ok) return undefined;
    code = result.code;
  }
  return code;
}

/** The `oauth1` scheme: claims OAuth 1.0a requests without `oauth_token`. */
export const oauth1Scheme = defineScheme<OAuth1Request>({
  method: 'oauth1',
  httpScheme: METHOD_TABLE.oauth1.httpScheme,
  sendsSecret: METHOD_TABLE.oauth1.sendsSecret,
  needsBody: oauth1NeedsBody,
  claim(presented, ctx) {
    const request = oauth1Request(presented, ctx);
    if (request === undefined) return undefined;
    if (!('consumerKey' in request)) return request;
    return request.token === undefined ? { claimed: request } : undefined;
  },
  async verify(request, presented, ctx) {
    const early = checkBeforeSecrets(ctx, presented, request);
    if (early !== undefined) return early;
    const { transport } = presented;
    const key = identify(request.consumerKey);
    if (key?.type !== 'key_id' || key.id === undefined) {
      return (await ctx.recordFailure(transport)) ?? ctx.refuse('signature_invalid', {}, OAUTH);
    }
    // No failure check before the signature: the right signature is admitted however many
    // failures others caused; a wrong one over a limit is answered 429 by recordFailure.
    const rawId = key.id;

    const entry = await ctx.keyCredential(rawId);
    const secrets = ctx.openOAuth1Secrets(rawId, entry);
    // Unknown key and wrong signature answer alike: both are signature_invalid, after an HMAC.
    const checked = verifyAgainst(request, secrets.length === 0 ? NO_SECRETS : secrets);
    if (checked !== undefined || entry.credential === null || secrets.length === 0) {
      return (await ctx.recordFailure(transport, rawId)) ?? ctx.refuse(checked ?? 'signature_invalid', {}, OAUTH);
    }
    const problem = ctx.keyProblem(entry.credential, 'oauth1', OAUTH);
    if (problem !== undefined) return problem;
    return (await consumeNonce(ctx, request)) ?? ctx.admit(rawId, entry.credential, 'oauth1');
  },
  challenge: oauthChallenge,
});
