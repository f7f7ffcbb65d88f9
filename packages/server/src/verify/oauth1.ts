/**
 * 2-legged OAuth 1.0a (RFC 5849) with the replay protection peers leave to the application:
 * timestamp window, then signature against every secret valid now (two during a rotation),
 * then the key's state, then the nonce, recorded atomically and only once the signature
 * verified, so floods of forged requests cannot grow the nonce store.
 *
 * @packageDocumentation
 */

import {
  acceptableTimestamps,
  checkTimestamp,
  identify,
  type OAuth1Request,
  type OAuth1Secrets,
  parseOAuth1Request,
  prepareOAuth1Secrets,
  type SignatureMethod,
  verifyOAuth1Signature,
} from '@keyward/core';
import { NonceStoreUnavailableError } from '../state/nonces.js';
import { headerValue, type VerifierContext } from './context.js';
import { admitSession, sessionProblem } from './sessions.js';
import type { Transport } from './transport.js';
import type { Outcome, Refusal, RouteOptions, VerifyRequest } from './types.js';

const HMAC_ONLY: readonly SignatureMethod[] = ['HMAC-SHA256', 'HMAC-SHA1'];
const WITH_PLAINTEXT: readonly SignatureMethod[] = ['HMAC-SHA256', 'HMAC-SHA1', 'PLAINTEXT'];
// Checked against when the key is unknown; prepared like real secrets so both cost the same.
const NO_SECRETS: readonly OAuth1Secrets[] = [prepareOAuth1Secrets('')];

/** Verifies an OAuth 1.0a request (protocol parameters in the header, query or form body). */
export async function verifyOAuth1Request(
  ctx: VerifierContext,
  transport: Transport,
  req: VerifyRequest,
  route: RouteOptions,
): Promise<Outcome> {
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
      requireBodyHash: route.requireBodyHash === true,
    },
  );
  if (!parsed.ok) return ctx.refuse(parsed.code, { detail: parsed.detail });
  const request = parsed.value;

  // PLAINTEXT sends the secret itself: TLS only (RFC 5849 §3.4.4), loopback is no exception.
  if (request.signatureMethod === 'PLAINTEXT' && !transport.secure) return ctx.refuse('transport_insecure');

  const now = ctx.clock.now();
  const time = checkTimestamp(request.timestamp, now, settings.timestampWindowSeconds);
  if (!time.ok) {
    const range = acceptableTimestamps(now, settings.timestampWindowSeconds);
    // OAuth Problem Reporting: tell the client the server's clock so it can correct (SDKs do).
    return ctx.refuse('timestamp_refused', {
      oauthParams: { oauth_acceptable_timestamps: `${range.min}-${range.max}` },
      headers: { Date: new Date(now).toUTCString() },
    });
  }

  if (request.token !== undefined) return verifySignedSession(ctx, transport, request);

  const key = identify(request.consumerKey);
  if (key?.type !== 'key_id' || key.id === undefined) {
    ctx.recordFailure(transport);
    return ctx.refuse('signature_invalid');
  }
  const rawId = key.id;
  const limited = ctx.checkKeyFailures(rawId);
  if (limited !== undefined) return limited;

  const entry = await ctx.keyCredential(rawId);
  const secrets = ctx.openOAuth1Secrets(rawId, entry);
  // Unknown key and wrong signature answer alike: both are signature_invalid, after an HMAC.
  const checked = verifyAgainst(request, secrets.length === 0 ? NO_SECRETS : secrets);
  if (checked !== undefined || entry.credential === null || secrets.length === 0) {
    ctx.recordFailure(transport, rawId);
    return ctx.refuse(checked ?? 'signature_invalid');
  }

  const problem = ctx.keyProblem(entry.credential, 'oauth1');
  if (problem !== undefined) return problem;

  const replay = await consumeNonce(ctx, request);
  if (replay !== undefined) return replay;
  return ctx.admit(rawId, entry.credential, 'oauth1');
}

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

/**
 * Records the nonce (RFC 5849 §3.3: unique per consumer key, token and nonce for as long as the
 * timestamp could be accepted). Called only once the signature verified. A refusal, or
 * undefined when the nonce is fresh.
 */
async function consumeNonce(ctx: VerifierContext, request: OAuth1Request): Promise<Refusal | undefined> {
  let fresh: boolean;
  try {
    fresh = await ctx.nonces.consume(
      `${request.consumerKey}&${request.token ?? ''}`,
      request.nonce,
      (request.timestamp + ctx.settings.timestampWindowSeconds) * 1000 + 1000,
    );
  } catch (error) {
    if (error instanceof NonceStoreUnavailableError) return ctx.refuse('store_unavailable');
    throw error;
  }
  return fresh ? undefined : ctx.refuse('nonce_reused');
}

/**
 * A signed session: `oauth_token` is the session token, the token secret is the session
 * secret, and the consumer key is the session's account id (the consumer secret is empty: the
 * session secret carries the proof). An unknown session and a bad signature answer alike.
 */
async function verifySignedSession(
  ctx: VerifierContext,
  transport: Transport,
  request: OAuth1Request,
): Promise<Outcome> {
  if (!ctx.settings.methods.has('signed-session')) return ctx.refuse('session_invalid');
  const found = await ctx.store.sessions.find(request.token ?? '');
  const sealed = found?.sealedSecret ?? null;
  const tokenSecret =
    found !== undefined && sealed !== null ? ctx.store.sessions.openSecret(found.session.id, sealed) : '';
  const signature = verifyOAuth1Signature(request, { consumerSecret: '', tokenSecret });
  if (found === undefined || sealed === null || found.session.accountId !== request.consumerKey || !signature.ok) {
    ctx.recordFailure(transport);
    const live = found !== undefined && found.session.revokedAt === null;
    if (live && ctx.settings.voidSessionOnBadSignature) await ctx.store.sessions.revoke(found.session.id);
    return ctx.refuse(signature.ok ? 'signature_invalid' : signature.code);
  }
  const checked = await sessionProblem(ctx, transport, found.session);
  if ('ok' in checked) return checked;
  const replay = await consumeNonce(ctx, request);
  if (replay !== undefined) return replay;
  return admitSession(ctx, found.session, checked.scopes, 'signed-session');
}
