/**
 * `keyward backup FILE` and `keyward restore FILE`: a consistent copy of the SQLite store, taken
 * while the server runs, and its way back.
 *
 * The copy is made with SQLite's online backup API (better-sqlite3's `db.backup()`), which reads
 * a consistent snapshot page by page and starts over if another connection writes meanwhile, so
 * the server need not stop. The master key and the pepper are not in the database (that is the
 * point of them: a stolen database yields no usable secret), so a database backup alone cannot
 * be restored into a working store. Both commands say where the keys are; `backup --with-keys`
 * writes them to a second file (mode 0600) to be stored apart from the database copy, and
 * `restore --keys` reads it back. A restore opens the copy as a store with the keys it will run
 * with before it touches the live database, so mismatched keys are refused by the store's own
 * keyring check, and it replaces an existing database only with `--force`.
 *
 * PostgreSQL stores are backed up with `pg_dump` and restored with `pg_restore`; both commands
 * say so rather than half do it.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Command } from 'commander';
import type { KeywardConfig } from '../config/index.js';
import { openDatabase } from '../store/database.js';
import { openStore } from '../store/index.js';
import { checkKeyring, ensureDataDir, hasKeyringCheck, type Keyring, loadKeyring } from '../store/keyring.js';
import { type CliContext, cliConfig, messageOf } from './context.js';
import { abort, formatFields, writeJson } from './output.js';

const DATABASE_FILE = 'keyward.db';
const MASTER_KEY_FILE = 'master.key';
const PEPPER_FILE = 'pepper.key';
/** What a keys file written by `backup --with-keys` says it is. */
const KEYS_FILE_KIND = 'keyward-keyring';

/** The keys file `backup --with-keys` writes beside a backup. */
export function keysFileOf(backupFile: string): string {
  return `${backupFile}.keys.json`;
}

/** The commands PostgreSQL stores use instead, for the message both commands give. */
export const PG_DUMP_HINT =
  'back it up with pg_dump --format=custom --file=keyward.dump "$KEYWARD_DATABASE_URL" and restore it with ' +
  'pg_restore --clean --if-exists --no-owner --dbname="$KEYWARD_DATABASE_URL" keyward.dump. ' +
  'The master key and the pepper are not in the database: keep KEYWARD_MASTER_KEY and KEYWARD_PEPPER in your secret manager';

/** Where one key comes from: the environment (or configuration file) or a file in the data directory. */
function keySource(config: KeywardConfig, value: string | undefined, file: string, variable: string): string {
  return (value ?? '') !== '' ? `${variable} (environment or configuration file)` : resolve(config.dataDir, file);
}

/** The keyring the configuration names, or why it cannot be read. */
function configKeyring(config: KeywardConfig): { keyring?: Keyring; problem?: string } {
  try {
    return {
      keyring: loadKeyring({
        dataDir: config.dataDir,
        masterKey: config.masterKey,
        pepper: config.pepper,
        allowGenerate: false,
      }),
    };
  } catch (error) {
    return { problem: messageOf(error) };
  }
}

/** A path beside `path` for a file being written, renamed into place once complete. */
function partialPath(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
}

/** Refuses a file that is there, unless `force`. */
function refuseExisting(ctx: CliContext, path: string, force: boolean): void {
  if (!force && existsSync(path)) {
    abort(ctx, { code: 'invalid_input', detail: `${path} already exists; choose another file or pass --force` });
  }
}

/** Copies the SQLite database at `from` to `to` with the online backup API; `to` is created 0600. */
async function copyDatabase(from: string, to: string): Promise<void> {
  // Owner-only before SQLite writes a page into it, like the store's own database file.
  closeSync(openSync(to, 'w', 0o600));
  const source = new BetterSqlite3(from, { readonly: true, fileMustExist: true });
  try {
    await source.backup(to);
  } finally {
    source.close();
  }
}

interface BackupOptions {
  readonly withKeys?: boolean;
  readonly force?: boolean;
}

