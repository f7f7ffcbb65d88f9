/**
 * Accounts: people or organisations registered on the provider's Keyward, with an email
 * (normalized, unique), an argon2id password hash, a role and a status. Disabling an account
 * disables its keys and ends its tokens and sessions in the same transaction.
 *
 * @packageDocumentation
 */

import { type Failure, fail, type Result, succeed } from '@keyward/core';
import { z } from 'zod';
import type { AuditLog } from './audit.js';
import type { Actor, Executor, StoreContext } from './context.js';
import { isUniqueViolation, newId } from './context.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import type { AccountRow, AccountStatus, Role } from './schema.js';
import { revokeTokens } from './tokens.js';

/** An account as the API shows it: never the password hash. */
export interface Account {
  readonly id: string;
  readonly email: string;
  readonly displayName: string | null;
  readonly role: Role;
  readonly status: AccountStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What creating an account takes. */
export interface NewAccount {
  readonly email: string;
  readonly password: string;
  readonly displayName?: string | undefined;
  readonly role?: Role | undefined;
}

/** Longest email address, in characters (RFC 5321 §4.5.3.1.3 path limit less the brackets). */
export const EMAIL_MAX_LENGTH = 254;
/** Longest display name, in characters, once trimmed. */
export const DISPLAY_NAME_MAX_LENGTH = 100;
const EMAIL = z.email().max(EMAIL_MAX_LENGTH);
const DISPLAY_NAME = z.string().trim().min(1).max(DISPLAY_NAME_MAX_LENGTH);

/** Normalizes an email address for storage and lookup: trimmed, NFC, lower-case. */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

// Verified against when an email is unknown, so that an unknown email costs the same time as a
// wrong password (no account enumeration by timing). Computed once, lazily.
let dummyHash: Promise<string> | undefined;

/** The account repository. */
export class Accounts {
  constructor(
    private readonly ctx: StoreContext,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Creates an account. Fails with `invalid_input` (bad email or display name),
   * `password_rejected` or `email_taken`; nothing is written on failure.
   *
   * @param alsoInTransaction - more writes for the new account (its first key, say), run in the
   *   account's own transaction: if they throw, the account is not created either and the error
   *   is rethrown.
   */
  async create(
    input: NewAccount,
    actor: Actor,
    alsoInTransaction?: (trx: Executor, account: Account) => Promise<void>,
  ): Promise<Result<Account, 'invalid_input' | 'password_rejected' | 'email_taken'>> {
    const email = normalizeEmail(input.email);
    if (!EMAIL.safeParse(email).success) return fail('invalid_input', 'email is not a valid address');
    let displayName: string | null = null;
    if (input.displayName !== undefined) {
      const parsed = DISPLAY_NAME.safeParse(input.displayName);
      if (!parsed.success) return fail('invalid_input', `display name must be 1-${DISPLAY_NAME_MAX_LENGTH} characters`);
      displayName = parsed.data;
    }
    const problem = passwordProblem(input.password);
    if (problem !== undefined) return fail('password_rejected', `password ${problem}`);
    const role = input.role ?? 'member';
    if (role !== 'admin' && role !== 'member') return fail('invalid_input', 'role must be admin or member');

    const passwordHash = await hashPassword(input.password);
    const now = this.ctx.clock.now();
    const row: AccountRow = {
      id: newId('acc', this.ctx),
      email,
      password_hash: passwordHash,
      display_name: displayName,
      role,
      status: 'active',
      created_at: now,
      updated_at: now,
    };
    const account = toAccount(row);
    try {
      await this.ctx.db.transaction().execute(async (trx) => {
        await trx.insertInto('accounts').values(row).execute();
        await this.audit.record(trx, actor, {
          action: 'account.create',
          objectType: 'account',
          objectId: row.id,
          detail: { email, role },
        });
        if (alsoInTransaction !== undefined) await alsoInTransaction(trx, account);
      });
    } catch (error) {
      if (isUniqueViolation(error)) return fail('email_taken');
      throw error;
    }
    return succeed(account);
  }

  /** Finds an account by id or by email address. */
  async find(idOrEmail: string): Promise<Account | undefined> {
    const row = await this.ctx.db
      .selectFrom('accounts')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrEmail), eb('email', '=', normalizeEmail(idOrEmail))]))
      .executeTakeFirst();
    return row === undefined ? undefined : toAccount(row);
  }

  /**
   * Accounts, oldest first; `search` matches a part of the email address. Pages: pass the `id`
   * of the last account of a page as `after` for the next one.
   */
  async list(options: { search?: string; limit?: number; after?: string } = {}): Promise<Account[]> {
    let q = this.ctx.db.selectFrom('accounts').selectAll();
    if (options.search !== undefined && options.search !== '') {
      const pattern = `%${normalizeEmail(options.search).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where((eb) => eb('email', 'like', eb.val(pattern)));
    }
    if (options.after !== undefined) {
      const cursor = await this.ctx.db
        .selectFrom('accounts')
        .select(['created_at', 'id'])
        .where('id', '=', options.after)
        .executeTakeFirst();
      if (cursor !== undefined) {
        q = q.where((eb) =>
          eb.or([
            eb('created_at', '>', cursor.created_at),
            eb.and([eb('created_at', '=', cursor.created_at), eb('id', '>', cursor.id)]),
          ]),
        );
      }
    }
    const rows = await q
      .orderBy('created_at')
      .orderBy('id')
      .limit(Math.min(Math.max(options.limit ?? 100, 1), 1000))
      .execute();
    return rows.map(toAccount);
  }

  /**
   * Disables or enables an account. Disabling also disables its active keys and revokes its
   * live access tokens and sessions, all in one transaction; enabling brings back only the keys that
   * were disabled because of the account.
   */
  async setStatus(
    idOrEmail: string,
    status: AccountStatus,
    actor: Actor,
  ): Promise<Result<Account, 'account_not_found'>> {
    const account = await this.find(idOrEmail);
    if (account === undefined) return fail('account_not_found');
    const now = this.ctx.clock.now();
    await this.ctx.db.transaction().execute(async (trx) => {
      await trx.updateTable('accounts').set({ status, updated_at: now }).where('id', '=', account.id).execute();
      if (status === 'disabled') {
        await trx
          .updateTable('api_keys')
          .set({ status: 'disabled', disabled_reason: 'account', updated_at: now })
          .where('account_id', '=', account.id)
          .where('status', '=', 'active')
          .execute();
        await revokeTokens(trx, 'account_id', account.id, now);
        await trx
          .updateTable('sessions')
          .set({ revoked_at: now })
          .where('account_id', '=', account.id)
          .where('revoked_at', 'is', null)
          .execute();
      } else {
        await trx
          .updateTable('api_keys')
          .set({ status: 'active', disabled_reason: null, updated_at: now })
          .where('account_id', '=', account.id)
          .where('status', '=', 'disabled')
          .where('disabled_reason', '=', 'account')
          .execute();
      }
      await this.audit.record(trx, actor, {
        action: status === 'disabled' ? 'account.disable' : 'account.enable',
        objectType: 'account',
        objectId: account.id,
      });
    });
    await this.ctx.invalidations.publish({ kind: 'account', id: account.id });
    return succeed({ ...account, status, updatedAt: now });
  }

  /**
   * Changes an account's password after checking the current one (ASVS 4 §2.1.5), and in the
   * same transaction ends every other session of the account and revokes its access tokens
   * (ASVS 4 §3.3.3: a password change ends the other sessions), with an `account.password`
   * audit event. API keys are credentials of their own and stay. Fails with
   * `password_incorrect` (also when another change won the race), `password_rejected` or
   * `account_not_found` (gone or disabled); nothing is written on failure.
   */
  async changePassword(
    accountId: string,
    change: { readonly currentPassword: string; readonly newPassword: string; readonly keepSessionId?: string },
    actor: Actor,
  ): Promise<
    Result<
      { account: Account; sessionsEnded: number; tokensRevoked: number },
      'password_incorrect' | 'password_rejected' | 'account_not_found'
    >
  > {
    const row = await this.ctx.db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
    if (row === undefined || row.status !== 'active') return fail('account_not_found');
    if (!(await verifyPassword(row.password_hash, change.currentPassword))) return fail('password_incorrect');
    const problem = passwordProblem(change.newPassword);
    if (problem !== undefined) return fail('password_rejected', `password ${problem}`);
    const passwordHash = await hashPassword(change.newPassword);
    const now = this.ctx.clock.now();
    const outcome = await this.ctx.db.transaction().execute(async (trx) => {
      // Only if the hash is still the one verified above: of two changes racing with the same
      // current password, the second finds it changed and fails instead of overwriting.
      const updated = await trx
        .updateTable('accounts')
        .set({ password_hash: passwordHash, updated_at: now })
        .where('id', '=', row.id)
        .where('password_hash', '=', row.password_hash)
        .where('status', '=', 'active')
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return undefined;
      // Live sessions only, so that the count means something; expired ones are dead anyway.
      let sessions = trx
        .updateTable('sessions')
        .set({ revoked_at: now })
        .where('account_id', '=', row.id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where('idle_expires_at', '>', now);
      if (change.keepSessionId !== undefined) sessions = sessions.where('id', '!=', change.keepSessionId);
      const ended = await sessions.executeTakeFirst();
      const tokensRevoked = await revokeTokens(trx, 'account_id', row.id, now);
      const counts = { sessionsEnded: Number(ended.numUpdatedRows), tokensRevoked };
      await this.audit.record(trx, actor, {
        action: 'account.password',
        objectType: 'account',
        objectId: row.id,
        detail: counts,
      });
      return counts;
    });
    if (outcome === undefined) return fail('password_incorrect');
    // Cached access tokens of the account are dropped at once (sessions are read per request).
    await this.ctx.invalidations.publish({ kind: 'account', id: row.id });
    return succeed({ account: toAccount({ ...row, password_hash: passwordHash, updated_at: now }), ...outcome });
  }

  /**
   * Checks an email and password. Unknown email, wrong password and disabled account all fail
   * alike (`key_unknown`-style indistinguishability is the caller's to keep in its response);
   * an unknown email still costs one argon2id verification.
   */
  async authenticate(
    email: string,
    password: string,
  ): Promise<Result<Account, 'account_not_found' | 'account_disabled'>> {
    const row = await this.ctx.db
      .selectFrom('accounts')
      .selectAll()
      .where('email', '=', normalizeEmail(email))
      .executeTakeFirst();
    if (row === undefined) {
      dummyHash ??= hashPassword('keyward-dummy-password');
      await verifyPassword(await dummyHash, password);
      return fail('account_not_found');
    }
    if (!(await verifyPassword(row.password_hash, password))) return fail('account_not_found');
    if (row.status !== 'active') return fail('account_disabled') as Failure<'account_disabled'>;
    return succeed(toAccount(row));
  }

  /**
   * Deletes an account and everything it owns, in one transaction: its keys with their
   * secrets and hourly usage, its access tokens and its sessions. The audit trail stays (the
   * table is append-only) and gains an `account.delete` event with what was removed; ids in
   * older events then name an account that no longer exists. Caches are told once it committed,
   * so a credential of the account stops working at once. The email address is free again.
   * Whether the actor may delete this account (not itself) is the caller's to check.
   */
  async delete(
    idOrEmail: string,
    actor: Actor,
  ): Promise<
    Result<{ account: Account; removed: { keys: number; sessions: number; tokens: number } }, 'account_not_found'>
  > {
    const account = await this.find(idOrEmail);
    if (account === undefined) return fail('account_not_found');
    const outcome = await this.ctx.db.transaction().execute(async (trx) => {
      const keyIds = (await trx.selectFrom('api_keys').select('id').where('account_id', '=', account.id).execute()).map(
        (k) => k.id,
      );
      const ownKeys = trx.selectFrom('api_keys').select('id').where('account_id', '=', account.id);
      // Children first, explicitly: the foreign keys cascade too, but a table added later
      // without a cascade then fails the delete (and rolls it back) instead of orphaning rows.
      await trx.deleteFrom('usage_hourly').where('key_id', 'in', ownKeys).execute();
      await trx.deleteFrom('key_secrets').where('key_id', 'in', ownKeys).execute();
      const tokens = await trx
        .deleteFrom('access_tokens')
        .where((eb) => eb.or([eb('account_id', '=', account.id), eb('key_id', 'in', ownKeys)]))
        .executeTakeFirst();
      const sessions = await trx.deleteFrom('sessions').where('account_id', '=', account.id).executeTakeFirst();
      await trx.deleteFrom('api_keys').where('account_id', '=', account.id).execute();
      const gone = await trx.deleteFrom('accounts').where('id', '=', account.id).executeTakeFirst();
      // Deleted by someone else since it was read: nothing of it is left to remove.
      if (Number(gone.numDeletedRows) === 0) return undefined;
      const removed = {
        keys: keyIds.length,
        sessions: Number(sessions.numDeletedRows),
        tokens: Number(tokens.numDeletedRows),
      };
      await this.audit.record(trx, actor, {
        action: 'account.delete',
        objectType: 'account',
        objectId: account.id,
        detail: { email: account.email, role: account.role, ...removed },
      });
      return { keyIds, removed };
    });
    if (outcome === undefined) return fail('account_not_found');
    await this.ctx.invalidations.publish({ kind: 'account', id: account.id });
    for (const id of outcome.keyIds) await this.ctx.invalidations.publish({ kind: 'key', id });
    return succeed({ account, removed: outcome.removed });
  }
}
