/**
 * What the two OAuth 1.0a schemes share (2-legged OAuth 1.0a and signed sessions, RFC 5849):
 * one parse of the request per request, the checks before any secret is looked at (PLAINTEXT
 * only over TLS, the timestamp window), the nonce, and whether the body is needed.
 *
 * @packageDocumentation
 */

import {
  acceptableTimestamps,
  checkTimestamp,
  isFormContentType,
  type OAuth1Request,
  parseOAuth1Request,
  type SignatureMethod,
} from '@keyward/core';
import { headerValue, type VerifierContext } from './context.js';
import type { Presented, RequestHead } from './scheme.js';
import type { Refusal } from './types.js';

/** The `Authorization` scheme OAuth 1.0a credentials travel in (RFC 5849 §3.5.1), lower case. */
export const OAUTH = 'oauth';

const HMAC_ONLY: readonly SignatureMethod[] = ['HMAC-SHA256', 'HMAC-SHA1'];
const WITH_PLAINTEXT: readonly SignatureMethod[] = ['HMAC-SHA256', 'HMAC-SHA1', 'PLAINTEXT'];

function headOf(head: RequestHead, name: string): string | undefined {
  const v = head.headers[name];
  return typeof v === 'string' ? v : v?.join(', ');
}

/**
 * Whether an OAuth 1.0a verification of this request needs the body: form parameters are signed
 * (RFC 5849 §3.4.1.3.1), and a non-form body is covered by `oauth_body_hash`. Another
 * Authorization scheme never reads it.
 */
export function oauth1NeedsBody(head: RequestHead): boolean {
  const length = headOf(head, 'content-length');
  const hasBody =
    head.hasBody ?? ((length !== undefined && length !== '0') || headOf(head, 'transfer-encoding') !== undefined);
  if (!hasBody) return false;
  const authorization = headOf(head, 'authorization')?.trim();
  if (authorization !== undefined && authorization !== '') return /^oauth\s/i.test(authorization);
  // Without an Authorization header, protocol parameters may be in the form body or the query
  // (RFC 5849 §3.5.2, §3.5.3).
  return isFormContentType(headOf(head, 'content-type')) || head.url.includes('oauth_');
}

/**
 * The request parsed as OAuth 1.0a, once per request (both OAuth schemes look at it): undefined
 * when it carries no OAuth 1.0a parameters at all, a refusal when it is malformed.
 */
export function oauth1Request(presented: Presented, ctx: VerifierContext): OAuth1Request | Refusal | undefined {
  if (presented.oauth1 !== undefined) return presented.oauth1 ?? undefined;
  let result: OAuth1Request | Refusal | undefined;
  const { request: req, authorization } = presented;
  if (authorization !== undefined && authorization.scheme !== OAUTH) result = undefined;
  // Protocol parameters may also travel in the query or a form body (RFC 5849 §3.5.2, §3.5.3).
  else if (authorization === undefined && !req.url.includes('oauth_') && req.body === undefined) result = undefined;
  else {
    const { settings } = ctx;
    const parsed = parseOAuth1Request(
      {
        method: req.method,
        origin: settings.origin,
        target: req.url,
        authorization: headerValue(req, 'authorization'),
        contentType: headerValue(req, 'content-type'),
        body: req.body,
      },
      {
        signatureMethods: settings.plaintext ? WITH_PLAINTEXT : HMAC_ONLY,
        requireBodyHash: presented.route.requireBodyHash === true,
      },
    );
    if (parsed.ok) result = parsed.value;
    else if (parsed.code === 'credentials_missing') result = undefined;
    else result = ctx.refuse(parsed.code, { detail: parsed.detail }, OAUTH);
  }
  presented.oauth1 = result ?? null;
  return result;
}

/**
 * The checks made before any secret is looked at: PLAINTEXT only over TLS (RFC 5849 §3.4.4,
 * loopback is no exception), and the timestamp inside the window (§3.3) and past the nonce
 * store's floor (a store that lost its previous run's nonces cannot check those), refused with the
 * server's time so that clients can correct their clock (OAuth Problem Reporting
 * `oauth_acceptable_timestamps`, and `Date`).
 */
export function checkBeforeSecrets(
  ctx: VerifierContext,
  presented: Presented,
  request: OAuth1Request,
): Refusal | undefined {
  if (request.signatureMethod === 'PLAINTEXT' && !presented.transport.secure)
    return ctx.refuse('transport_insecure', {}, OAUTH);
  const now = ctx.clock.now();
  const window = ctx.settings.timestampWindowSeconds;
  const floor = ctx.nonces.floorMs;
  if (checkTimestamp(request.timestamp, now, window).ok) {
    if (floor === undefined || request.timestamp * 1000 > floor) return undefined;
    // Stamped before the nonce store's floor (its previous run's nonces are gone): it may be a
    // replay of a request accepted then. The range told is the stamps accepted now, centred on
    // the server's time when the floor allows, since clients take its middle for that time.
    const nowSeconds = Math.floor(now / 1000);
    const min = Math.floor(floor / 1000) + 1;
    const max = Math.min(nowSeconds + window, Math.max(min, 2 * nowSeconds - min));
    return timestampRefused(ctx, now, min, Math.max(min, max));
  }
  const range = acceptableTimestamps(now, window);
  return timestampRefused(ctx, now, range.min, range.max);
}

function timestampRefused(ctx: VerifierContext, now: number, min: number, max: number): Refusal {
  return ctx.refuse(
    'timestamp_refused',
    {
      oauthParams: { oauth_acceptable_timestamps: `${min}-${max}` },
      headers: { Date: new Date(now).toUTCString() },
    },
    OAUTH,
  );
}

/**
 * Records the nonce (RFC 5849 §3.3: unique per consumer key, token and nonce for as long as the
 * timestamp could be accepted). Called only once the signature verified, so floods of forged
 * requests cannot grow the store. A refusal, or undefined when the nonce is fresh; a store that
 * cannot record rejects (503, fail closed).
 */
export async function consumeNonce(ctx: VerifierContext, request: OAuth1Request): Promise<Refusal | undefined> {
  const fresh = await ctx.nonces.consume(
    `${request.consumerKey}&${request.token ?? ''}`,
    request.nonce,
    (request.timestamp + ctx.settings.timestampWindowSeconds) * 1000 + 1000,
    request.timestamp * 1000,
  );
  return fresh ? undefined : ctx.refuse('nonce_reused', {}, OAUTH);
}
