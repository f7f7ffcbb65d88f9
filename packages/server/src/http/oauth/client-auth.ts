/**
 * Client authentication at the OAuth endpoints (RFC 6749 §2.3.1): the client is an API key,
 * `client_id` = `kw_kid_…`, `client_secret` = `kw_sk_…`, sent either as HTTP Basic
 * (`client_secret_basic`) or in the form body (`client_secret_post`), never both. Failures are
 * counted per client address and per key id, in the limiter the verifier uses, so guessing at the
 * token endpoint and guessing at a protected route share one budget.
 *
 * @packageDocumentation
 */

import {
  constantTimeEqual,
  formatKeywardString,
  formDecode,
  hashSecret,
  identify,
  parseAuthorization,
} from '@keyward/core';
import type { FastifyRequest } from 'fastify';
import { addressFailures, keyIdFailures } from '../../state/limiter.js';
import { type ApiKey, keyStateProblem } from '../../store/keys.js';
import type { Transport } from '../../verify/transport.js';
import { clientTransport, type ServerContext } from '../context.js';
import { guardStore, OAuthError } from './errors.js';
import type { OAuthParams } from './form.js';

/** An authenticated client: a usable key that may use OAuth 2.0. */
export interface OAuthClient {
  /** Raw key id (the lookup key of the store). */
  readonly rawId: string;
  readonly key: ApiKey;
  readonly transport: Transport;
}

// Compared against when the key id is unknown, so that a miss does the work of a hit: as long as
// a secret hash (base64url of 32 bytes), and equal to none.
const UNMATCHABLE = '#'.repeat(43);

function tooMany(retryAfter: number): OAuthError {
  return new OAuthError('temporarily_unavailable', 'too many failed client authentications; retry later', {
    status: 429,
    headers: { 'retry-after': String(retryAfter) },
  });
}

/**
 * An `onRequest` hook for the endpoints that carry a client secret: refuses them over plain HTTP
 * from anywhere but loopback or a trusted proxy that says `https` (RFC 6749 §2.3.1: "MUST require
 * the use of TLS"), and refuses an address over its failure limit, before the body is read.
 */
export function secretBearingGuard(kw: ServerContext) {
  return async (request: FastifyRequest): Promise<void> => {
    const transport = clientTransport(kw, request);
    if (!transport.secure && !transport.loopback) {
      throw new OAuthError('invalid_request', 'this endpoint takes a client secret and must be called over https');
    }
    const state = kw.limiter.check(addressFailures(transport.clientIp), kw.config.limits.failuresPerIp);
    if (!state.allowed) throw tooMany(state.retryAfter);
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

/**
 * Authenticates the client of an OAuth request, or throws the OAuth error to answer with:
 * 401 `invalid_client` (with `WWW-Authenticate: Basic`), 400 `invalid_request` (two methods at
 * once), 400 `unauthorized_client` (the key may not use OAuth 2.0), 429 (too many failures),
 * 503 (store down). An unknown key id and a wrong secret answer alike and cost alike.
 */
export async function authenticateClient(
  kw: ServerContext,
  request: FastifyRequest,
  params: OAuthParams,
): Promise<OAuthClient> {
  const transport = clientTransport(kw, request);
  const failure = (rawId?: string) => {
    kw.limiter.hit(addressFailures(transport.clientIp), kw.config.limits.failuresPerIp);
    if (rawId !== undefined) kw.limiter.hit(keyIdFailures(rawId), kw.config.limits.failuresPerKey);
  };
  let credentials: { id: string; secret: string };
  try {
    credentials = presented(request, params);
  } catch (error) {
    if (error instanceof OAuthError && error.code === 'invalid_client') failure();
    throw error;
  }
  const id = identify(credentials.id);
  const secret = identify(credentials.secret);
  const rawId = id?.type === 'key_id' ? id.id : undefined;
  if (rawId === undefined || secret?.type !== 'key_secret' || secret.secret === undefined) {
    failure(rawId);
    throw new OAuthError('invalid_client', 'client_id must be a kw_kid_ key id and client_secret a kw_sk_ secret');
  }
  const limited = kw.limiter.check(keyIdFailures(rawId), kw.config.limits.failuresPerKey);
  if (!limited.allowed) throw tooMany(limited.retryAfter);

  const rawSecret = secret.secret;
  const { store } = kw;
  const credential = await guardStore(kw, request, async () => {
    const found = await store.keys.credential(rawId);
    // A known key costs a second query (its secrets): an unknown one makes the same query, so
    // that the answer time does not tell whether the id exists.
    if (found === undefined) {
      await store.context.db.selectFrom('key_secrets').select('secret_hash').where('key_id', '=', rawId).execute();
    }
    return found;
  });
  const hash = hashSecret(store.context.keyring.pepper, rawSecret);
  let matched = false;
  // Every valid secret is compared, with no early exit (two during a rotation's grace period).
  for (const s of credential?.secrets ?? [{ hash: UNMATCHABLE }]) matched = constantTimeEqual(s.hash, hash) || matched;
  if (credential === undefined || !matched) {
    failure(rawId);
    throw new OAuthError('invalid_client', 'unknown client or wrong secret');
  }
  // The key's state is told only once its secret matched, as the verifier does.
  const problem = keyStateProblem(credential, kw.clock.now());
  if (problem !== undefined) {
    const why = {
      key_revoked: 'the key is revoked',
      key_disabled: 'the key is disabled',
      key_expired: 'the key has expired',
      account_disabled: 'the account is disabled',
    }[problem];
    throw new OAuthError('invalid_client', why);
  }
  const { methods } = credential.key;
  if (methods !== null && !methods.includes('oauth2')) {
    // RFC 6749 §5.2: "The authenticated client is not authorized to use this authorization grant type."
    throw new OAuthError('unauthorized_client', 'this key may not use OAuth 2.0');
  }
  store.usage.record(rawId);
  return { rawId, key: credential.key, transport };
}

/** The `kw_kid_…` form of a raw key id, as `client_id` is written in tokens and introspection. */
export function clientIdOf(rawKeyId: string): string {
  return formatKeywardString('key_id', { id: rawKeyId });
}
