/**
 * One configuration for the server and every `keyward` command: `keyward.config.json` (or the
 * file named by `--config` / `KEYWARD_CONFIG`), then the environment over it.
 *
 * @packageDocumentation
 */

export {
  ConfigError,
  type ConfigSources,
  DEFAULT_CONFIG_FILE,
  type KeywardConfig,
  type KeywardConfigInput,
  loadConfig,
  MAX_TOKEN_TTL_SECONDS,
} from './load.js';
export { storeConfigOf } from './store.js';
