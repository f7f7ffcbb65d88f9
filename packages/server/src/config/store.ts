/**
 * The store settings of a loaded configuration, so that the server and every CLI command open
 * the same store the same way.
 *
 * @packageDocumentation
 */

import type { StoreConfig } from '../store/index.js';
import type { KeywardConfig } from './load.js';

/**
 * The settings `openStore` takes, from a loaded configuration: where the store is, its
 * keys, and the timings the configuration sets. `create` says whether a missing SQLite data
 * directory and key files may be made (the server on its first start) or must already exist
 * (every other command).
 */
export function storeConfigOf(
  config: KeywardConfig,
  options: Pick<StoreConfig, 'create' | 'clock' | 'invalidations'> = {},
): StoreConfig {
  return {
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    masterKey: config.masterKey,
    pepper: config.pepper,
    usageFlushMs: config.usageFlushSeconds * 1000,
    signingKeyRotationMs: config.signingKeyRotationSeconds * 1000,
    ...options,
  };
}
