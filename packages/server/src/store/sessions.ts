/**
 * Sessions: issued at login, bound to the account and the client address they were issued to,
 * with an idle and an absolute expiry. A signed session also has a session secret (sealed at
 * rest) with which the client signs every request as OAuth 1.0a (`oauth_token` = the session
 * token, token secret = the session secret).
 *
 * @packageDocumentation
 */

import {
  constantTimeEqual,
  fail,
  generateSessionSecret,
  generateToken,
  hashSecret,
  identify,
  openSecret,
  type Result,
  sealSecret,
  succeed,
} from '@keyward/core';
import { DEFAULT_SESSION_IDLE_MS, UNMATCHABLE } from '../verify/ports.js';
import type { AuditLog } from './audit.js';
import { type Actor, deleteInBatches, endRow, PURGE_BATCH, type StoreContext } from './context.js';

export { DEFAULT_SESSION_IDLE_MS } from '../verify/ports.js';
/** Default absolute lifetime: 12 hours. */
export const DEFAULT_SESSION_ABSOLUTE_MS = 12 * 60 * 60 * 1000;
// Sliding the idle expiry writes to the database; at most once a minute per session.
const TOUCH_EVERY_MS = 60 * 1000;

/** A session as the verifier sees it (never its token or secret). */
export interface Session {
  readonly id: string;
  readonly accountId: string;
  readonly clientIp: string;
  readonly signed: boolean;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly idleExpiresAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
}

/** A new session: the strings shown once to the client. */
export interface IssuedSession {
  readonly session: Session;
  /** `kw_st_…`. */
  readonly token: string;
  /** `kw_ss_…`, for a signed session. */
  readonly secret?: string;
}

interface SessionRow {
  id: string;
  account_id: string;
  token_hash: string;
  client_ip: string;
  sealed_secret: string | null;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** A session row as the verifier and listings see it: never its token hash or sealed secret. */
export function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    accountId: row.account_id,
    clientIp: row.client_ip,
    signed: row.sealed_secret !== null,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    idleExpiresAt: row.idle_expires_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/** The session repository. */
export class Sessions {
  constructor(
    private readonly ctx: StoreContext,
    /** Where logins and logouts are recorded; without it (verifier tests) nothing is audited. */
    private readonly audit?: AuditLog | undefined,
  ) {}

  /**
   * Starts a session for an account from a client address. With an `actor`, the login is
   * audited in the same transaction (ASVS 4 §7.2.1: authentication decisions are logged).
   */
  async create(input: {
    accountId: string;
    clientIp: string;
    signed?: boolean;
    idleMs?: number;
    absoluteMs?: number;
    actor?: Actor | undefined;
  }): Promise<Result<IssuedSession, 'invalid_input'>> {
    const idleMs = input.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    const absoluteMs = input.absoluteMs ?? DEFAULT_SESSION_ABSOLUTE_MS;
    if (!(idleMs > 0 && absoluteMs >= idleMs))
      return fail('invalid_input', 'idle timeout must be positive and at most the absolute lifetime');
    const generated = generateToken('session_token', this.ctx.random);
    const secret = input.signed === true ? generateSessionSecret(this.ctx.random) : undefined;
    const now = this.ctx.clock.now();
    const row: SessionRow = {
      id: generated.id,
      account_id: input.accountId,
      token_hash: hashSecret(this.ctx.keyring.pepper, generated.secret),
      client_ip: input.clientIp,
      sealed_secret:
        secret === undefined
          ? null
          : sealSecret(secret, this.ctx.keyring.current, `session:${generated.id}`, this.ctx.random),
      created_at: now,
      last_seen_at: now,
      idle_expires_at: Math.min(now + idleMs, now + absoluteMs),
      expires_at: now + absoluteMs,
      revoked_at: null,
    };
    const { actor } = input;
    const audit = this.audit;
    if (actor === undefined || audit === undefined) await this.ctx.db.insertInto('sessions').values(row).execute();
    else {
      await this.ctx.db.transaction().execute(async (trx) => {
        await trx.insertInto('sessions').values(row).execute();
        await audit.record(trx, actor, {
          action: 'session.create',
          objectType: 'session',
          objectId: row.id,
          detail: { accountId: row.account_id, signed: secret !== undefined },
        });
      });
    }
    return succeed({ session: toSession(row), token: generated.token, ...(secret === undefined ? {} : { secret }) });
  }