async function backup(ctx: CliContext, file: string, options: BackupOptions): Promise<void> {
  const config = cliConfig(ctx);
  if ((config.databaseUrl ?? '') !== '') {
    abort(ctx, {
      code: 'invalid_input',
      detail: `keyward backup copies the SQLite store; this configuration uses PostgreSQL (KEYWARD_DATABASE_URL): ${PG_DUMP_HINT}`,
    });
  }
  const database = resolve(config.dataDir, DATABASE_FILE);
  if (!existsSync(database)) {
    abort(ctx, { code: 'store_unavailable', detail: `no Keyward database at ${database}` });
  }
  const target = resolve(ctx.cwd, file);
  const keysFile = keysFileOf(target);
  refuseExisting(ctx, target, options.force === true);
  if (options.withKeys === true) refuseExisting(ctx, keysFile, options.force === true);
  mkdirSync(dirname(target), { recursive: true });

  const partial = partialPath(target);
  try {
    try {
      await copyDatabase(database, partial);
    } catch (error) {
      abort(ctx, { code: 'store_unavailable', detail: `could not copy ${database}: ${messageOf(error)}` });
    }
    // The copy, not the live file, is what the keys must open: that is what a restore will get.
    const { keyring, problem } = configKeyring(config);
    let keysOpen = false;
    let keysProblem = problem;
    if (keyring !== undefined) {
      const copy = openDatabase({ sqlitePath: partial });
      try {
        if (!(await hasKeyringCheck(copy.db))) keysProblem = 'the database holds no secrets yet';
        else {
          await checkKeyring(copy.db, keyring);
          keysOpen = true;
        }
      } catch (error) {
        keysProblem = messageOf(error);
      } finally {
        await copy.close();
      }
    }
    if (options.withKeys === true && !keysOpen) {
      abort(ctx, {
        code: 'store_unavailable',
        detail: `--with-keys: the configured keys do not open this database (${keysProblem}); no backup written`,
      });
    }
    renameSync(partial, target);
    if (options.withKeys === true && keyring !== undefined) {
      const keys = {
        kind: KEYS_FILE_KIND,
        masterKey: Buffer.from(keyring.current.key).toString('base64url'),
        pepper: Buffer.from(keyring.pepper).toString('base64url'),
      };
      const partialKeys = partialPath(keysFile);
      writeFileSync(partialKeys, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flush: true });
      renameSync(partialKeys, keysFile);
    }

    const masterKey = keySource(config, config.masterKey, MASTER_KEY_FILE, 'KEYWARD_MASTER_KEY');
    const pepper = keySource(config, config.pepper, PEPPER_FILE, 'KEYWARD_PEPPER');
    const bytes = statSync(target).size;
    if (ctx.json()) {
      writeJson(ctx, {
        file: target,
        bytes,
        database,
        keys: {
          masterKey,
          pepper,
          inBackup: false,
          keysFile: options.withKeys === true ? keysFile : null,
          open: keysOpen,
        },
      });
    } else {
      ctx.out(
        formatFields([
          ['backup', `${target} (${bytes} bytes, a consistent copy of ${database})`],
          ['master key', masterKey],
          ['pepper', pepper],
          options.withKeys === true
            ? ['keys', `written to ${keysFile} (mode 0600): keep it apart from the database backup`]
            : [
                'keys',
                'NOT in the backup: back up the master key and the pepper separately (or use --with-keys); without them the backup cannot be restored',
              ],
        ]),
      );
    }
    if (!keysOpen) {
      ctx.err(`warning: the configured keys could not be checked against this backup: ${keysProblem}\n`);
    }
  } finally {
    rmSync(partial, { force: true });
  }
}

/** The two keys of a keys file written by `backup --with-keys`. */
function readKeysFile(ctx: CliContext, path: string): { masterKey: string; pepper: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return abort(ctx, { code: 'invalid_input', detail: `--keys: cannot read ${path}: ${messageOf(error)}` });
  }
  const keys = parsed as { kind?: unknown; masterKey?: unknown; pepper?: unknown };
  if (keys?.kind !== KEYS_FILE_KIND || typeof keys.masterKey !== 'string' || typeof keys.pepper !== 'string') {
    return abort(ctx, {
      code: 'invalid_input',
      detail: `--keys: ${path} is not a keys file written by keyward backup --with-keys`,
    });
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    return abort(ctx, {
      code: 'invalid_input',
      detail: `--keys: ${path} is readable by other users; run: chmod 600 ${path}`,
    });
  }
  return { masterKey: keys.masterKey, pepper: keys.pepper };
}

