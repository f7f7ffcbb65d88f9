/**
 * Express middleware: verifies the request, puts the principal on `req.keyward`, or answers
 * 401/403/429/503 itself with the one JSON error shape and the right headers.
 *
 * @packageDocumentation
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal, RouteOptions } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { fromNodeRequest, rawBodyOf, renderRefusal } from './http.js';

declare module 'node:http' {
  interface IncomingMessage {
    /** The verified principal, set by Keyward's middleware. */
    keyward?: Principal;
    /** Raw body bytes, when captured with `captureRawBody`. */
    rawBody?: Buffer;
  }
}

type Next = (error?: unknown) => void;

/**
 * Express (or Connect) middleware. For OAuth 1.0a requests with a form body or a body hash, run
 * the body parser first with `verify: captureRawBody` (or use `express.raw()`), so the raw bytes
 * are available; GET requests and the other methods need nothing.
 */
export function expressMiddleware(
  verifier: Verifier,
  route: RouteOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (req, res, next) => {
    verifier.verify(fromNodeRequest(req, rawBodyOf(req)), route).then((outcome) => {
      if (outcome.ok) {
        req.keyward = outcome.principal;
        next();
        return;
      }
      const rendered = renderRefusal(outcome);
      res.statusCode = rendered.status;
      for (const [name, value] of Object.entries(rendered.headers)) res.setHeader(name, value);
      res.end(JSON.stringify(rendered.body));
    }, next);
  };
}

/**
 * A route guard after the middleware: 403 `insufficient_scope` unless the principal has every
 * scope given.
 */
export function requireScopes(
  scopes: readonly string[],
): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (req, res, next) => {
    const principal = req.keyward;
    const missing = scopes.filter((s) => principal === undefined || !principal.scopes.includes(s));
    if (principal !== undefined && missing.length === 0) {
      next();
      return;
    }
    const rendered = renderRefusal({
      ok: false,
      status: principal === undefined ? 401 : 403,
      code: principal === undefined ? 'credentials_missing' : 'insufficient_scope',
      message: principal === undefined ? 'The request was not authenticated.' : `requires ${missing.join(' ')}`,
    });
    res.statusCode = rendered.status;
    for (const [name, value] of Object.entries(rendered.headers)) res.setHeader(name, value);
    res.end(JSON.stringify(rendered.body));
  };
}
