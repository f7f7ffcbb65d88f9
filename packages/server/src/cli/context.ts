/**
 * What every `keyward` subcommand gets: its output, the environment, standard input, the
 * configuration (the same loader as the server's), and a way to open the store that always
 * closes it again.
 *
 * @packageDocumentation
 */

import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError, DEFAULT_CONFIG_FILE, type KeywardConfig, loadConfig, storeConfigOf } from '../config/index.js';
import { openSharedState, type SharedState } from '../state/backends.js';
import { systemClock } from '../store/context.js';
import type { Actor, Store } from '../store/index.js';
import { openStore, StoreNotFoundError } from '../store/index.js';
import { abort, type Output } from './output.js';

/** A subcommand's surroundings; injectable so tests run the command in process. */
export interface CliContext extends Output {
  /** Environment the configuration is read from (`KEYWARD_CONFIG`, `KEYWARD_DATA_DIR`, …). */
  readonly env: NodeJS.ProcessEnv;
  /** Working directory: where `keyward.config.json` is looked for and relative paths start. */
  readonly cwd: string;
  /** The configuration file the `--config` program option names, when it was given. */
  readonly configFile: () => string | undefined;
  /** Reads standard input to its end. */
  readonly readStdin: () => Promise<Uint8Array>;
}

/**
 * The audit actor of a local command: the operating-system user who ran it. Falls back to
 * `$USER` where the user has no passwd entry (containers run with an arbitrary uid), where
 * `os.userInfo()` throws.
 */
export function cliActor(env: NodeJS.ProcessEnv = process.env): Actor {
  let id: string | undefined;
  try {
    id = userInfo().username;
  } catch {
    id = env.USER ?? env.LOGNAME;
  }
  return { type: 'cli', id };
}

/** The message of something thrown, for an error line. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Loads the configuration exactly as `keyward serve` does (`--config`, else `KEYWARD_CONFIG`,
 * else `keyward.config.json` in the working directory; the environment over the file). A bad
 * setting stops the command with `invalid_input` and a message that names where it was set.
 */
export function cliConfig(ctx: CliContext): KeywardConfig {
  try {
    return loadConfig({ env: ctx.env, cwd: ctx.cwd, file: ctx.configFile() });
  } catch (error) {
    if (error instanceof ConfigError) return abort(ctx, { code: 'invalid_input', detail: error.message });
    throw error;
  }
}

/**
 * Says where a command looked for a store that is not there, and how to point it at the
 * server's: the usual cause is a command run from another directory than the server's.
 */
function notFoundMessage(ctx: CliContext, error: StoreNotFoundError, config: KeywardConfig): string {
  const file = config.configFile;
  const why =
    (ctx.env.KEYWARD_DATA_DIR ?? '') !== ''
      ? `because KEYWARD_DATA_DIR names it${file === undefined ? '' : ` (configuration file ${file})`}`
      : file !== undefined
        ? `following the configuration file ${file}`
        : `by default, with no configuration file (${resolve(ctx.cwd, DEFAULT_CONFIG_FILE)} does not exist)`;
  const keys = config.databaseUrl === undefined ? '' : ', or give the keys with KEYWARD_MASTER_KEY and KEYWARD_PEPPER';
  return (
    `${error.message}. Looked there ${why}. Only \`keyward serve\` (or \`keyward migrate --create\`) creates a ` +
    `store. Run the command in the server's directory, or name the server's configuration with --config <file> ` +
    `or KEYWARD_CONFIG, or its data directory with KEYWARD_DATA_DIR${keys}.`
  );
}

/** How {@link withStore} opens the store. */
export interface WithStoreOptions {
  /**
   * Create a missing SQLite data directory, database and keys, as `keyward serve` does on its
   * first start. Default false: a command pointed at the wrong place must not make a new, empty
   * store there and answer from it.
   */
  readonly create?: boolean | undefined;
}

/**
 * Opens the store the configuration names (which also migrates it), runs `fn`, and closes the
 * store whatever happens, so that no pool or timer keeps the process alive. A store that is not
 * there, or cannot be opened (unreachable database, keys that do not match it), is reported as
 * `store_unavailable` with a message that says what to do.
 */
export async function withStore<T>(
  ctx: CliContext,
  fn: (store: Store, config: KeywardConfig) => Promise<T>,
  options: WithStoreOptions = {},
): Promise<T> {
  const config = cliConfig(ctx);
  // On PostgreSQL or Redis, a change made here is published on the instances' invalidation
  // channel, so that running servers drop what they cached before the command returns.
  let state: SharedState | undefined;
  let store: Store;
  try {
    state = await openSharedState(config, {
      member: false,
      clock: systemClock,
      onWarning: (message, error) =>
        ctx.err(`warning: ${message}${error === undefined ? '' : `: ${messageOf(error)}`}`),
    });
    store = await openStore(storeConfigOf(config, { create: options.create ?? false, invalidations: state.bus }));
  } catch (error) {
    await state?.close();
    const detail = error instanceof StoreNotFoundError ? notFoundMessage(ctx, error, config) : messageOf(error);
    return abort(ctx, { code: 'store_unavailable', detail });
  }
  try {
    return await fn(store, config);
  } finally {
    try {
      await store.close();
    } finally {
      await state.close();
    }
  }
}
