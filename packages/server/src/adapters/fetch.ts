/**
 * Web-standard servers (Hono, Next.js route handlers, Deno, Bun): verify a `Request`, or wrap a
 * `fetch` handler so it runs only for verified callers.
 *
 * @packageDocumentation
 */

import { randomUUID } from 'node:crypto';
import type { Outcome, Principal, RouteOptions, VerifyRequest } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { renderRefusal } from './http.js';

/** Where the request came from; web `Request`s do not carry it, so the host passes it. */
export interface ConnectionInfo {
  readonly remoteAddress: string;
  /** Whether the connection is TLS. Default: the request URL's scheme is https. */
  readonly secure?: boolean;
}

/**
 * Verifies a web `Request`. Reads the body of a clone (the original stays unread) when a
 * scheme needs it (an OAuth 1.0a form body or body hash).
 */
export async function verifyRequest(
  verifier: Verifier,
  request: Request,
  connection: ConnectionInfo,
  route: RouteOptions = {},
): Promise<Outcome> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  // Read (a clone of) the body only when a scheme needs it: most requests never do.
  const needed =
    request.body !== null &&
    verifier.needsBody({ method: request.method, url: url.pathname + url.search, headers, hasBody: true });
  const body = needed ? new Uint8Array(await request.clone().arrayBuffer()) : undefined;
  const req: VerifyRequest = {
    method: request.method,
    url: url.pathname + url.search,
    headers,
    body,
    remoteAddress: connection.remoteAddress,
    secure: connection.secure ?? url.protocol === 'https:',
  };
  return verifier.verify(req, route);
}

/** A refusal as a web `Response`. */
export function refusalResponse(outcome: Exclude<Outcome, { ok: true }>, requestId?: string): Response {
  const rendered = renderRefusal(outcome, requestId);
  const headers = new Headers();
  for (const [name, value] of Object.entries(rendered.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Response(JSON.stringify(rendered.body), { status: rendered.status, headers });
}

/**
 * Wraps a fetch handler: `handler(request, principal)` runs only for verified callers; everyone
 * else gets the refusal.
 */
export function fetchHandler(
  verifier: Verifier,
  handler: (request: Request, principal: Principal) => Response | Promise<Response>,
  options: RouteOptions & { connection: (request: Request) => ConnectionInfo },
): (request: Request) => Promise<Response> {
  return async (request) => {
    let outcome: Outcome;
    try {
      outcome = await verifyRequest(verifier, request, options.connection(request), options);
    } catch (error) {
      // A fault (not bad input): 500 internal_error in the one shape, reported to onError.
      const requestId = randomUUID();
      return refusalResponse(verifier.fault(error, requestId), requestId);
    }
    return outcome.ok ? handler(request, outcome.principal) : refusalResponse(outcome);
  };
}
