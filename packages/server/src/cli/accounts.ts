/**
 * `keyward accounts …`: create, list, show, disable and enable accounts directly on the store.
 *
 * @packageDocumentation
 */

import type { Command } from 'commander';
import type { Account, Store } from '../store/index.js';
import { type CliContext, cliActor, withStore } from './context.js';
import { abort, formatFields, formatTable, formatTime, writeJson } from './output.js';
import { passwordFromInput } from './stdin.js';

/** `key: value` lines for one account. */
export function formatAccount(account: Account): string {
  return formatFields([
    ['id', account.id],
    ['email', account.email],
    ['name', account.displayName ?? '-'],
    ['role', account.role],
    ['status', account.status],
    ['created', formatTime(account.createdAt)],
    ['updated', formatTime(account.updatedAt)],
  ]);
}

function writeAccount(ctx: CliContext, account: Account): void {
  if (ctx.json()) writeJson(ctx, account);
  else ctx.out(formatAccount(account));
}

const PAGE = 1000;

/** Every account (matching `search`), oldest first, read a page of at most 1000 at a time. */
async function allAccounts(store: Store, search: string | undefined): Promise<Account[]> {
  const accounts: Account[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.accounts.list({ search, limit: PAGE, after });
    accounts.push(...page);
    after = page.at(-1)?.id;
    if (page.length < PAGE || after === undefined) break;
  }
  return accounts;
}

async function setStatus(ctx: CliContext, idOrEmail: string, status: 'active' | 'disabled'): Promise<void> {
  const result = await withStore(ctx, (store) => store.accounts.setStatus(idOrEmail, status, cliActor(ctx.env)));
  if (!result.ok) abort(ctx, result);
  writeAccount(ctx, result.value);
}

/** Registers `accounts` and its subcommands on the program. */
export function registerAccounts(program: Command, ctx: CliContext): void {
  const accounts = program.command('accounts').description('create, list, show, disable and enable accounts');

  accounts
    .command('create')
    .description('create an account; the password is read from standard input')
    .requiredOption('--email <email>', 'email address (the login name)')
    .requiredOption('--password-stdin', 'read the password from standard input (one trailing newline is removed)')
    .option('--admin', 'give the account the admin role (default: member)')
    .option('--name <name>', 'display name')
    .action(async (options: { email: string; admin?: boolean; name?: string }) => {
      // Never an argument: argv is visible to every user of the machine and kept in shell history.
      const password = passwordFromInput(await ctx.readStdin());
      if (password === undefined) {
        abort(ctx, { code: 'invalid_input', detail: 'the password on standard input is not valid UTF-8' });
      }
      const result = await withStore(ctx, (store) =>
        store.accounts.create(
          {
            email: options.email,
            password,
            displayName: options.name,
            role: options.admin === true ? 'admin' : 'member',
          },
          cliActor(ctx.env),
        ),
      );
      if (!result.ok) abort(ctx, result);
      writeAccount(ctx, result.value);
    });

  accounts
    .command('list')
    .description('list accounts, oldest first')
    .option('--search <text>', 'only accounts whose email contains this text')
    .action(async (options: { search?: string }) => {
      const list = await withStore(ctx, (store) => allAccounts(store, options.search));
      if (ctx.json()) return writeJson(ctx, list);
      if (list.length === 0) return ctx.out('no accounts\n');
      ctx.out(
        formatTable(
          ['ID', 'EMAIL', 'ROLE', 'STATUS', 'CREATED'],
          list.map((a) => [a.id, a.email, a.role, a.status, formatTime(a.createdAt)]),
        ),
      );
    });

  accounts
    .command('show')
    .description('show one account')
    .argument('<id-or-email>', 'account id (acc_…) or email address')
    .action(async (idOrEmail: string) => {
      const account = await withStore(ctx, (store) => store.accounts.find(idOrEmail));
      if (account === undefined) abort(ctx, { code: 'account_not_found' });
      writeAccount(ctx, account);
    });

  accounts
    .command('disable')
    .description('disable an account: its keys stop working and its tokens and sessions end')
    .argument('<id-or-email>', 'account id (acc_…) or email address')
    .action((idOrEmail: string) => setStatus(ctx, idOrEmail, 'disabled'));

  accounts
    .command('enable')
    .description('enable an account again, with the keys that were disabled along with it')
    .argument('<id-or-email>', 'account id (acc_…) or email address')
    .action((idOrEmail: string) => setStatus(ctx, idOrEmail, 'active'));
}
