/**
 * First start: a server with no admin account creates one, with a generated password and an
 * admin API key, and hands both back to be shown once. `keyward admin create` does the same on
 * demand (another admin, or a lost password).
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';
import { type Result, succeed } from '@keyward/core';
import type { Account, Actor, IssuedKey, Store } from '../store/index.js';
import { ADMIN_SCOPE } from './context.js';

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
 * making one).
 */
export async function createAdmin(
  store: Store,
  input: { email: string; password?: string | undefined },
  actor: Actor,
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
    },
  );
  if (!created.ok) return created;
  // Always set by then (the account's transaction ran the hook); the check tells TypeScript.
  if (key === undefined) throw new Error('the admin key was not created');
  return succeed({ account: created.value, password, key });
}

/**
 * On a store without any admin account, creates one. Resolves to the new admin, or undefined
 * when there already was one (also when another instance starting at the same moment made it).
 */
export async function ensureAdmin(store: Store, email: string = DEFAULT_ADMIN_EMAIL): Promise<NewAdmin | undefined> {
  const existing = await store.context.db
    .selectFrom('accounts')
    .select('id')
    .where('role', '=', 'admin')
    .limit(1)
    .executeTakeFirst();
  if (existing !== undefined) return undefined;
  const made = await createAdmin(store, { email }, { type: 'system' });
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