  /** A session by its id (never its token or secret), live or not. */
  async get(sessionId: string): Promise<Session | undefined> {
    const row = await this.ctx.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
    return row === undefined ? undefined : toSession(row);
  }

  /** The live sessions of an account (not ended, not past either expiry), newest first. */
  async listLive(accountId: string): Promise<Session[]> {
    const now = this.ctx.clock.now();
    const rows = await this.ctx.db
      .selectFrom('sessions')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .where('idle_expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toSession);
  }

  /**
   * Ends every live session of an account but `keepSessionId` (the caller's own), audited;
   * resolves how many ended. "Log out my other devices" (ASVS 4 §3.3.4).
   */
  async revokeOthers(accountId: string, keepSessionId: string, actor: Actor): Promise<number> {
    const now = this.ctx.clock.now();
    return this.ctx.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('sessions')
        .set({ revoked_at: now })
        .where('account_id', '=', accountId)
        .where('id', '!=', keepSessionId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where('idle_expires_at', '>', now)
        .executeTakeFirst();
      const ended = Number(result.numUpdatedRows);
      await this.audit?.record(trx, actor, {
        action: 'session.revoke_others',
        objectType: 'account',
        objectId: accountId,
        detail: { kept: keepSessionId, ended },
      });
      return ended;
    });
  }

  /**
   * The session a token names, if its secret matches (constant time); undefined for an unknown
   * id or a wrong secret alike. Expiry, revocation and address are the caller's to check.
   */
  async find(token: string): Promise<{ session: Session; sealedSecret: string | null } | undefined> {
    const parts = identify(token);
    if (parts?.type !== 'session_token' || parts.id === undefined || parts.secret === undefined) return undefined;
    const presented = hashSecret(this.ctx.keyring.pepper, parts.secret);
    const row = await this.ctx.db.selectFrom('sessions').selectAll().where('id', '=', parts.id).executeTakeFirst();
    // An unknown id still costs the comparison (against a value that cannot match).
    const matched = constantTimeEqual(row?.token_hash ?? UNMATCHABLE, presented);
    if (row === undefined || !matched) return undefined;
    return { session: toSession(row), sealedSecret: row.sealed_secret };
  }

  /** The session secret (`kw_ss_…`) of a signed session. Throws if it does not open (wrong master key). */
  openSecret(sessionId: string, sealed: string): string {
    const opened = openSecret(sealed, this.ctx.keyring.masterKeys, `session:${sessionId}`);
    if (!opened.ok) throw new Error(`sealed secret of session ${sessionId} does not open: ${opened.code}`);
    return opened.value;
  }

  /** Slides the idle expiry (at most one write a minute per session, never past the absolute expiry). */
  async touch(session: Session, idleMs: number = DEFAULT_SESSION_IDLE_MS): Promise<void> {
    const now = this.ctx.clock.now();
    if (now - session.lastSeenAt < TOUCH_EVERY_MS) return;
    await this.ctx.db
      .updateTable('sessions')
      .set({ last_seen_at: now, idle_expires_at: Math.min(now + idleMs, session.expiresAt) })
      .where('id', '=', session.id)
      .execute();
  }

  /**
   * Deletes the sessions that ended before `before` (milliseconds): past their absolute or idle
   * expiry, or revoked, before then. `batchSize` rows a statement; resolves how many. A deleted
   * session verifies nowhere (its token names no row), as an ended one did not either.
   */
  purgeEnded(before: number, batchSize = PURGE_BATCH): Promise<number> {
    const { db } = this.ctx;
    return deleteInBatches(batchSize, async () => {
      const batch = db
        .selectFrom('sessions')
        .select('id')
        // The idle expiry never passes the absolute one (both writers clamp it), so it covers both.
        .where((eb) => eb.or([eb('idle_expires_at', '<', before), eb('revoked_at', '<', before)]))
        .limit(batchSize);
      return (await db.deleteFrom('sessions').where('id', 'in', batch).executeTakeFirst()).numDeletedRows;
    });
  }

  /**
   * Ends a session. Resolves false when it had already ended. With an `actor` (a logout, as
   * opposed to the verifier ending a session on a policy), the end is audited.
   */
  revoke(sessionId: string, actor?: Actor): Promise<boolean> {
    const entry = { action: 'session.revoke', objectType: 'session', objectId: sessionId };
    return endRow(this.ctx, 'sessions', sessionId, { audit: this.audit, actor, entry });
  }
}
