/**
 * `@keyward/server/express`: the Express/Connect middleware, without the HTTP server, the
 * database drivers or the CLI. Pair it with a verifier from `@keyward/server/verify`.
 *
 * @packageDocumentation
 */

export { expressMiddleware, requireScopes } from '../adapters/express.js';
export { captureRawBody, type ErrorBody, type RenderedRefusal, renderRefusal } from '../adapters/http.js';
// Types only: erased from the JavaScript, so the verifier's code is not loaded through here.
export type { Principal, Refusal, RouteOptions } from '../verify/types.js';
export type { Verifier } from '../verify/verifier.js';
