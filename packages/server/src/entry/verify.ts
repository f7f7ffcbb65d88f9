/**
 * `@keyward/server/verify`: the verifier (`createVerifier`, its options and outcome types) and
 * the in-memory nonce store and failure limiter it runs with, without the HTTP server, the
 * database drivers or the CLI. The credentials come from a store (`@keyward/server/store`).
 *
 * @packageDocumentation
 */

export { type Limit, type Limiter, MemoryLimiter } from '../state/limiter.js';
export {
  MemoryNonceStore,
  type MemoryNonceStoreOptions,
  type NonceStore,
  NonceStoreUnavailableError,
} from '../state/nonces.js';
// The whole of verify/index.ts: what the verifier folder declares public is this subpath.
export * from '../verify/index.js';
