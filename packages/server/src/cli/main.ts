/**
 * The `keyward` command line. Local mode: every command works directly on the store the server
 * uses, found through the server's own configuration: `--config <file>`, else `KEYWARD_CONFIG`,
 * else `keyward.config.json` in the working directory, with the environment over it
 * (`KEYWARD_DATA_DIR`, `KEYWARD_DATABASE_URL`, …). Only `serve` (and `migrate --create`)
 * creates a store; the other commands refuse one that is not there.
 *
 * Exit codes: 0 success, 1 an expected failure (`error: <code>: <message>` on stderr, codes
 * from `ERROR_CODES`), 2 a usage error (unknown option, missing argument).
 *
 * @packageDocumentation
 */

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAccounts } from './accounts.js';
import { registerAudit } from './audit.js';
import { registerBackup } from './backup.js';
import type { CliContext } from './context.js';
import { registerGateway } from './gateway.js';
import { registerKeys } from './keys.js';
import { registerMigrate } from './migrate.js';
import { EXIT_USAGE, formatError, USAGE_CODE } from './output.js';
import { registerServe } from './serve.js';
import { registerSign } from './sign.js';
import { readAll } from './stdin.js';

/** The version of `@keyward/server`, read from its package.json. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** What the program reads besides its arguments; each defaults to the process's own. */
export interface CliInput {
  /** Reads standard input to its end (`accounts create --password-stdin`). */
  readonly readStdin?: (() => Promise<Uint8Array>) | undefined;
  /** Environment the configuration comes from. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Working directory the configuration file is looked for in. */
  readonly cwd?: string | undefined;
}

/**
 * Builds the `keyward` program. Output streams, standard input, the environment and the working
 * directory are injectable for tests. Usage errors throw a `CommanderError` with exit code 2;
 * expected failures (after writing the error line) one with exit code 1; help and version one
 * with exit code 0.
 */
export function createProgram(
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
  input: CliInput = {},
): Command {
  let json = false;
  let configFile: string | undefined;
  const ctx: CliContext = {
    out,
    err,
    json: () => json,
    env: input.env ?? process.env,
    cwd: input.cwd ?? process.cwd(),
    configFile: () => configFile,
    // process.stdin is touched only when a command reads it: creating it opens the handle.
    readStdin: input.readStdin ?? (() => readAll(process.stdin)),
  };
  const program = new Command('keyward')
    .description('Keyward: API keys, HTTP Basic, OAuth 2.0 client credentials, OAuth 1.0a and sessions for your API.')
    .version(VERSION, '-v, --version', 'print the version')
    // A program option is recognised after the subcommand too (`keyward keys list --json`), and
    // is parsed before any subcommand runs, so usage errors can be written as JSON as well.
    .option('--json', 'write exactly one JSON document to stdout (errors as JSON on stderr)')
    .option(
      '--config <file>',
      'the configuration file, as keyward serve reads it (default: KEYWARD_CONFIG, else keyward.config.json here)',
    )
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: out,
      writeErr: err,
      outputError: (text, write) => {
        if (!json) return write(text);
        write(formatError(USAGE_CODE, text.replace(/^error: /, '').trim(), true));
      },
    })
    // Commander exits 1 on a usage error; 2 keeps it apart from an expected failure (1).
    .exitOverride((error) => {
      if (error.exitCode === 1 && error.code.startsWith('commander.')) {
        throw new CommanderError(EXIT_USAGE, error.code, error.message);
      }
      throw error;
    });
  program.on('option:json', () => {
    json = true;
  });
  program.on('option:config', (file: string) => {
    configFile = file;
  });
  // Subcommands inherit the output and exit settings above, so they are added after them.
  registerMigrate(program, ctx);
  registerAccounts(program, ctx);
  registerKeys(program, ctx);
  registerServe(program, ctx);
  registerGateway(program, ctx);
  registerSign(program, ctx);
  registerAudit(program, ctx);
  registerBackup(program, ctx);
  return program;
}

/** The process's streams and environment, for {@link main}. */
export interface CliIo extends CliInput {
  readonly out?: ((text: string) => void) | undefined;
  readonly err?: ((text: string) => void) | undefined;
}

/**
 * Runs the command line and resolves to the process exit code. `argv` is `process.argv`
 * shape (node, script, …args). Without arguments it prints help and succeeds.
 */
export async function main(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const program = createProgram(io.out, io.err, io);
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}
