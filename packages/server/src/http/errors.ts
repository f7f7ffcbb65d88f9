/**
 * One error shape for every endpoint outside OAuth: `{ "error": { "code", "message", "requestId" } }`
 * with the status of the code in `ERROR_CODES`. Routes throw {@link ApiError} (or return a
 * {@link Failure} through {@link unwrap}); Fastify's own errors (validation, body size, content
 * type, JSON syntax, prototype poisoning) are mapped to codes here, and anything unexpected is a
 * 500 `internal_error` whose details stay in the log.
 *
 * @packageDocumentation
 */

import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Failure, Result } from '@keyward/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorCode, statusOf } from '../errors/codes.js';
import { StoreUnavailableError } from '../verify/ports.js';
import { bearerChallenge, renderRefusal } from '../verify/refusals.js';
import type { Refusal } from '../verify/types.js';
import { DEFAULT_REALM } from '../verify/verifier.js';

/** An expected failure thrown by a route: rendered with its code's status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
    readonly headers: Readonly<Record<string, string | string[]>> = {},
    /** The verifier's refusal, when the route refuses as the verifier would (challenges included). */
    readonly refusal?: Refusal,
  ) {
    const { meaning } = ERROR_CODES[code];
    super(detail === undefined ? meaning : `${meaning} (${detail})`);
    this.status = statusOf(code);
  }

  /** A verifier's refusal (a scope check, say), thrown from a route or hook. */
  static of(refusal: Refusal): ApiError {
    return Object.assign(new ApiError(refusal.code, undefined, {}, refusal), { message: refusal.message });
  }
}

/** The value of a {@link Result}, or its failure thrown as an {@link ApiError}. */
export function unwrap<T, C extends ErrorCode>(result: Result<T, C>): T {
  if (result.ok) return result.value;
  throw fromFailure(result);
}

/** A {@link Failure} as an {@link ApiError}. */
export function fromFailure(failure: Failure<ErrorCode>): ApiError {
  return new ApiError(failure.code, failure.detail);
}

/** The JSON body of an error response. */
export function errorBody(request: FastifyRequest, code: ErrorCode | string, message: string) {
  return { error: { code, message, requestId: String(request.id) } };
}

/** Connections answered before their request's body was read; see {@link closeAfterEarlyAnswers}. */
const answeredEarly = new WeakSet<Socket>();

/**
 * A connection answered before its request's body was read is closed, not answered a second
 * time: when the unread rest turns out malformed (an invalid chunk), Node reports a client
 * error on it, and Fastify's handler would write a 400 after the answer already sent. One
 * request, one answer.
 */
export function closeAfterEarlyAnswers(server: Server): void {
  server.prependListener('clientError', (_error: Error, socket: Socket) => {
    if (answeredEarly.has(socket)) socket.destroy();
  });
}

/** Sends a refusal through the one refusal mapping, with any extra headers. */
export function sendRefusal(
  request: FastifyRequest,
  reply: FastifyReply,
  refusal: Refusal,
  headers: Readonly<Record<string, string | string[]>> = {},
): FastifyReply {
  const rendered = renderRefusal(refusal, String(request.id));
  // Answered before the request's body was read (415, 413): the rest of it is still on the
  // connection, and whatever it holds must not be read as a next request (RFC 9112 §9.6: the
  // server closes instead of reading on), nor answered again if it turns out malformed.
  if (!request.raw.complete) {
    reply.header('connection', 'close');
    answeredEarly.add(request.raw.socket);
  }
  return reply
    .code(rendered.status)
    .headers({ ...rendered.headers, ...headers })
    .send(rendered.body);
}

/**
 * Sends an error response in the one shape. RFC 7235 §3.1: every 401 carries a challenge; a
 * route's 401 (a failed login, a session that ended) without one of its own names the one its
 * caller needs, the session token sent as a bearer token (RFC 6750 §3), in the verifier's realm.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  message: string = ERROR_CODES[code].meaning,
  headers: Readonly<Record<string, string | string[]>> = {},
): FastifyReply {
  const status = statusOf(code);
  const challenged = status !== 401 || Object.keys(headers).some((name) => name.toLowerCase() === 'www-authenticate');
  const challenge = challenged ? undefined : [bearerChallenge(request.server.kw?.verifier.realm ?? DEFAULT_REALM)];
  return sendRefusal(request, reply, { ok: false, status, code, message, challenge }, headers);
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
  // A store that cannot answer: fail closed, and say so (the only exception that is a 503).
  if (error instanceof StoreUnavailableError)
    return { code: 'store_unavailable', message: ERROR_CODES.store_unavailable.meaning };
  const e = error as Partial<FastifyError> & { validation?: unknown };
  // Only two kinds of message are shown: a schema validation's (it names the field and the
  // rule, never the value sent) and one of our own parsers' (no code; they quote no input).
  // Fastify's other messages may quote input (`Unsupported Media Type: <the header>`, `'<the
  // path>' is not a valid url component`), so those answer with the code's meaning alone.
  const detail = e.validation !== undefined || e.code === undefined ? (e.message ?? '') : undefined;
  const withDetail = (code: ErrorCode) =>
    detail === undefined || detail === '' ? ERROR_CODES[code].meaning : `${ERROR_CODES[code].meaning} (${detail})`;
  const mapped = e.code === undefined ? undefined : FASTIFY_CODES[e.code];
  if (mapped !== undefined) return { code: mapped, message: withDetail(mapped) };
  // JSON syntax errors, the strict parser's refusals and Fastify's errors before routing arrive
  // as plain 400 errors.
  if (e.validation !== undefined || e.statusCode === 400)
    return { code: 'invalid_input', message: withDetail('invalid_input') };
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

/**
 * The routes of an app by path pattern, for 405 answers (RFC 9110 §15.5.6): collected as routes
 * are added (an `onRoute` hook), so it must be installed before any route.
 */
export function collectRoutes(app: FastifyInstance): (path: string) => string[] {
  const routes: { readonly pattern: RegExp; readonly methods: string[] }[] = [];
  const byUrl = new Map<string, string[]>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let known = byUrl.get(route.url);
    if (known === undefined) {
      known = [];
      byUrl.set(route.url, known);
      // `/v1/keys/:id` matches one path segment per parameter; `*` the rest.
      const source = route.url
        .split('/')
        .map((part) =>
          part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('/');
      routes.push({ pattern: new RegExp(`^${source}/?$`), methods: known });
    }
    for (const m of methods) if (!known.includes(m)) known.push(m);
  });
  return (path) => {
    const allowed = new Set<string>();
    for (const route of routes) if (route.pattern.test(path)) for (const m of route.methods) allowed.add(m);
    return [...allowed];
  };
}

/**
 * Installs the error and not-found handlers on the root instance. A path that exists for other
 * methods answers 405 with `Allow` (RFC 9110 §15.5.6), not 404.
 */
export function installErrorHandlers(app: FastifyInstance, allowedMethods: (path: string) => string[]): void {
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ApiError && error.refusal !== undefined)
      return sendRefusal(request, reply, error.refusal, error.headers);
    const { code, message, headers } = classify(error);
    if (code === 'internal_error' || code === 'store_unavailable') request.log.error({ err: error }, 'request failed');
    return sendError(request, reply, code, message, headers);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = allowedMethods(path);
    if (allowed.length > 0) {
      return sendError(request, reply, 'http_method_not_allowed', undefined, { allow: allowed.sort().join(', ') });
    }
    // The path is not echoed back: no request input appears in an error message.
    return sendError(request, reply, 'not_found');
  });
}
