/**
 * `keyward keys …`: create, list, show, rotate, revoke, disable and enable API keys directly on
 * the store. Only `create` and `rotate` print a secret, once; everything else shows the key's
 * settings and state, never a secret.
 *
 * @packageDocumentation
 */

import type { Command } from 'commander';
import type { ApiKey, IssuedKey, Store } from '../store/index.js';
import { type CliContext, cliActor, withStore } from './context.js';
import { parseDuration, parseExpiry } from './durations.js';
import { abort, formatFields, formatTable, formatTime, type Output, writeJson } from './output.js';

/** A comma-separated list (`a,b`), items trimmed; the empty string is the empty list. */
export function parseList(text: string): string[] {
  return text.trim() === '' ? [] : text.split(',').map((item) => item.trim());
}

function describeMethods(key: ApiKey): string {
  return key.methods === null ? 'all' : key.methods.join(', ');
}

/** `key: value` lines for one key (no secret: an {@link ApiKey} has none). */
export function formatKey(key: ApiKey): string {
  return formatFields([
    ['id', key.id],
    ['account', key.accountId],
    ['name', key.name],
    ['status', key.status],
    ['scopes', key.scopes.length === 0 ? '-' : key.scopes.join(', ')],
    ['methods', describeMethods(key)],
    ['expires', formatTime(key.expiresAt, 'never')],
    ['rate limit', key.rateLimit === null ? '-' : `${key.rateLimit.limit} per ${key.rateLimit.windowSeconds}s`],
    ['metadata', Object.keys(key.metadata).length === 0 ? '-' : JSON.stringify(key.metadata)],
    ['created', formatTime(key.createdAt)],
    ['updated', formatTime(key.updatedAt)],
    ...(key.revokedAt === null ? [] : [['revoked', formatTime(key.revokedAt)] as const]),
    ['last used', formatTime(key.lastUsedAt, 'never')],
    ['uses', String(key.useCount)],
  ]);
}

function writeKey(ctx: CliContext, key: ApiKey): void {
  if (ctx.json()) writeJson(ctx, key);
  else ctx.out(formatKey(key));
}

/**
 * Prints a freshly issued secret: the one time it is ever shown. In JSON the key's fields follow
 * `id`, `secret` and `token`; for people, a reminder goes to stderr so that stdout stays clean
 * when redirected to a file.
 */
function writeIssued(ctx: CliContext, issued: IssuedKey, note: string): void {
  if (ctx.json()) {
    const { id: _id, ...key } = issued.key;
    writeJson(ctx, { id: issued.id, secret: issued.secret, token: issued.token, ...key });
    return;
  }
  ctx.out(
    formatFields([
      ['secret', issued.secret],
      ['token', issued.token],
    ]),
  );
  ctx.out(formatKey(issued.key));
  ctx.err(`${note}\n`);
}

/** Finds the account given by id or email, the way `accounts show` does, or stops with `account_not_found`. */
async function resolveAccount(output: Output, store: Store, idOrEmail: string): Promise<string> {
  // Resolved through Accounts.find (which normalizes the email like account creation does)
  // rather than left to Keys, whose own lookup only lower-cases it.
  const account = await store.accounts.find(idOrEmail);
  if (account === undefined) abort(output, { code: 'account_not_found' });
  return account.id;
}

interface CreateOptions {
  account: string;
  name: string;
  scopes?: string;
  expires?: string;
  methods?: string;
  metadata?: string;
}

async function createKey(ctx: CliContext, options: CreateOptions, store: Store): Promise<IssuedKey> {
  let expiresAt: number | undefined;
  if (options.expires !== undefined) {
    const expiry = parseExpiry(options.expires, store.context.clock.now());
    if (!expiry.ok) abort(ctx, expiry);
    expiresAt = expiry.value;
  }
  let metadata: Record<string, unknown> | undefined;
  if (options.metadata !== undefined) {
    try {
      metadata = JSON.parse(options.metadata) as Record<string, unknown>;
    } catch {
      abort(ctx, { code: 'invalid_input', detail: '--metadata is not valid JSON' });
    }
  }
  const accountId = await resolveAccount(ctx, store, options.account);
  const result = await store.keys.create(
    accountId,
    {
      name: options.name,
      scopes: options.scopes === undefined ? undefined : parseList(options.scopes),
      methods: options.methods === undefined ? undefined : parseList(options.methods),
      expiresAt,
      metadata,
    },
    cliActor(ctx.env),
  );
  if (!result.ok) abort(ctx, result);
  return result.value;
}

