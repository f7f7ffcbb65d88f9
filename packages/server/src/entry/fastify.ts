/**
 * `@keyward/server/fastify`: the Fastify plugin. It loads no Fastify of its own (the app brings
 * it), nor Keyward's HTTP server, database drivers or CLI. Pair it with a verifier from
 * `@keyward/server/verify`.
 *
 * @packageDocumentation
 */

export {
  boundKeywardFastify,
  type KeywardFastify,
  type KeywardFastifyOptions,
  type KeywardHook,
  keywardFastify,
} from '../adapters/fastify.js';
export { type ErrorBody, type RenderedRefusal, renderRefusal } from '../adapters/http.js';
// Types only: erased from the JavaScript, so the verifier's code is not loaded through here.
export type { Principal, Refusal, RouteOptions } from '../verify/types.js';
export type { Verifier } from '../verify/verifier.js';
