/**
 * `/v1/forward-auth` (every method): the auth service a reverse proxy asks before it forwards a
 * request — nginx `auth_request`, Caddy `forward_auth`, Traefik `forwardAuth`. The proxy sends
 * the original request's headers, and its method and URI in `X-Original-Method` /
 * `X-Original-URI` (nginx) or `X-Forwarded-Method` / `X-Forwarded-Uri` (Caddy, Traefik).
 *
 * Contract:
 * - Only a trusted proxy (`trustProxy`) may ask: anyone else could name any method and URI and
 *   learn whether a credential is good for it without the proxy's own checks, so another peer
 *   gets 403 `forbidden`. The client address and `secure` come from the proxy's
 *   `X-Forwarded-For` / `X-Forwarded-Proto`, read by the verifier's transport rule.
 * - The route rules (`routesFile`) are matched on the original method and path: a public route is
 *   a 200 without identity; a request no rule matches (with a rules file) is 403
 *   `route_not_allowed`; otherwise the verifier decides, with the rule's scopes and methods.
 * - 200 with an empty body and the identity headers (`identityHeaders`), which the proxy copies
 *   to the upstream request (all of them, empty when the principal has no such part); or the refusal's status, JSON body, `WWW-Authenticate` and
 *   `Retry-After`, through the one refusal mapping. Never cached (`Cache-Control: no-store`).
 * - OAuth 1.0a base strings use Keyward's `publicUrl` and the original URI (RFC 5849 §3.4.1.2),
 *   never the forwarded host.
 * - The proxy does not send the body. An OAuth 1.0a request whose signature may cover what is in
 *   it — a form body (RFC 5849 §3.4.1.3.1), `oauth_body_hash`, a route that requires a body hash,
 *   or protocol parameters that may be in the body — is refused with 400 `body_not_forwarded`
 *   rather than verified without it: those routes need `keyward gateway`. An OAuth 1.0a request
 *   with a non-form body its signature does not cover is verified as usual.
 *
 * @packageDocumentation
 */

import { isFormContentType } from '@keyward/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { identityHeaders } from '../gateway/identity.js';
import { DEFAULT_RULES, loadRouteRules, matchRoute, type RouteRules, routeOptions } from '../gateway/rules.js';
import { TrustedProxies } from '../verify/transport.js';
import type { VerifyRequest } from '../verify/types.js';
import type { RouteModule } from './context.js';
import { ApiError, sendError, sendRefusal } from './errors.js';
import { errorResponses } from './schemas.js';

/** The methods forward-auth answers: nginx asks with the original request's method. */
export const FORWARD_AUTH_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Longest original URI accepted, in characters (as `POST /v1/verify` takes). */
const MAX_URI = 8192;
// RFC 9110 §5.6.2 token: the original method.
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
// origin-form (RFC 9112 §3.2.1): a path and an optional query, visible ASCII, no fragment.
const ORIGIN_FORM = /^\/[\x21\x22\x24-\x7e]*$/;

// Headers that describe the auth subrequest, not the original request: never shown to the
// verifier (X-Forwarded-For / -Proto stay: the transport rule reads them).
const PROXY_HEADERS = new Set([
  'x-original-method',
  'x-original-uri',
  'x-original-url',
  'x-forwarded-method',
  'x-forwarded-uri',
  'x-forwarded-host',
]);

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

/**
 * Whether the original request declares a body. nginx drops `Content-Length` from the
 * subrequest (`proxy_set_header Content-Length ""`), so a `Content-Type` on a method that
 * carries a body counts as one too: a form body must never pass unseen.
 */
function declaresBody(method: string, headers: VerifyRequest['headers']): boolean {
  const length = headers['content-length'];
  if (headers['transfer-encoding'] !== undefined) return true;
  if (length !== undefined) return length !== '0';
  return headers['content-type'] !== undefined && method !== 'GET' && method !== 'HEAD';
}