/** Registers `keys` and its subcommands on the program. */
export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('create, list, show, rotate, revoke, disable and enable API keys');

  keys
    .command('create')
    .description('create a key for an account; its secret is printed this once')
    .requiredOption('--account <id-or-email>', 'the account that owns the key')
    .requiredOption('--name <name>', 'a name for the key (1-100 characters)')
    .option('--scopes <list>', 'comma-separated scopes (RFC 6749 scope tokens), e.g. read,write')
    .option('--expires <when>', 'a duration from now (90s, 15m, 12h, 30d) or an ISO 8601 date or date-time')
    .option(
      '--methods <list>',
      'comma-separated methods the key may use: basic, api-key, oauth2, oauth1 (default: all)',
    )
    .option('--metadata <json>', 'a JSON object kept with the key (at most 4096 bytes)')
    .action(async (options: CreateOptions) => {
      const issued = await withStore(ctx, (store) => createKey(ctx, options, store));
      writeIssued(ctx, issued, 'The secret and token are shown only this once: store them now.');
    });

  keys
    .command('list')
    .description('list keys, oldest first (never their secrets)')
    .option('--account <id-or-email>', 'only the keys of this account')
    .option('--include-revoked', 'list revoked keys too')
    .action(async (options: { account?: string; includeRevoked?: boolean }) => {
      const list = await withStore(ctx, async (store) => {
        const accountId = options.account === undefined ? undefined : await resolveAccount(ctx, store, options.account);
        return store.keys.list({ accountId, includeRevoked: options.includeRevoked === true });
      });
      if (ctx.json()) return writeJson(ctx, list);
      if (list.length === 0) return ctx.out('no keys\n');
      ctx.out(
        formatTable(
          ['ID', 'ACCOUNT', 'NAME', 'STATUS', 'SCOPES', 'EXPIRES', 'LAST USED'],
          list.map((k) => [
            k.id,
            k.accountId,
            k.name,
            k.status,
            k.scopes.join(',') || '-',
            formatTime(k.expiresAt, 'never'),
            formatTime(k.lastUsedAt, 'never'),
          ]),
        ),
      );
    });

  keys
    .command('show')
    .description('show one key (never its secret)')
    .argument('<id>', 'key id (kw_kid_…)')
    .action(async (id: string) => {
      const key = await withStore(ctx, (store) => store.keys.get(id));
      if (key === undefined) abort(ctx, { code: 'key_not_found' });
      writeKey(ctx, key);
    });

  keys
    .command('rotate')
    .description('give a key a new secret, printed this once; the old one keeps working for the grace period')
    .argument('<id>', 'key id (kw_kid_…)')
    .option('--grace <duration>', 'how long the old secret keeps working: 0, 90s, 15m, 12h, 30d (at most 30d)', '24h')
    .action(async (id: string, options: { grace: string }) => {
      const graceMs = parseDuration(options.grace.trim());
      if (graceMs === undefined) {
        abort(ctx, { code: 'invalid_input', detail: '--grace must be a duration such as 0, 90s, 15m, 12h or 30d' });
      }
      const result = await withStore(ctx, (store) => store.keys.rotate(id, { graceMs }, cliActor(ctx.env)));
      if (!result.ok) abort(ctx, result);
      const until = graceMs === 0 ? 'stopped working now' : `keeps working for ${options.grace.trim()}`;
      writeIssued(ctx, result.value, `The new secret and token are shown only this once; the old secret ${until}.`);
    });

  keys
    .command('revoke')
    .description('revoke a key for good (its access tokens end too)')
    .argument('<id>', 'key id (kw_kid_…)')
    .action(async (id: string) => {
      const result = await withStore(ctx, (store) => store.keys.revoke(id, cliActor(ctx.env)));
      if (!result.ok) abort(ctx, result);
      writeKey(ctx, result.value);
    });

  for (const [name, enabled, description] of [
    ['disable', false, 'disable a key until it is enabled again'],
    ['enable', true, 'enable a disabled key (not when its account is disabled)'],
  ] as const) {
    keys
      .command(name)
      .description(description)
      .argument('<id>', 'key id (kw_kid_…)')
      .action(async (id: string) => {
        const result = await withStore(ctx, (store) => store.keys.setEnabled(id, enabled, cliActor(ctx.env)));
        if (!result.ok) abort(ctx, result);
        writeKey(ctx, result.value);
      });
  }
}
