/**
 * `@keyward/server/fetch`: verification of a web `Request` (Hono, Next.js, any `fetch`
 * handler), without the HTTP server, the database drivers or the CLI. Pair it with a verifier
 * from `@keyward/server/verify`.
 *
 * @packageDocumentation
 */

export { type ConnectionInfo, fetchHandler, refusalResponse, verifyRequest } from '../adapters/fetch.js';
export { type ErrorBody, type RenderedRefusal, renderRefusal } from '../adapters/http.js';
// Types only: erased from the JavaScript, so the verifier's code is not loaded through here.
export type { Outcome, Principal, Refusal, RouteOptions } from '../verify/types.js';
export type { Verifier } from '../verify/verifier.js';
