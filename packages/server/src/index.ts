/**
 * `@keyward/server`: the verifier, storage, framework adapters and the `keyward` command.
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
export { createProgram, main, VERSION } from './cli/main.js';
export { createServer, type KeywardServer, type ServerOptions } from './http/app.js';
export {
  ConfigError,
  type ConfigSources,
  type KeywardConfig,
  type KeywardConfigInput,
  loadConfig,
} from './http/config.js';
export { createKeyward, type Keyward } from './keyward.js';
export { LruCache } from './state/cache.js';
export { type Limit, type Limiter, MemoryLimiter } from './state/limiter.js';
export { MemoryNonceStore, type NonceStore, NonceStoreUnavailableError, SqlNonceStore } from './state/nonces.js';
export * from './store/index.js';
export * from './verify/index.js';
