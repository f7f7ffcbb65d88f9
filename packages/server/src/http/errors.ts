/**
 * One error shape for every endpoint outside OAuth: `{ "error": { "code", "message", "requestId" } }`
 * with the status of the code in `ERROR_CODES`. Routes throw {@link ApiError} (or return a
 * {@link Failure} through {@link unwrap}); Fastify's own errors (validation, body size, content
 * type, JSON syntax, prototype poisoning) are mapped to codes here, and anything unexpected is a
 * 500 `internal_error` whose details stay in the log.
 *
 * @packageDocumentation
 */

import { ERROR_CODES, type ErrorCode, type Failure, type Result } from '@keyward/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_REALM } from '../verify/verifier.js';

// RFC 7235 §3.1: every 401 carries at least one challenge. The verifier's refusals bring their
// own; a route's 401 (a failed login, a session that ended) names the one its caller needs: the
// session token, sent as a bearer token.
const ROUTE_CHALLENGE = `Bearer realm="${DEFAULT_REALM}"`;

/** An expected failure thrown by a route: rendered with its code's status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
    readonly headers: Readonly<Record<string, string | string[]>> = {},
  ) {
    const { status, meaning } = ERROR_CODES[code];
    super(detail === undefined ? meaning : `${meaning} (${detail})`);
    this.status = status;
  }
}

/** The value of a {@link Result}, or its failure thrown as an {@link ApiError}. */
export function unwrap<T, C extends ErrorCode>(result: Result<T, C>): T {
  if (result.ok) return result.value;
  throw fromFailure(result);
}

/** A {@link Failure} as an {@link ApiError}. */
export function fromFailure(failure: Failure): ApiError {
  return new ApiError(failure.code, failure.detail);
}

/** The JSON body of an error response. */
export function errorBody(request: FastifyRequest, code: ErrorCode | string, message: string) {
  return { error: { code, message, requestId: String(request.id) } };
}

/** Sends an error response in the one shape. */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  message: string = ERROR_CODES[code].meaning,
  headers: Readonly<Record<string, string | string[]>> = {},
): FastifyReply {
  const status = ERROR_CODES[code].status;
  const challenged = status !== 401 || Object.keys(headers).some((name) => name.toLowerCase() === 'www-authenticate');
  const challenge = challenged ? {} : { 'www-authenticate': ROUTE_CHALLENGE };
  return reply
    .code(status)
    .headers({ 'cache-control': 'no-store', ...challenge, ...headers })
    .send(errorBody(request, code, message));
}

// Fastify's error codes (https://fastify.dev/docs/latest/Reference/Errors/) → ours.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  KEYWARD_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'media_type_unsupported',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_input',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_input',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_input',
  FST_ERR_VALIDATION: 'invalid_input',
};

/** What a thrown value becomes: an error code and a message that is safe to show. */
export function classify(error: unknown): {
  code: ErrorCode;
  message: string;
  headers?: Record<string, string | string[]>;
} {
  if (error instanceof ApiError) return { code: error.code, message: error.message, headers: { ...error.headers } };
  const e = error as Partial<FastifyError> & { validation?: unknown };
  const mapped = e.code === undefined ? undefined : FASTIFY_CODES[e.code];
  if (mapped !== undefined) return { code: mapped, message: `${ERROR_CODES[mapped].meaning} (${e.message ?? ''})` };
  // JSON syntax errors and `__proto__` / `constructor.prototype` keys (Fastify's secure-json-parse
  // refuses them) arrive as plain 400 errors.
  if (e.validation !== undefined || e.statusCode === 400) {
    return { code: 'invalid_input', message: `${ERROR_CODES.invalid_input.meaning} (${e.message ?? ''})` };
  }
  if (e.statusCode === 413) return { code: 'body_too_large', message: ERROR_CODES.body_too_large.meaning };
  if (e.statusCode === 415)
    return { code: 'media_type_unsupported', message: ERROR_CODES.media_type_unsupported.meaning };
  return { code: 'internal_error', message: ERROR_CODES.internal_error.meaning };
}

/**
 * Fastify's `frameworkErrors` handler: errors raised before a route is found (a malformed
 * percent-encoded path, a bad header) answered in the one shape, as 400 `invalid_input`.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { code, message } = classify(error);
  void sendError(request, reply, code === 'internal_error' ? 'invalid_input' : code, message);
}

/** Installs the error and not-found handlers on the root instance. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const { code, message, headers } = classify(error);
    if (code === 'internal_error' || code === 'store_unavailable') request.log.error({ err: error }, 'request failed');
    return sendError(request, reply, code, message, headers);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
