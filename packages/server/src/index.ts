/**
 * `@keyward/server`: the verifier, storage, HTTP server and framework adapters, all in one
 * import. An app that embeds only the middleware imports a subpath instead
 * (`@keyward/server/express`, `/fastify`, `/fetch`, `/passport`, `/verify`, `/store`,
 * `/server`; see src/entry/), which loads no web framework or database driver it does not use.
 * The `keyward` command is reached through its `bin` only, not from here.
 *
 * @packageDocumentation
 */

export { expressMiddleware, requireScopes } from './adapters/express.js';
export {
  boundKeywardFastify,
  type KeywardFastify,
  type KeywardFastifyOptions,
  type KeywardHook,
  keywardFastify,
} from './adapters/fastify.js';
export { type ConnectionInfo, fetchHandler, refusalResponse, verifyRequest } from './adapters/fetch.js';
export { captureRawBody, fromNodeRequest, renderRefusal } from './adapters/http.js';
export {
  type KeywardAuthenticateOptions,
  type KeywardFailure,
  KeywardStrategy,
  type KeywardStrategyOptions,
  type PassportActions,
  passportRefusalHandler,
} from './adapters/passport.js';
export {
  ConfigError,
  type ConfigSources,
  type KeywardConfig,
  type KeywardConfigInput,
  loadConfig,
  storeConfigOf,
} from './config/index.js';
export { ERROR_CODES, type ErrorCode, type ErrorCodeInfo, isErrorCode, statusOf } from './errors/codes.js';
export { createServer, type KeywardServer, type ServerOptions } from './http/app.js';
export { createKeyward, type Keyward } from './keyward.js';
export {
  type Dependency,
  inProcessState,
  nonceStoreOf,
  openSharedState,
  type SharedState,
} from './state/backends.js';
export { type BusTransport, type SharedBusOptions, SharedInvalidationBus } from './state/bus.js';
export { LruCache } from './state/cache.js';
export { type Limit, type Limiter, MemoryLimiter } from './state/limiter.js';
export {
  MemoryNonceStore,
  type MemoryNonceStoreOptions,
  type NonceStore,
  NonceStoreUnavailableError,
  SqlNonceStore,
} from './state/nonces.js';
export { PostgresBusTransport } from './state/postgres-bus.js';
export { AHEAD_MS, connectRedis, RedisBusTransport, RedisNonceStore } from './state/redis.js';
export { type LimitBackend, SharedLimiter } from './state/shared-limiter.js';
export * from './store/index.js';
export * from './verify/index.js';
