/**
 * Read-only listings across accounts for the admin API: sessions, access tokens and filtered
 * audit events, each paginated by a cursor. Nothing here writes; revocations go through the
 * {@link Sessions} and {@link AccessTokens} repositories, which own those rows.
 *
 * @packageDocumentation
 */

import { fail, formatKeywardString, type Result, succeed } from '@keyward/core';
import { type RawBuilder, type Selectable, type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import { type AuditEvent, toEvent } from './audit.js';
import type { StoreContext } from './context.js';
import type { AuditEventRow, Database, SessionsTable } from './schema.js';
import { type Session, toSession } from './sessions.js';

type SessionsRow = Selectable<SessionsTable>;

/** A session as an admin sees it: never its token hash or sealed secret. */
export interface SessionInfo extends Session {
  /** Usable now: not revoked and before both expiries. */
  readonly active: boolean;
}

/** An access token as an admin sees it: never its hash. */
export interface TokenInfo {
  readonly id: string;
  /** `kw_kid_…` of the key it was issued to. */
  readonly keyId: string;
  readonly accountId: string;
  readonly scopes: string[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
  /** Usable now: not revoked and not expired. */
  readonly active: boolean;
}

/** A page of a listing: `next` is the cursor of the following page, null on the last one. */
export interface Page<T> {
  readonly items: T[];
  readonly next: string | null;
}

/** Filters of {@link Listing.audit}: everything optional, combined with AND. */
export interface AuditFilter {
  /** Id of the account, key or CLI user that acted. */
  readonly actorId?: string | undefined;
  readonly actorType?: AuditEventRow['actor_type'] | undefined;
  /** Id of the object acted on (an account id, a `kw_kid_…`). */
  readonly objectId?: string | undefined;
  readonly objectType?: string | undefined;
  /** An exact action (`key.revoke`), or a family ending in `.*` (`key.*`). */
  readonly action?: string | undefined;
  /** Inclusive lower bound, milliseconds. */
  readonly from?: number | undefined;
  /** Exclusive upper bound, milliseconds. */
  readonly to?: number | undefined;
  /** Cursor: the `id` of the last event of the previous page (events come newest first). */
  readonly before?: string | undefined;
  readonly limit: number;
}

/**
 * A page from rows fetched with one row more than the page holds: that extra row only says
 * whether another page follows, and the last item gives the cursor.
 */
function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T, cursor: (item: T) => string): Page<T> {
  const items = rows.slice(0, limit).map(map);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last !== undefined ? cursor(last) : null };
}

/** Where a listing in (created_at, id) order resumes: after this row. */
interface RowCursor {
  readonly created_at: number;
  readonly id: string;
}

/**
 * The cursor after a session or token: its creation time (base 36) and its id. It carries the
 * whole position, so a page resumes with no lookup, even when that row was purged meanwhile.
 */
function rowCursor(item: { createdAt: number; id: string }): string {
  return `${item.createdAt.toString(36)}_${item.id}`;
}

const ROW_CURSOR = /^([0-9a-z]{1,11})_(.+)$/;

/** A cursor made by {@link rowCursor}, or a failure when `cursor` is not one. */
function parseRowCursor(cursor: string): Result<RowCursor, 'invalid_input'> {
  const m = ROW_CURSOR.exec(cursor);
  const createdAt = m === null ? Number.NaN : Number.parseInt(m[1] as string, 36);
  if (m === null || !Number.isSafeInteger(createdAt)) {
    return fail('invalid_input', 'after: not a cursor from this listing (pass `next` as it came)');
  }
  return succeed({ created_at: createdAt, id: m[2] as string });
}

/**
 * Rows older than the cursor row in (created_at, id) order, newest first: the row-value
 * comparison (SQLite ≥ 3.15 and PostgreSQL both have it) keeps rows of the same millisecond apart.
 */
function olderThan(cursor: RowCursor): RawBuilder<SqlBool> {
  return sql<SqlBool>`(created_at, id) < (${cursor.created_at}, ${cursor.id})`;
}

/**
 * A page of `q`'s rows newest first, in (created_at, id) order (the order {@link olderThan} pages
 * by), resuming after the cursor `after` when given; a failure when `after` is not a cursor.
 */
