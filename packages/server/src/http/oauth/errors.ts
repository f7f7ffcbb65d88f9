/**
 * The OAuth endpoints' own error shape, `{ "error", "error_description" }` (RFC 6749 §5.2), not
 * the Keyward one: OAuth clients (oauth4webapi, openid-client, curl scripts) read `error`. The
 * plugin's error handler turns every failure of its routes, Fastify's own included (body
 * validation, content type, body size), into this shape.
 *
 * @packageDocumentation
 */

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { basicChallenge } from '../../verify/refusals.js';
import type { ServerContext } from '../context.js';

/**
 * The error codes the OAuth endpoints answer with and their statuses: RFC 6749 §5.2 for the token
 * endpoint (and, by reference, introspection RFC 7662 §2.3 and revocation RFC 7009 §2.2.1), plus
 * `temporarily_unavailable` and `server_error` (RFC 6749 §4.1.2.1) for a store that is down or a
 * fault, which RFC 6749 leaves to HTTP status codes at the token endpoint.
 */
export const OAUTH_ERRORS = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  temporarily_unavailable: 503,
  server_error: 500,
} as const;

/** One of {@link OAUTH_ERRORS}. */
export type OAuthErrorCode = keyof typeof OAUTH_ERRORS;

/** Headers of every OAuth endpoint response that may carry a token or say something about one (RFC 6749 §5.1). */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/** An OAuth error thrown by a route or hook of the plugin; rendered by {@link oauthErrorHandler}. */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly code: OAuthErrorCode,
    /** Human-readable, secret-free; never a value the client sent. */
    readonly description: string,
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(`${code}: ${description}`);
    this.status = options.status ?? OAUTH_ERRORS[code];
    this.headers = { ...options.headers };
  }
}

/** TypeBox schema of the error body, for route documentation. */
export const OAuthErrorBody = Type.Object(
  {
    error: Type.String({ description: 'RFC 6749 §5.2 error code' }),
    error_description: Type.Optional(Type.String()),
  },
  { description: 'RFC 6749 §5.2 error response' },
);

/** The error responses of an endpoint that authenticates its client (RFC 6749 §5.2 shape). */
export const CLIENT_ENDPOINT_ERRORS = {
  400: OAuthErrorBody,
  401: OAuthErrorBody,
  429: OAuthErrorBody,
  503: OAuthErrorBody,
} as const;

// RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ), no quote or backslash.
function describe(text: string): string {
  const clean = text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '').slice(0, 300);
  return clean === '' ? 'request refused' : clean;
}

/**
 * Sends an OAuth error response. A 401 `invalid_client` carries the Basic challenge (RFC 6749
 * §5.2: the client authenticates with HTTP Basic), in the verifier's realm.
 */
export function sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  const challenge =
    error.status === 401 ? { 'www-authenticate': basicChallenge(reply.server.kw.verifier.realm) } : undefined;
  return reply
    .code(error.status)
    .headers({ ...NO_STORE, ...challenge, ...error.headers })
    .send({ error: error.code, error_description: describe(error.description) });
}

/**
 * Runs a store operation; if it throws, the request fails closed with 503
 * `temporarily_unavailable` (never a token, never a 200), and the cause goes to the log.
 */
export async function guardStore<T>(
  kw: ServerContext,
  request: FastifyRequest,
  operation: () => Promise<T>,
): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    // Everything a store operation throws is the store failing: fail closed, retry later.
    kw.metrics.storeErrors.inc({ source: 'oauth' });
    request.log.error({ err: error }, 'oauth endpoint failed closed');
    throw new OAuthError('temporarily_unavailable', 'the credential store cannot be reached; try again later', {
      headers: { 'retry-after': '1' },
    });
  }
}

/** What a thrown value becomes at an OAuth endpoint. */
export function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  const e = error as Partial<FastifyError> & { validation?: unknown };
  // Body schema violations: RFC 6749 §5.2 invalid_request (a parameter missing or malformed).
  if (e.validation !== undefined || e.code === 'FST_ERR_VALIDATION') {
    return new OAuthError('invalid_request', e.message ?? 'a parameter is missing or malformed');
  }
  // RFC 6749 §3.2 / §4.4.2: the body is application/x-www-form-urlencoded, and nothing else.
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.statusCode === 415) {
    return new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new OAuthError('invalid_request', 'the body is too large', { status: 413 });
  }
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new OAuthError('invalid_request', 'the request is malformed');
  }
  return new OAuthError('server_error', 'unexpected error; the server log has the details');
}

/** The error handler of the OAuth plugin's encapsulated scope. */
export function oauthErrorHandler() {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const oauth = toOAuthError(error);
    if (oauth.code === 'server_error') request.log.error({ err: error }, 'oauth endpoint failed');
    return sendOAuthError(reply, oauth);
  };
}
