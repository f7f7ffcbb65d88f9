/**
 * Client authentication at the OAuth endpoints (RFC 6749 §2.3.1): the client is an API key,
 * `client_id` = `kw_kid_…`, `client_secret` = `kw_sk_…`, sent either as HTTP Basic
 * (`client_secret_basic`) or in the form body (`client_secret_post`), never both. The check
 * itself is the verifier's one key-secret check, the one HTTP Basic uses: one failure
 * accounting (per client address and per key id and address), one equal-cost miss, one state
 * check.
 *
 * @packageDocumentation
 */

import { formatKeywardString, formDecode, parseAuthorization } from '@keyward/core';
import type { FastifyRequest } from 'fastify';
import { addressFailures } from '../../state/limiter.js';
import { type ApiKey, parseKeyId } from '../../store/keys.js';
import type { Transport } from '../../verify/transport.js';
import type { Refusal } from '../../verify/types.js';
import { clientTransport, type ServerContext } from '../context.js';
import { OAuthError } from './errors.js';
import type { OAuthParams } from './form.js';

/** An authenticated client: a usable key that may use OAuth 2.0. */
export interface OAuthClient {
  /** Raw key id (the lookup key of the store). */
  readonly rawId: string;
  readonly key: ApiKey;
  readonly transport: Transport;
}

// A client refused for too many failed client authentications. RFC 6749 §5.2 has no code for a
// limit: `temporarily_unavailable` is registered for the authorization endpoint only (RFC 6749
// §4.1.2.1, §11.4), and `invalid_request` would say the request is malformed when it is not.
// `invalid_client` ("client authentication failed") is what the limit is about: the client is
// not authenticated, for failures of client authentication. The status stays 429 with
// `Retry-After` (RFC 6585 §4; RFC 6749 §5.2 answers 400 "unless specified otherwise"), so a client
// that reads the status or the header knows to wait and try again rather than to give up; 429
// also keeps the Basic challenge of a 401 off the response.
function tooMany(retryAfter: number): OAuthError {
  return new OAuthError('invalid_client', 'too many failed client authentications; retry later', {
    status: 429,
    headers: { 'retry-after': String(retryAfter) },
  });
}

/**
 * An `onRequest` hook for the endpoints that carry a client secret: refuses them over plain HTTP
 * from anywhere but loopback or a trusted proxy that says `https` (RFC 6749 §2.3.1: "MUST require
 * the use of TLS"), before the body is read. No failure limit here: an address over it still has
 * its credentials checked, so a client with the right secret is never refused because of
 * failures others at its address caused; a wrong one over the limit is answered 429.
 */
export function secretBearingGuard(kw: ServerContext) {
  return async (request: FastifyRequest): Promise<void> => {
    const transport = clientTransport(kw, request);
    if (!transport.secure && !transport.loopback) {
      throw new OAuthError('invalid_request', 'this endpoint takes a client secret and must be called over https');
    }
  };
}

/** The credentials a request presents, before any lookup. */
function presented(request: FastifyRequest, params: OAuthParams): { id: string; secret: string } {
  const header = request.headers.authorization;
  if (header !== undefined && header.trim() !== '') {
    const parsed = parseAuthorization(header);
    if (!parsed.ok || parsed.value.scheme !== 'basic') {
      throw new OAuthError('invalid_client', 'client authentication must be HTTP Basic or client_secret_post');
    }
    // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
    if (params.client_secret !== undefined) {
      throw new OAuthError('invalid_request', 'credentials in both the Authorization header and the body');
    }
    // RFC 6749 §2.3.1: client_id and secret are form-urlencoded before they go into Basic.
    const id = formDecode(parsed.value.userId);
    const secret = formDecode(parsed.value.password);
    if (id === undefined || secret === undefined) {
      throw new OAuthError('invalid_client', 'the Basic credentials are not form-urlencoded');
    }
    // A client_id in the body beside Basic names the client again; it must name the same one.
    if (params.client_id !== undefined && params.client_id !== id) {
      throw new OAuthError('invalid_request', 'client_id in the body differs from the Basic credentials');
    }
    return { id, secret };
  }
  const id = params.client_id;
  const secret = params.client_secret;
  if (id === undefined || secret === undefined) {
    // No public clients here: every client has a secret (RFC 6749 §2.1, confidential clients).
    throw new OAuthError('invalid_client', 'client authentication is required');
  }
  return { id, secret };
}

/** What a refusal of the key-secret check becomes at an OAuth endpoint (RFC 6749 §5.2). */
function toOAuth(refusal: Refusal): OAuthError {
  switch (refusal.code) {
    case 'rate_limited':
      return tooMany(refusal.retryAfter ?? 1);
    case 'store_unavailable':
      return new OAuthError('temporarily_unavailable', 'the credential store cannot be reached; try again later', {
        headers: { 'retry-after': '1' },
      });
    case 'method_not_allowed':
      // RFC 6749 §5.2: "The authenticated client is not authorized to use this authorization grant type."
      return new OAuthError('unauthorized_client', 'this key may not use OAuth 2.0');
    case 'key_revoked':
      return new OAuthError('invalid_client', 'the key is revoked');
    case 'key_disabled':
      return new OAuthError('invalid_client', 'the key is disabled');
    case 'key_expired':
      return new OAuthError('invalid_client', 'the key has expired');
    case 'account_disabled':
      return new OAuthError('invalid_client', 'the account is disabled');
    case 'malformed_token':
      return new OAuthError('invalid_client', 'client_id must be a kw_kid_ key id and client_secret a kw_sk_ secret');
    default:
      return new OAuthError('invalid_client', 'unknown client or wrong secret');
  }
}

/**
 * Authenticates the client of an OAuth request, or throws the OAuth error to answer with:
 * 401 `invalid_client` (with the Basic challenge), 400 `invalid_request` (two methods at
 * once), 400 `unauthorized_client` (the key may not use OAuth 2.0), 429 (too many failures),
 * 503 (store down). An unknown key id and a wrong secret answer alike and cost alike.
 */
export async function authenticateClient(
  kw: ServerContext,
  request: FastifyRequest,
  params: OAuthParams,
): Promise<OAuthClient> {
  const transport = clientTransport(kw, request);
  let credentials: { id: string; secret: string };
  try {
    credentials = presented(request, params);
  } catch (error) {
    // A client that could not even say who it is counts against its address.
    if (error instanceof OAuthError && error.code === 'invalid_client') {
      const state = await kw.limiter.hit(addressFailures(transport.clientIp), kw.config.limits.failuresPerIp);
      if (!state.allowed) throw tooMany(state.retryAfter);
    }
    throw error;
  }
  const outcome = await kw.verifier.verifyKeySecret({
    transport,
    keyId: credentials.id,
    secret: credentials.secret,
    method: 'oauth2',
  });
  if (!outcome.ok) throw toOAuth(outcome);
  const rawId = parseKeyId(outcome.key.id) ?? '';
  return { rawId, key: outcome.key, transport };
}

/** The `kw_kid_…` form of a raw key id, as `client_id` is written in tokens and introspection. */
export function clientIdOf(rawKeyId: string): string {
  return formatKeywardString('key_id', { id: rawKeyId });
}