interface RestoreOptions {
  readonly keys?: string;
  readonly force?: boolean;
}

/** The same 32 bytes, however they were written (hex, base64url, base64). */
function sameKey(a: string, b: string): boolean {
  const load = (masterKey: string) => loadKeyring({ dataDir: '', masterKey, pepper: masterKey, allowGenerate: false });
  try {
    return Buffer.from(load(a).current.key).equals(Buffer.from(load(b).current.key));
  } catch {
    return false; // one of them is not a key at all; the store's check says which
  }
}

async function restore(ctx: CliContext, file: string, options: RestoreOptions): Promise<void> {
  const config = cliConfig(ctx);
  if ((config.databaseUrl ?? '') !== '') {
    abort(ctx, {
      code: 'invalid_input',
      detail: `keyward restore restores the SQLite store; this configuration uses PostgreSQL (KEYWARD_DATABASE_URL): ${PG_DUMP_HINT}`,
    });
  }
  const source = resolve(ctx.cwd, file);
  if (!existsSync(source)) abort(ctx, { code: 'invalid_input', detail: `no backup at ${source}` });
  const dataDir = resolve(config.dataDir);
  const database = join(dataDir, DATABASE_FILE);
  const force = options.force === true;
  if (existsSync(database) && !force) {
    abort(ctx, {
      code: 'invalid_state',
      detail: `a database is already at ${database}, perhaps in use by a running server; stop every server on this store and pass --force to replace it`,
    });
  }

  // The keys the restored store will run with: the environment's (or configuration file's) when
  // set, else the keys file given, else the key files already in the data directory.
  const fromFile = options.keys === undefined ? undefined : readKeysFile(ctx, resolve(ctx.cwd, options.keys));
  const keyValue = (configured: string | undefined, given: string | undefined, variable: string) => {
    if ((configured ?? '') === '') return given;
    if (given !== undefined && !sameKey(configured as string, given)) {
      abort(ctx, {
        code: 'invalid_input',
        detail: `${variable} is set and differs from the key in ${options.keys}; unset it, or set it to the key in that file`,
      });
    }
    return configured;
  };
  const masterKey = keyValue(config.masterKey, fromFile?.masterKey, 'KEYWARD_MASTER_KEY');
  const pepper = keyValue(config.pepper, fromFile?.pepper, 'KEYWARD_PEPPER');
  // Key files a --keys restore writes into the data directory, refused where others are there.
  const keyFiles: [string, string][] = [];
  for (const [value, name, configured] of [
    [fromFile?.masterKey, MASTER_KEY_FILE, config.masterKey],
    [fromFile?.pepper, PEPPER_FILE, config.pepper],
  ] as const) {
    if (value === undefined || (configured ?? '') !== '') continue;
    const path = join(dataDir, name);
    if (existsSync(path) && !force && !sameKey(readFileSync(path, 'utf8'), value)) {
      abort(ctx, {
        code: 'invalid_state',
        detail: `${path} holds another key than ${options.keys}; pass --force to replace it (the current database is then unreadable)`,
      });
    }
    keyFiles.push([path, value]);
  }

  ensureDataDir(dataDir);
  // A staging store inside the data directory: the backup copied there, opened as the server
  // would open it (migrations, then the keyring check that refuses keys not made for it).
  const staging = join(dataDir, `.restore-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging, { mode: 0o700 });
  try {
    try {
      await copyDatabase(source, join(staging, DATABASE_FILE));
    } catch (error) {
      abort(ctx, { code: 'invalid_input', detail: `${source} is not a SQLite database: ${messageOf(error)}` });
    }
    // Key files named by the configuration (not values) are read from the real data directory.
    const stagingKeys = {
      masterKey: masterKey ?? readKeyText(ctx, join(dataDir, MASTER_KEY_FILE)),
      pepper: pepper ?? readKeyText(ctx, join(dataDir, PEPPER_FILE)),
    };
    let counts: { accounts: number; keys: number };
    try {
      const copy = openDatabase({ sqlitePath: join(staging, DATABASE_FILE) });
      let keyward: boolean;
      try {
        keyward = await hasKeyringCheck(copy.db);
      } catch {
        keyward = false;
      } finally {
        await copy.close();
      }
      if (!keyward) abort(ctx, { code: 'invalid_input', detail: `${source} is not a Keyward backup` });
      const store = await openStore({ dataDir: staging, ...stagingKeys, create: false, usageFlushMs: 0 });
      await store.close();
      const sqlite = new BetterSqlite3(join(staging, DATABASE_FILE), { readonly: true });
      try {
        counts = sqlite
          .prepare('SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM api_keys) AS keys')
          .get() as { accounts: number; keys: number };
      } finally {
        sqlite.close();
      }
    } catch (error) {
      if (isAbort(error)) throw error;
      return abort(ctx, {
        code: 'store_unavailable',
        detail: `the backup was not restored: ${messageOf(error)}`,
      });
    }

    // Into place. Through the backup API, so a server that was left running sees the whole new
    // database rather than keep writing to a file unlinked under it.
    if (!existsSync(database)) closeSync(openSync(database, 'w', 0o600));
    const restored = new BetterSqlite3(join(staging, DATABASE_FILE), { readonly: true });
    try {
      await restored.backup(database);
    } finally {
      restored.close();
    }
    for (const [path, value] of keyFiles) {
      const partial = partialPath(path);
      writeFileSync(partial, `${value}\n`, { mode: 0o600, flush: true });
      renameSync(partial, path);
    }

    const result = { file: source, database, accounts: counts.accounts, keys: counts.keys };
    if (ctx.json()) writeJson(ctx, { ...result, keyFilesWritten: keyFiles.map(([path]) => path) });
    else {
      ctx.out(
        formatFields([
          ['restored', `${source} into ${database}`],
          ['accounts', String(counts.accounts)],
          ['keys', String(counts.keys)],
          ['keyring', 'the master key and pepper open the restored secrets'],
          ...keyFiles.map(([path]) => ['written', path] as const),
        ]),
      );
      ctx.out('Start (or restart) every server on this store now.\n');
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** A key file's text, or the command stops saying how to give the key. */
function readKeyText(ctx: CliContext, path: string): string {
  if (!existsSync(path)) {
    return abort(ctx, {
      code: 'store_unavailable',
      detail: `${path} is missing: the backup's secrets need the master key and pepper they were made with. Give the keys file of keyward backup --with-keys with --keys, restore ${MASTER_KEY_FILE} and ${PEPPER_FILE} into ${dirname(path)}, or set KEYWARD_MASTER_KEY and KEYWARD_PEPPER`,
    });
  }
  return readFileSync(path, 'utf8');
}

/** Whether `error` is the CommanderError `abort` throws (already reported). */
function isAbort(error: unknown): boolean {
  return (
    typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('keyward.')
  );
}

/** Registers `backup` and `restore` on the program. */
export function registerBackup(program: Command, ctx: CliContext): void {
  program
    .command('backup')
    .description('copy the SQLite store to FILE while the server runs (the master key and pepper are not in it)')
    .argument('<file>', 'the backup file to write')
    .option('--with-keys', 'also write the master key and pepper to FILE.keys.json (mode 0600), to keep apart')
    .option('--force', 'replace FILE (and FILE.keys.json) if it exists')
    .action((file: string, options: BackupOptions) => backup(ctx, file, options));
  program
    .command('restore')
    .description('replace the SQLite store with a backup, after checking the keys open it')
    .argument('<file>', 'a backup written by keyward backup')
    .option('--keys <file>', 'the keys file written by keyward backup --with-keys')
    .option('--force', 'replace an existing database (stop every server on it first)')
    .action((file: string, options: RestoreOptions) => restore(ctx, file, options));
}
