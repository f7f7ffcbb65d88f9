/**
 * `@keyward/server/passport`: the Passport strategy (Passport itself is the app's), without the
 * HTTP server, the database drivers or the CLI. Pair it with a verifier from
 * `@keyward/server/verify`.
 *
 * @packageDocumentation
 */

export { captureRawBody, type ErrorBody, type RenderedRefusal, renderRefusal } from '../adapters/http.js';
export {
  type KeywardAuthenticateOptions,
  type KeywardFailure,
  KeywardStrategy,
  type KeywardStrategyOptions,
  type PassportActions,
  passportRefusalHandler,
} from '../adapters/passport.js';
// Types only: erased from the JavaScript, so the verifier's code is not loaded through here.
export type { Principal, Refusal, RouteOptions } from '../verify/types.js';
export type { Verifier } from '../verify/verifier.js';
