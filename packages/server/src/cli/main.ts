/**
 * The `keyward` command line. Commands arrive with the issues that build them; today it
 * answers `--version` and `--help`.
 *
 * @packageDocumentation
 */

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';

/** The version of `@keyward/server`, read from its package.json. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Builds the `keyward` program. Output streams are injectable for tests. */
export function createProgram(
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
): Command {
  const program = new Command('keyward')
    .description('Keyward: API keys, HTTP Basic, OAuth 2.0 client credentials, OAuth 1.0a and sessions for your API.')
    .version(VERSION, '-v, --version', 'print the version')
    .configureOutput({ writeOut: out, writeErr: err })
    .exitOverride();
  return program;
}

/**
 * Runs the command line and resolves to the process exit code. `argv` is `process.argv`
 * shape (node, script, …args).
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
    if (program.args.length === 0 && argv.length <= 2) program.outputHelp();
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}
