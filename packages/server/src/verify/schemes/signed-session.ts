/**
 * Signed sessions: every request signed as OAuth 1.0a (RFC 5849) with `oauth_token` = the
 * session token and the session secret as token secret; the consumer key is the session's
 * account id and the consumer secret is empty (the session secret carries the proof). An unknown
 * session and a bad signature answer alike. The session checks are those of plain sessions.
 *
 * @packageDocumentation
 */

import { METHOD_TABLE, type OAuth1Request, verifyOAuth1Signature } from '@keyward/core';
import { checkBeforeSecrets, consumeNonce, OAUTH, oauth1NeedsBody, oauth1Request } from '../oauth1-request.js';
import { oauthChallenge } from '../refusals.js';
import { defineScheme } from '../scheme.js';
import { admitSession, sessionProblem } from './session.js';

/** The `signed-session` scheme: claims OAuth 1.0a requests that carry `oauth_token`. */
export const signedSessionScheme = defineScheme<OAuth1Request>({
  method: 'signed-session',
  httpScheme: METHOD_TABLE['signed-session'].httpScheme,
  sendsSecret: METHOD_TABLE['signed-session'].sendsSecret,
  needsBody: oauth1NeedsBody,
  claim(presented, ctx) {
    const request = oauth1Request(presented, ctx);
    if (request === undefined) return undefined;
    if (!('consumerKey' in request)) return request;
    return request.token === undefined ? undefined : { claimed: request };
  },
  async verify(request, presented, ctx) {
    const early = checkBeforeSecrets(ctx, presented, request);
    if (early !== undefined) return early;
    const { transport } = presented;
    const found = await ctx.credentials.session(request.token ?? '');
    const sealed = found?.sealedSecret ?? null;
    const tokenSecret =
      found !== undefined && sealed !== null ? ctx.credentials.openSessionSecret(found.session.id, sealed) : '';
    const signature = verifyOAuth1Signature(request, { consumerSecret: '', tokenSecret });
    if (found === undefined || sealed === null || found.session.accountId !== request.consumerKey || !signature.ok) {
      const limited = await ctx.recordFailure(transport);
      const live = found !== undefined && found.session.revokedAt === null;
      if (live && ctx.settings.voidSessionOnBadSignature) await ctx.credentials.endSession(found.session.id);
      return limited ?? ctx.refuse(signature.ok ? 'signature_invalid' : signature.code, {}, OAUTH);
    }
    const checked = await sessionProblem(ctx, transport, found.session, OAUTH);
    if ('ok' in checked) return checked;
    return (await consumeNonce(ctx, request)) ?? admitSession(ctx, found.session, checked.scopes, 'signed-session');
  },
  challenge: oauthChallenge,
});
