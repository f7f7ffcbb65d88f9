/**
 * `keyward migrate`: brings the database schema up to date and says what ran. With `--create`
 * it also makes a store that is not there yet (data directory, keys, database), as the first
 * start of `keyward serve` does; without it, it refuses one that is not there, like every
 * command but `serve`.
 *
 * @packageDocumentation
 */

import type { Command } from 'commander';
import { type CliContext, withStore } from './context.js';
import { formatFields, writeJson } from './output.js';

/** Opens the store (which migrates and checks the keyring) and says which migrations ran now. */
function migrate(ctx: CliContext, create: boolean): Promise<{ engine: string; applied: string[] }> {
  return withStore(ctx, async (store) => ({ engine: store.engine, applied: [...store.migrated] }), { create });
}

/** Registers `migrate` on the program. */
export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description("bring the database schema of the server's store up to date")
    .option('--create', 'make the store (data directory, keys, database) if it is not there yet, as serve does')
    .action(async (options: { create?: boolean }) => {
      const result = await migrate(ctx, options.create === true);
      if (ctx.json()) return writeJson(ctx, result);
      if (result.applied.length === 0) ctx.out(`up to date (${result.engine})\n`);
      else ctx.out(formatFields(result.applied.map((name) => ['applied', name] as const)));
    });
}
