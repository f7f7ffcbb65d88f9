/**
 * Express middleware: verifies the request, puts the principal on `req.keyward`, or answers
 * 401/403/429/503 itself with the one JSON error shape and the right headers.
 *
 * @packageDocumentation
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Refusal, RouteOptions } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { fromNodeRequest, rawBodyOf, renderRefusal } from './http.js';

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
    verifier.verify(fromNodeRequest(req, rawBodyOf(req)), route).then(
      (outcome) => {
        if (outcome.ok) {
          req.keyward = outcome.principal;
          next();
          return;
        }
        send(res, outcome);
      },
      (error: unknown) => {
        // A fault (not bad input): 500 internal_error in the one shape, reported to onError.
        const requestId = randomUUID();
        send(res, verifier.fault(error, requestId), requestId);
      },
    );
  };
}

/**
 * A route guard after the middleware: 403 `insufficient_scope` (with the RFC 6750 §3.1
 * challenge) unless the principal has every scope given; 401 `credentials_missing` with the
 * verifier's challenges when the middleware did not run.
 */
export function requireScopes(
  verifier: Verifier,
  scopes: readonly string[],
): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (req, res, next) => {
    const principal = req.keyward;
    const refusal =
      principal === undefined ? verifier.refuse('credentials_missing') : verifier.checkScopes(principal, scopes);
    if (refusal === undefined) {
      next();
      return;
    }
    send(res, refusal);
  };
}

function send(res: ServerResponse, refusal: Refusal, requestId?: string): void {
  const rendered = renderRefusal(refusal, requestId);
  res.statusCode = rendered.status;
  for (const [name, value] of Object.entries(rendered.headers)) res.setHeader(name, value);
  res.end(JSON.stringify(rendered.body));
}
