/**
 * The audit log: append-only, one row per change, written in the same transaction as the change
 * it records. Never holds a secret: callers pass ids and non-secret details only.
 *
 * @packageDocumentation
 */

import type { Actor, Executor, StoreContext } from './context.js';
import { timeOrderedId } from './context.js';
import type { AuditEventRow } from './schema.js';

/** An audit event as the API shows it. */
export interface AuditEvent {
  readonly id: string;
  readonly at: number;
  readonly actor: { readonly type: AuditEventRow['actor_type']; readonly id: string | null };
  readonly action: string;
  readonly object: { readonly type: string; readonly id: string | null };
  readonly ip: string | null;
  readonly detail: Record<string, unknown> | null;
}

/** What to record. */
export interface AuditEntry {
  readonly action: string;
  readonly objectType: string;
  readonly objectId: string | null;
  readonly detail?: Record<string, unknown> | undefined;
}

/** Filters and page for {@link AuditLog.list}. */
export interface AuditQuery {
  readonly actorId?: string | undefined;
  readonly objectId?: string | undefined;
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly limit?: number | undefined;
  /** The `id` of the last event of the previous page (events come newest first). */
  readonly before?: string | undefined;
}

/** An audit row as an {@link AuditEvent} (the detail parsed back from its JSON). */
export function toEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    actor: { type: row.actor_type, id: row.actor_id },
    action: row.action,
    object: { type: row.object_type, id: row.object_id },
    ip: row.ip,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
  };
}

/** The audit log. */
export class AuditLog {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Runs `change` in a transaction and, when it changed something (resolved true), records
   * `entry` in that same transaction: either both happen or neither does.
   */
  recordIfChanged(actor: Actor, entry: AuditEntry, change: (trx: Executor) => Promise<boolean>): Promise<boolean> {
    return this.ctx.db.transaction().execute(async (trx) => {
      const changed = await change(trx);
      if (changed) await this.record(trx, actor, entry);
      return changed;
    });
  }

  /** Appends an event, inside the caller's transaction. */
  async record(trx: Executor, actor: Actor, entry: AuditEntry): Promise<void> {
    const at = this.ctx.clock.now();
    await trx
      .insertInto('audit_events')
      .values({
        id: timeOrderedId(at, this.ctx),
        at,
        actor_type: actor.type,
        actor_id: actor.id ?? null,
        action: entry.action,
        object_type: entry.objectType,
        object_id: entry.objectId,
        ip: actor.ip ?? null,
        detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
      })
      .execute();
  }

  /** Events newest first, filtered, paginated by `before`. At most 500 per page (default 50). */
  async list(query: AuditQuery = {}): Promise<AuditEvent[]> {
    let q = this.ctx.db.selectFrom('audit_events').selectAll();
    if (query.actorId !== undefined) q = q.where('actor_id', '=', query.actorId);
    if (query.objectId !== undefined) q = q.where('object_id', '=', query.objectId);
    if (query.from !== undefined) q = q.where('at', '>=', query.from);
    if (query.to !== undefined) q = q.where('at', '<', query.to);
    if (query.before !== undefined) q = q.where('id', '<', query.before);
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
    const rows = await q.orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toEvent);
  }
}
