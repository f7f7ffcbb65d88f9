/**
 * `@keyward/server/server`: the Fastify HTTP server (OAuth endpoints, accounts, admin, verify
 * routes, console) and the configuration loader it starts from.
 *
 * @packageDocumentation
 */

export {
  ConfigError,
  type ConfigSources,
  type KeywardConfig,
  type KeywardConfigInput,
  loadConfig,
} from '../config/index.js';
export { createServer, type KeywardServer, type ServerOptions } from '../http/app.js';
