/**
 * `keyward serve`: loads the configuration (`keyward.config.json` or the file `--config` /
 * `KEYWARD_CONFIG` names, and the environment over it), opens the store (making it on the first
 * start: with `migrate --create`, the only command that does), creates the first admin on a
 * fresh store (credentials printed once, to standard output, never to the log), listens, and
 * on SIGINT/SIGTERM stops gracefully: in-flight requests finish, usage counters are flushed, the
 * store is closed.
 *
 * `keyward admin create`: another admin account with an admin key, on demand.
 *
 * @packageDocumentation
 */

import type { Command } from 'commander';
import { createServer, type KeywardServer } from '../http/app.js';
import { createAdmin, DEFAULT_ADMIN_EMAIL, ensureAdmin, formatNewAdmin } from '../http/bootstrap.js';
import { type CliContext, cliActor, cliConfig, messageOf, withStore } from './context.js';
import { abort, writeJson } from './output.js';
import { passwordFromInput } from './stdin.js';

/** Signals that stop the server gracefully. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Starts the server; resolves once it listens, with a function that stops it. */
export async function serve(ctx: CliContext): Promise<KeywardServer> {
  const config = cliConfig(ctx);
  let server: KeywardServer;
  try {
    server = await createServer(config);
  } catch (error) {
    return abort(ctx, { code: 'store_unavailable', detail: messageOf(error) });
  }
  const admin = await ensureAdmin(server.context.store, ctx.env.KEYWARD_ADMIN_EMAIL || DEFAULT_ADMIN_EMAIL);
  if (admin !== undefined) {
    if (ctx.json())
      writeJson(ctx, { admin: { email: admin.account.email, password: admin.password, ...keyFields(admin.key) } });
    else ctx.out(formatNewAdmin(admin, config.publicUrl));
  }
  try {
    await server.app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await server.close();
    return abort(ctx, {
      code: 'invalid_input',
      detail: `cannot listen on ${config.host}:${config.port}: ${messageOf(error)}`,
    });
  }
  server.app.log.info({ publicUrl: config.publicUrl, engine: server.context.store.engine }, 'Keyward is serving');
  return server;
}

function keyFields(key: { id: string; secret: string; token: string }) {
  return { keyId: key.id, secret: key.secret, token: key.token };
}

/** Registers `serve` and `admin create` on the program. */
export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve the Keyward API (configuration from keyward.config.json and the environment)')
    .action(async () => {
      const server = await serve(ctx);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          for (const s of STOP_SIGNALS) process.off(s, stop);
          server.app.log.info({ signal }, 'stopping: finishing in-flight requests');
          server.close().then(resolve, (error: unknown) => {
            server.app.log.error({ err: error }, 'error while stopping');
            resolve();
          });
        };
        for (const s of STOP_SIGNALS) process.on(s, stop);
      });
    });

  program
    .command('admin')
    .description('manage admin accounts')
    .command('create')
    .description('create an admin account and an admin API key (credentials shown once)')
    .option('--email <email>', 'email address (the login name)', DEFAULT_ADMIN_EMAIL)
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .action(async (options: { email: string; passwordStdin?: boolean }) => {
      let password: string | undefined;
      if (options.passwordStdin === true) {
        password = passwordFromInput(await ctx.readStdin());
        if (password === undefined)
          abort(ctx, { code: 'invalid_input', detail: 'the password on standard input is not valid UTF-8' });
      }
      const { made, publicUrl } = await withStore(ctx, async (store, config) => ({
        made: await createAdmin(store, { email: options.email, password }, cliActor(ctx.env)),
        publicUrl: config.publicUrl,
      }));
      if (!made.ok) abort(ctx, made);
      const admin = made.value;
      if (ctx.json()) {
        writeJson(ctx, {
          id: admin.account.id,
          email: admin.account.email,
          role: admin.account.role,
          ...(password === undefined ? { password: admin.password } : {}),
          ...keyFields(admin.key),
        });
      } else ctx.out(formatNewAdmin(password === undefined ? admin : { ...admin, password: '(as given)' }, publicUrl));
    });
}
