/**
 * Response headers every answer of the server carries, set in one `onSend` hook on the root
 * instance so that no route, error or not-found answer can miss them:
 *
 * - `X-Request-Id`: the id of the request in the log, so that an answer can be traced.
 * - `X-Content-Type-Options: nosniff` on every response: a JSON error that holds text from the
 *   request is never sniffed into HTML.
 * - `Strict-Transport-Security` when the request arrived over TLS, or a trusted proxy said
 *   `https` (RFC 6797 §7.2: never over plain HTTP, where a browser ignores it anyway).
 * - `Cache-Control: no-store` on every response to a credentialed request and on every error,
 *   and on any other response whose route did not choose its own caching.
 * - A restrictive `Content-Security-Policy` on an HTML response that did not set its own.
 *
 * @packageDocumentation
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientTransport } from './context.js';

/**
 * One year (RFC 6797 §6.1.1). Without `includeSubDomains`: Keyward answers for its own host and
 * cannot know that every name under it serves HTTPS; an operator who does can add it at the
 * proxy. Without `preload` for the same reason.
 */
export const HSTS = 'max-age=31536000';

/** The policy of an HTML response that has none: nothing loads, nothing frames it. */
export const HTML_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Request headers that carry a credential: Basic, bearer, OAuth 1.0a, a session token, a proxy
// credential, the optional X-API-Key, and cookies (none are issued, but a browser may send some).
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'x-api-key', 'cookie'] as const;

/**
 * Whether a request carried credentials: one of {@link CREDENTIAL_HEADERS}, or a principal the
 * verifier accepted (OAuth 1.0a parameters in the query or a form body included).
 */
export function isCredentialed(request: FastifyRequest): boolean {
  if (CREDENTIAL_HEADERS.some((name) => request.headers[name] !== undefined)) return true;
  // `keyward` is null until protect() accepts the request; undefined if the plugin is absent.
  return (request as { keyward?: unknown }).keyward != null;
}

/** Sets the headers of {@link securityHeaders} on one reply. */
function applyHeaders(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  // The verifier's view of the transport: TLS to us, or X-Forwarded-Proto from a trusted proxy only.
  if (clientTransport(app.kw, request).secure) reply.header('strict-transport-security', HSTS);
  // A route's own caching (public metadata, JWKS) holds only for an anonymous success.
  if (isCredentialed(request) || reply.statusCode >= 400 || !reply.hasHeader('cache-control')) {
    reply.header('cache-control', 'no-store');
  }
  const type = reply.getHeader('content-type');
  if (typeof type === 'string' && /^text\/html\b/i.test(type) && !reply.hasHeader('content-security-policy')) {
    reply.header('content-security-policy', HTML_CSP);
  }
}

/**
 * Installs the hook on the root instance (hooks on the root reach every route, the not-found
 * handler and the error handler), with `X-Request-Id` (the id the log lines of the request
 * carry). `app.kw` must be decorated before the first request.
 */
export function securityHeaders(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every response, and Fastify continues a
  // callback hook at once where it would wait a microtask for a promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', String(request.id));
    applyHeaders(app, request, reply);
    done(null, payload);
  });
}
