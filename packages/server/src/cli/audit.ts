/**
 * `keyward audit …`: the audit log, newest first (`audit` or `audit list`, filtered by account,
 * key, action and time), and `audit failures`, the failed authentications aggregated per key,
 * hour, method and refusal code, read directly from the store.
 *
 * @packageDocumentation
 */

import type { Command } from 'commander';
import { parseKeyId, type Store } from '../store/index.js';
import { Listing } from '../store/listing.js';
import { type CliContext, withStore } from './context.js';
import { parseDuration, parseIsoDateTime } from './durations.js';
import { abort, formatTable, formatTime, type Output, writeJson } from './output.js';

/** Most rows one command lists. */
const MAX_LIMIT = 500;

/**
 * The instant `--since` names: a duration before `now` (`90s`, `15m`, `24h`, `7d`) or an ISO 8601
 * date or date-time. Stops with `invalid_input` otherwise.
 */
export function parseSince(output: Output, text: string, now: number): number {
  const trimmed = text.trim();
  const duration = parseDuration(trimmed);
  const at = duration === undefined ? parseIsoDateTime(trimmed) : now - duration;
  if (at === undefined || !Number.isSafeInteger(at) || at < 0) {
    return abort(output, {
      code: 'invalid_input',
      detail: '--since must be a duration (90s, 15m, 24h, 7d) or an ISO 8601 date or date-time',
    });
  }
  return at;
}

function parseLimit(output: Output, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = /^\d{1,4}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(n >= 1 && n <= MAX_LIMIT))
    abort(output, { code: 'invalid_input', detail: `--limit must be 1 to ${MAX_LIMIT}` });
  return n;
}

/** The key's raw id and public id, or stops with `key_not_found`. */
async function resolveKey(output: Output, store: Store, id: string): Promise<{ raw: string; id: string }> {
  const raw = parseKeyId(id.trim());
  const key = raw === undefined ? undefined : await store.keys.get(raw);
  if (raw === undefined || key === undefined) return abort(output, { code: 'key_not_found' });
  return { raw, id: key.id };
}

interface ListOptions {
  account?: string;
  key?: string;
  action?: string;
  since?: string;
  limit?: string;
}

interface FailureOptions {
  key?: string;
  since: string;
  limit?: string;
}

/** Registers `audit` and its subcommands on the program. */
export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program
    .command('audit')
    .description('read the audit log (audit list, the default) and failed authentications (audit failures)');

  audit
    .command('list', { isDefault: true })
    .description('audit events, newest first')
    .option('--account <id-or-email>', 'only what this account did')
    .option('--key <id>', 'only what was done to this key (kw_kid_…)')
    .option('--action <action>', 'an action (key.revoke) or a family (key.*)')
    .option('--since <when>', 'a duration before now (90s, 15m, 24h, 7d) or an ISO 8601 date or date-time')
    .option('--limit <n>', `at most this many events, 1-${MAX_LIMIT}`, '50')
    .action(async (options: ListOptions) => {
      const limit = parseLimit(ctx, options.limit, 50);
      const action = options.action?.trim();
      if (action !== undefined && !/^[a-z_]+(\.[a-z_]+)*(\.\*)?$/.test(action))
        abort(ctx, { code: 'invalid_input', detail: '--action must be an action (key.revoke) or a family (key.*)' });
      const events = await withStore(ctx, async (store) => {
        const from =
          options.since === undefined ? undefined : parseSince(ctx, options.since, store.context.clock.now());
        let actorId: string | undefined;
        if (options.account !== undefined) {
          const account = await store.accounts.find(options.account);
          if (account === undefined) return abort(ctx, { code: 'account_not_found' });
          actorId = account.id;
        }
        const objectId = options.key === undefined ? undefined : (await resolveKey(ctx, store, options.key)).id;
        const page = await new Listing(store.context).audit({ actorId, objectId, action, from, limit });
        return page.items;
      });
      if (ctx.json()) return writeJson(ctx, events);
      if (events.length === 0) return ctx.out('no events\n');
      ctx.out(
        formatTable(
          ['AT', 'ACTOR', 'ACTION', 'OBJECT', 'IP'],
          events.map((e) => [
            formatTime(e.at),
            `${e.actor.type}${e.actor.id === null ? '' : `:${e.actor.id}`}`,
            e.action,
            `${e.object.type}${e.object.id === null ? '' : `:${e.object.id}`}`,
            e.ip ?? '-',
          ]),
        ),
      );
    });

  audit
    .command('failures')
    .description('failed authentications per key, hour, method and refusal code, newest first')
    .option('--key <id>', 'only the failures that named this key (kw_kid_…)')
    .option('--since <when>', 'a duration before now (90s, 15m, 24h, 7d) or an ISO 8601 date or date-time', '24h')
    .option('--limit <n>', `at most this many rows, 1-${MAX_LIMIT}`, '50')
    .action(async (options: FailureOptions) => {
      const limit = parseLimit(ctx, options.limit, 50);
      const rows = await withStore(ctx, async (store) => {
        const since = parseSince(ctx, options.since, store.context.clock.now());
        const rawKeyId = options.key === undefined ? undefined : (await resolveKey(ctx, store, options.key)).raw;
        return store.outcomes.refusals({ rawKeyId, since, limit });
      });
      if (ctx.json()) return writeJson(ctx, rows);
      if (rows.length === 0) return ctx.out('no failures\n');
      ctx.out(
        formatTable(
          ['HOUR', 'KEY', 'METHOD', 'CODE', 'COUNT', 'FIRST', 'LAST', 'ADDRESSES'],
          rows.map((r) => [
            formatTime(r.hour),
            r.keyId ?? '(none)',
            r.method,
            r.code,
            String(r.count),
            formatTime(r.firstSeen),
            formatTime(r.lastSeen),
            r.addresses.join(',') || '-',
          ]),
        ),
      );
    });
}
