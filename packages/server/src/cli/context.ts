/**
 * What every `keyward` subcommand gets: its output, the environment, standard input, and a way to
 * open the store that always closes it again.
 *
 * @packageDocumentation
 */

import { userInfo } from 'node:os';
import type { Actor, Store } from '../store/index.js';
import { openStore, storeConfigFromEnv } from '../store/index.js';
import { abort, type Output } from './output.js';

/** A subcommand's surroundings; injectable so tests run the command in process. */
export interface CliContext extends Output {
  /** Environment the store configuration is read from (`KEYWARD_DATA_DIR`, …). */
  readonly env: NodeJS.ProcessEnv;
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
 * Opens the store from the environment (which also migrates it), runs `fn`, and closes the store
 * whatever happens, so that no pool or timer keeps the process alive. A store that cannot be
 * opened (unreachable database, keys that do not match it) is reported as `store_unavailable`
 * with the store's message, which says what to do.
 */
export async function withStore<T>(ctx: CliContext, fn: (store: Store) => Promise<T>): Promise<T> {
  let store: Store;
  try {
    store = await openStore(storeConfigFromEnv(ctx.env));
  } catch (error) {
    return abort(ctx, { code: 'store_unavailable', detail: messageOf(error) });
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