async function newestFirst<T extends keyof Database, R, I extends { createdAt: number; id: string }>(
  q: SelectQueryBuilder<Database, T, R>,
  page: { readonly limit: number; readonly after?: string | undefined },
  map: (row: R) => I,
): Promise<Result<Page<I>, 'invalid_input'>> {
  const { limit, after } = page;
  if (after !== undefined) {
    const cursor = parseRowCursor(after);
    if (!cursor.ok) return cursor;
    q = q.where(olderThan(cursor.value));
  }
  const rows = await q
    .orderBy(sql`created_at`, 'desc')
    .orderBy(sql`id`, 'desc')
    .limit(limit + 1)
    .execute();
  return succeed(toPage(rows, limit, map, rowCursor));
}

// LIKE metacharacters are escaped so that `key_*` matches the text `key_`, not any character.
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The admin listings, on the store's database. */
export class Listing {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Sessions of an account, newest first. `after` is the previous page's `next`; `active`
   * keeps only the sessions usable now.
   */
  async sessions(
    accountId: string,
    options: { limit: number; after?: string | undefined; active?: boolean | undefined },
  ): Promise<Result<Page<SessionInfo>, 'invalid_input'>> {
    const now = this.ctx.clock.now();
    let q = this.ctx.db.selectFrom('sessions').selectAll().where('account_id', '=', accountId);
    if (options.active === true) {
      q = q.where('revoked_at', 'is', null).where('expires_at', '>', now).where('idle_expires_at', '>', now);
    }
    return newestFirst(q, options, (row) => toSessionInfo(row, now));
  }

  /** One session by id, or undefined. */
  async session(id: string): Promise<SessionInfo | undefined> {
    const row = await this.ctx.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toSessionInfo(row, this.ctx.clock.now());
  }

  /**
   * Access tokens of an account or of a key (raw id), newest first. `after` is the previous
   * page's `next`.
   */
  async tokens(options: {
    accountId?: string | undefined;
    rawKeyId?: string | undefined;
    active?: boolean | undefined;
    limit: number;
    after?: string | undefined;
  }): Promise<Result<Page<TokenInfo>, 'invalid_input'>> {
    const now = this.ctx.clock.now();
    let q = this.ctx.db.selectFrom('access_tokens').selectAll();
    if (options.accountId !== undefined) q = q.where('account_id', '=', options.accountId);
    if (options.rawKeyId !== undefined) q = q.where('key_id', '=', options.rawKeyId);
    if (options.active === true) q = q.where('revoked_at', 'is', null).where('expires_at', '>', now);
    return newestFirst(q, options, (row) => toTokenInfo(row, now));
  }

  /** One access token by its raw id, or undefined. */
  async token(id: string): Promise<TokenInfo | undefined> {
    const row = await this.ctx.db.selectFrom('access_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toTokenInfo(row, this.ctx.clock.now());
  }

  /**
   * Audit events, newest first (by their time-ordered id), filtered. {@link AuditLog.list}
   * has no action or type filters; this is its admin-facing superset.
   */
  async audit(filter: AuditFilter): Promise<Page<AuditEvent>> {
    let q = this.ctx.db.selectFrom('audit_events').selectAll();
    if (filter.actorId !== undefined) q = q.where('actor_id', '=', filter.actorId);
    if (filter.actorType !== undefined) q = q.where('actor_type', '=', filter.actorType);
    if (filter.objectId !== undefined) q = q.where('object_id', '=', filter.objectId);
    if (filter.objectType !== undefined) q = q.where('object_type', '=', filter.objectType);
    if (filter.action !== undefined) {
      const action = filter.action;
      q = action.endsWith('.*')
        ? q.where((eb) => eb('action', 'like', eb.val(likePrefix(action.slice(0, -1)))))
        : q.where('action', '=', action);
    }
    if (filter.from !== undefined) q = q.where('at', '>=', filter.from);
    if (filter.to !== undefined) q = q.where('at', '<', filter.to);
    if (filter.before !== undefined) q = q.where('id', '<', filter.before);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(filter.limit + 1)
      .execute();
    return toPage(rows, filter.limit, toEvent, (event) => event.id);
  }
}

function toSessionInfo(row: SessionsRow, now: number): SessionInfo {
  return {
    ...toSession(row),
    active: row.revoked_at === null && row.expires_at > now && row.idle_expires_at > now,
  };
}

function toTokenInfo(
  row: {
    id: string;
    key_id: string;
    account_id: string;
    scopes: string;
    created_at: number;
    expires_at: number;
    revoked_at: number | null;
  },
  now: number,
): TokenInfo {
  return {
    id: row.id,
    keyId: formatKeywardString('key_id', { id: row.key_id }),
    accountId: row.account_id,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    active: row.revoked_at === null && row.expires_at > now,
  };
}
