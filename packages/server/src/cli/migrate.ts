/**
 * `keyward migrate`: brings the database schema up to date and says what ran.
 *
 * @packageDocumentation
 */

import type { Command } from 'commander';
import { type CliContext, withStore } from './context.js';
import { formatFields, writeJson } from './output.js';

/** Opens the store (which migrates and checks the keyring) and says which migrations ran now. */
function migrate(ctx: CliContext): Promise<{ engine: string; applied: string[] }> {
  return withStore(ctx, async (store) => ({ engine: store.engine, applied: [...store.migrated] }));
}

/** Registers `migrate` on the program. */
export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('bring the database schema up to date (KEYWARD_DATA_DIR or KEYWARD_DATABASE_URL)')
    .action(async () => {
      const result = await migrate(ctx);
      if (ctx.json()) return writeJson(ctx, result);
      if (result.applied.length === 0) ctx.out(`up to date (${result.engine})\n`);
      else ctx.out(formatFields(result.applied.map((name) => ['applied', name] as const)));
    });
}
