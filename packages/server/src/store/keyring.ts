/**
 * The data directory and the two secrets that live outside the database: the master key that
 * seals secrets (AES-256-GCM) and the pepper that keys the secret hashes. Lose the database
 * file to an attacker and they hold neither.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hashSecret, type MasterKey, openSecret, sealSecret } from '@keyward/core';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.keyward';
const MASTER_KEY_FILE = 'master.key';
const PEPPER_FILE = 'pepper.key';
const KEY_BYTES = 32;

/** The secrets a store needs. */
export interface Keyring {
  /** Seals new secrets. */
  readonly current: MasterKey;
  /** Opens sealed secrets; more than one during a master key rotation. */
  readonly masterKeys: readonly MasterKey[];
  /** Keys the secret hashes. */
  readonly pepper: Uint8Array;
}

/** Thrown when the keys given do not match the database: Keyward refuses to start. */
export class KeyringMismatchError extends Error {
  override readonly name = 'KeyringMismatchError';
}

/**
 * Creates the data directory with mode 0700 if it does not exist. An existing directory is left
 * as it is (its owner chose its mode), but key files in it must not be readable by others.
 */
export function ensureDataDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  else if (!statSync(dir).isDirectory()) throw new Error(`data directory ${dir} is not a directory`);
}

/**
 * Thrown by `openStore({ create: false })` when the store is not where it was looked for: a
 * command pointed at the wrong place must not make a new, empty store with new keys there.
 */
export class StoreNotFoundError extends Error {
  override readonly name = 'StoreNotFoundError';

  /**
   * @param dataDir - the data directory looked in, as an absolute path
   * @param missing - the absolute paths that do not exist (the directory, the database, key files)
   */
  constructor(
    readonly dataDir: string,
    readonly missing: readonly string[],
  ) {
    super(
      missing.length === 1 && missing[0] === dataDir
        ? `no Keyward store at ${dataDir}: the directory does not exist`
        : `no Keyward store at ${dataDir}: ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist`,
    );
  }
}

/**
 * The key files a keyring would be read from that do not exist, as absolute paths. A key given
 * as a value (`KEYWARD_MASTER_KEY`, `KEYWARD_PEPPER`) needs no file.
 */
export function missingKeyFiles(source: Omit<KeyringSource, 'allowGenerate'>): string[] {
  const wanted: [string | undefined, string][] = [
    [source.masterKey, MASTER_KEY_FILE],
    [source.pepper, PEPPER_FILE],
  ];
  return wanted
    .filter(([value, file]) => (value ?? '') === '' && !existsSync(join(source.dataDir, file)))
    .map(([, file]) => resolve(source.dataDir, file));
}

/** Decodes 32 key bytes written as hex, base64url or base64. */
function decodeKey(text: string, what: string): Uint8Array {
  const t = text.trim();
  if (/^[0-9a-f]{64}$/i.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9_-]{43}=?$/.test(t)) return Buffer.from(t, 'base64url');
  if (/^[A-Za-z0-9+/]{43}=$/.test(t)) return Buffer.from(t, 'base64');
  throw new KeyringMismatchError(`${what} must be ${KEY_BYTES} bytes written as hex, base64url or base64`);
}

/**
 * Writes a new key file atomically and exclusively: a temporary file, fsynced, hard-linked into
 * place (which fails if another process got there first, in which case its key is used).
 */
function createKeyFile(path: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${Buffer.from(randomBytes(KEY_BYTES)).toString('base64url')}\n`, { mode: 0o600, flush: true });
  try {
    linkSync(tmp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(tmp);
  }
}

function readKeyFile(path: string, what: string): Uint8Array {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KeyringMismatchError(
      `${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
    );
  }
  return decodeKey(readFileSync(path, 'utf8'), what);
}

/** Where the keys come from. */
export interface KeyringSource {
  /** The data directory holding `master.key` and `pepper.key`. */
  readonly dataDir: string;
  /** `KEYWARD_MASTER_KEY`: 32 bytes as base64url or hex; overrides the file. */
  readonly masterKey?: string | undefined;
  /** `KEYWARD_PEPPER`: 32 bytes as base64url or hex; overrides the file. */
  readonly pepper?: string | undefined;
  /** Whether missing key files may be generated (only for a database that holds no secrets). */
  readonly allowGenerate: boolean;
}

function loadOne(source: KeyringSource, fromEnv: string | undefined, file: string, what: string): Uint8Array {
  if (fromEnv !== undefined && fromEnv !== '') return decodeKey(fromEnv, what);
  const path = join(source.dataDir, file);
  if (!existsSync(path)) {
    if (!source.allowGenerate) {
      throw new KeyringMismatchError(
        `${path} is missing but the database already holds secrets sealed with it; restore the file or set the environment variable. Keyward never generates a new key over existing data.`,
      );
    }
    ensureDataDir(source.dataDir);
    createKeyFile(path);
  }
  // A file we created is 0600; chmod anyway in case umask or a copy loosened it before first use.
  if (source.allowGenerate) chmodSync(path, 0o600);
  return readKeyFile(path, what);
}

/** Loads (or, for a fresh database, generates) the master key and the pepper. */
export function loadKeyring(source: KeyringSource): Keyring {
  const key = loadOne(source, source.masterKey, MASTER_KEY_FILE, 'KEYWARD_MASTER_KEY');
  const pepper = loadOne(source, source.pepper, PEPPER_FILE, 'KEYWARD_PEPPER');
  const current: MasterKey = { version: 1, key };
  return { current, masterKeys: [current], pepper };
}

const CHECK_NAME = 'keyring_check';
const CHECK_CONTEXT = 'keyward:keyring-check';

/** Whether the database already carries a keyring check (and so, possibly, secrets). */
export async function hasKeyringCheck(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('keyward_meta').select('name').where('name', '=', CHECK_NAME).executeTakeFirst();
  return row !== undefined;
}

/**
 * Proves the keyring is the one this database was created with, or records it on first use.
 * A sealed known value must open under the master key and a known hash must match the pepper;
 * otherwise throws {@link KeyringMismatchError} with a message that says what to do.
 */
export async function checkKeyring(db: Kysely<Database>, keyring: Keyring): Promise<void> {
  const row = await db.selectFrom('keyward_meta').select('value').where('name', '=', CHECK_NAME).executeTakeFirst();
  if (row === undefined) {
    const value = JSON.stringify({
      sealed: sealSecret(CHECK_CONTEXT, keyring.current, CHECK_CONTEXT),
      pepper: hashSecret(keyring.pepper, CHECK_CONTEXT),
    });
    await db
      .insertInto('keyward_meta')
      .values({ name: CHECK_NAME, value })
      .onConflict((c) => c.doNothing())
      .execute();
    // Another instance may have won the race with different keys: check what is stored now.
    return checkKeyring(db, keyring);
  }
  const stored = JSON.parse(row.value) as { sealed: string; pepper: string };
  const opened = openSecret(stored.sealed, keyring.masterKeys, CHECK_CONTEXT);
  if (!opened.ok || opened.value !== CHECK_CONTEXT) {
    throw new KeyringMismatchError(
      'The master key does not open the secrets in this database. Set KEYWARD_MASTER_KEY (or restore master.key in the data directory) to the key this database was created with. Keyward never generates a new key over existing data.',
    );
  }
  if (stored.pepper !== hashSecret(keyring.pepper, CHECK_CONTEXT)) {
    throw new KeyringMismatchError(
      'The pepper does not match this database. Set KEYWARD_PEPPER (or restore pepper.key in the data directory) to the one this database was created with.',
    );
  }
}