/** `/v1/forward-auth` for every method in {@link FORWARD_AUTH_METHODS}. */
export const forwardAuthRoutes: RouteModule = async (app) => {
  const { config, verifier } = app.kw;
  const proxies = new TrustedProxies(config.trustProxy);
  // Read once at start: a bad rules file stops the server with the file and field named.
  const rules: RouteRules =
    config.routesFile === undefined ? DEFAULT_RULES : loadRouteRules(config.routesFile, config.methods);
  const names = config.identityHeaders;
  const noIdentity: Record<string, string> = Object.fromEntries(Object.values(names).map((name) => [name, '']));

  // The proxy sends no body (or one nobody reads): any content type is taken and left unread,
  // never a 415 that the proxy would turn into a 500.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  const schema = {
    tags: ['verify'],
    summary: 'Forward-auth for nginx auth_request, Caddy forward_auth and Traefik forwardAuth',
    description:
      'Trusted proxies only. The original request is named by X-Original-Method / X-Original-URI or ' +
      'X-Forwarded-Method / X-Forwarded-Uri; 200 with identity headers, or the refusal.',
    response: {
      200: { type: 'null', description: 'Let through: the identity headers, no body.' },
      ...errorResponses(400, 401, 403, 429, 503),
    },
  };
  // HEAD (nginx asks with the original method) answers as GET does; like Fastify's own HEAD
  // twins of GET routes, it stays out of the OpenAPI document.
  for (const [methods, hide] of [
    [FORWARD_AUTH_METHODS.filter((m) => m !== 'HEAD'), false],
    [['HEAD'], true],
  ] as const)
    app.route({
      method: [...methods],
      url: '/v1/forward-auth',
      exposeHeadRoute: false,
      schema: hide ? { ...schema, hide } : schema,
      handler,
    });
  async function handler(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    // One request's answer: no cache (the proxy's included) may give it to another.
    reply.header('cache-control', 'no-store');
    const raw = request.raw;
    const peer = raw.socket.remoteAddress ?? '';
    if (!proxies.has(peer)) {
      throw new ApiError('forbidden', 'forward-auth answers trusted proxies only (trustProxy)');
    }
    const h = raw.headers;
    const method = (one(h['x-original-method']) ?? one(h['x-forwarded-method']))?.toUpperCase();
    const uri = one(h['x-original-uri']) ?? one(h['x-forwarded-uri']);
    if (method === undefined || !METHOD.test(method)) {
      throw new ApiError('invalid_input', 'X-Original-Method or X-Forwarded-Method must name the method');
    }
    if (uri === undefined || uri.length > MAX_URI || !ORIGIN_FORM.test(uri)) {
      throw new ApiError('invalid_input', 'X-Original-URI or X-Forwarded-Uri must be the /path?query requested');
    }
    const headers: Record<string, string | string[] | undefined> = Object.create(null);
    for (const [name, value] of Object.entries(h)) if (!PROXY_HEADERS.has(name)) headers[name] = value;

    const path = uri.split('?')[0] ?? '/';
    const rule = matchRoute(rules, method, path);
    if (rule === undefined) return sendError(request, reply, 'route_not_allowed');
    // A public route: no identity, and every identity header empty (see below).
    if (rule.public === true) return reply.code(200).headers(noIdentity).send();

    const head = { method, url: uri, headers };
    if (declaresBody(method, headers) && verifier.needsBody({ ...head, hasBody: true })) {
      const authorization = one(headers.authorization) ?? '';
      const oauthHeader = /^oauth\s/i.test(authorization.trim());
      // The signature covers what is in the body, or may: it cannot be checked here.
      const covered =
        !oauthHeader ||
        isFormContentType(one(headers['content-type'])) ||
        /oauth_body_hash/i.test(authorization) ||
        uri.includes('oauth_body_hash') ||
        rule.requireBodyHash === true;
      if (covered) return sendError(request, reply, 'body_not_forwarded');
    }
    const original: VerifyRequest = {
      ...head,
      remoteAddress: peer,
      secure: raw.socket && 'encrypted' in raw.socket && raw.socket.encrypted === true,
    };
    const outcome = await verifier.verify(original, routeOptions(rule));
    if (!outcome.ok) return sendRefusal(request, reply, outcome);
    // Every identity header, empty when the principal has no such part (no key behind a
    // session): a proxy that copies them (Caddy copy_headers, Traefik authResponseHeaders)
    // then overwrites whatever the client sent instead of leaving it, and Caddy 2.6 would
    // otherwise copy its unexpanded placeholder. nginx sends no header for an empty value.
    return reply
      .code(200)
      .headers({ ...noIdentity, ...identityHeaders(outcome.principal, names) })
      .send();
  }
};
