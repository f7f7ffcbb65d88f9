/**
 * First start: a server with no admin account creates one, with a generated password and an
 * admin API key, and writes both to {@link FIRST_ADMIN_FILE} in the data directory (mode 0600),
 * never to standard output: a service's output is kept by journald or the container runtime,
 * between its log lines (CWE-532). `keyward admin create` does the same on demand (another
 * admin, or a lost password) and prints the credentials, which is what the command is run for.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Result, succeed } from '@keyward/core';
import type { Account, Actor, IssuedKey, Store } from '../store/index.js';
import { ensureDataDir } from '../store/keyring.js';
import { ADMIN_SCOPE } from './context.js';

/** The file, in the data directory, that holds the first admin's credentials until deleted. */
export const FIRST_ADMIN_FILE = 'first-admin.json';

/** The email of the admin account made on first start, unless `KEYWARD_ADMIN_EMAIL` says otherwise. */
export const DEFAULT_ADMIN_EMAIL = 'admin@keyward.local';

/** A new admin: the account, its password and an admin API key, each shown once. */
export interface NewAdmin {
  readonly account: Account;
  readonly password: string;
  readonly key: IssuedKey;
}

/** A generated password: 24 characters of base64url (144 bits). */
function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * Creates an admin account (generated password unless one is given) and a key with scope
 * `keyward:admin` for it, in one transaction: a crash or a failure between the two leaves no
 * admin whose password was never shown (which would also stop the next first start from
 * making one). `deliver`, when given, hands the credentials over inside that transaction: if
 * it throws, nothing is created and the error is thrown.
 */
export async function createAdmin(
  store: Store,
  input: { email: string; password?: string | undefined },
  actor: Actor,
  deliver?: (admin: NewAdmin) => void | Promise<void>,
): Promise<Result<NewAdmin, 'invalid_input' | 'password_rejected' | 'email_taken'>> {
  const password = input.password ?? generatePassword();
  let key: IssuedKey | undefined;
  const created = await store.accounts.create(
    { email: input.email, password, role: 'admin' },
    actor,
    async (trx, account) => {
      const made = await store.keys.create(account.id, { name: 'admin key', scopes: [ADMIN_SCOPE] }, actor, trx);
      // The account is active and the settings fixed: a failure here is a broken store.
      if (!made.ok) throw new Error(`cannot create the admin key: ${made.code}`);
      key = made.value;
      await deliver?.({ account, password, key: made.value });
    },
  );
  if (!created.ok) return created;
  // Always set by then (the account's transaction ran the hook); the check tells TypeScript.
  if (key === undefined) throw new Error('the admin key was not created');
  return succeed({ account: created.value, password, key });
}

/**
 * On a store without any admin account, creates one, handing its credentials to `deliver`
 * inside the transaction (see {@link createAdmin}). Resolves to the new admin, or undefined
 * when there already was one (also when another instance starting at the same moment made it).
 */
export async function ensureAdmin(
  store: Store,
  email: string = DEFAULT_ADMIN_EMAIL,
  deliver?: (admin: NewAdmin) => void | Promise<void>,
): Promise<NewAdmin | undefined> {
  const existing = await store.context.db
    .selectFrom('accounts')
    .select('id')
    .where('role', '=', 'admin')
    .limit(1)
    .executeTakeFirst();
  if (existing !== undefined) return undefined;
  const made = await createAdmin(store, { email }, { type: 'system' }, deliver);
  if (made.ok) return made.value;
  if (made.code === 'email_taken') return undefined;
  throw new Error(`cannot create the first admin account (${made.code}): ${made.detail ?? ''}`);
}

/** The lines that show a new admin's credentials, once. */
export function formatNewAdmin(admin: NewAdmin, publicUrl: string): string {
  return [
    '',
    'Keyward created an admin account. These credentials are shown once; keep them safe.',
    `  login:          ${admin.account.email}`,
    `  password:       ${admin.password}`,
    `  admin key id:   ${admin.key.id}`,
    `  admin secret:   ${admin.key.secret}`,
    `  admin token:    ${admin.key.token}`,
    '',
    'Try it:',
    `  curl -u '${admin.key.id}:${admin.key.secret}' ${publicUrl}/v1/whoami`,
    '',
  ].join('\n');
}

/** The credentials file could not be written; the admin was not created. */
export class FirstAdminFileError extends Error {
  override readonly name = 'FirstAdminFileError';

  constructor(
    /** The file that could not be written, as an absolute path. */
    readonly path: string,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`cannot write the first admin's credentials to ${path}: ${reason}`, options);
  }
}

/** Where the first admin's credentials are written: {@link FIRST_ADMIN_FILE} in the data directory. */
export function firstAdminPath(dataDir: string): string {
  return join(dataDir, FIRST_ADMIN_FILE);
}

/**
 * Writes a new admin's credentials to {@link firstAdminPath}, readable by the server's user only
 * (mode 0600, in a data directory made with mode 0700 if missing: a PostgreSQL deployment with
 * its keys in the environment may have none yet). The file is written aside and renamed into
 * place, so that it is never seen half-written; a stale one (a store wiped since) is replaced.
 * Returns the path; throws {@link FirstAdminFileError}.
 */
export function writeFirstAdminFile(dataDir: string, admin: NewAdmin, publicUrl: string): string {
  const path = firstAdminPath(dataDir);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const content = {
    note: 'Keyward created this admin on its first start. Keep the credentials in a password manager, then delete this file.',
    email: admin.account.email,
    password: admin.password,
    keyId: admin.key.id,
    secret: admin.key.secret,
    token: admin.key.token,
    tryIt: `curl -u '${admin.key.id}:${admin.key.secret}' ${publicUrl}/v1/whoami`,
  };
  try {
    ensureDataDir(dataDir);
    writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx', flush: true });
    // The mode given to open() is only applied to a new file; say it again in case of an odd umask.
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new FirstAdminFileError(path, { cause: error });
  }
  return path;
}

/** The lines that tell where a new admin's credentials are, and what to do with them; no secret. */
export function formatFirstAdminNotice(email: string, path: string): string {
  const quoted = `'${path.replaceAll("'", "'\\''")}'`;
  return [
    '',
    `Keyward created an admin account (${email}) and an admin API key. Their credentials are in`,
    `  ${path}`,
    '(mode 0600, readable by this user only), not in this output. Read them, keep them in a',
    'password manager, then delete the file:',
    `  cat ${quoted}`,
    `  rm ${quoted}`,
    '',
  ].join('\n');
}
