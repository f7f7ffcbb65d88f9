/**
 * `keyward serve`: loads the configuration (`keyward.config.json` or the file `--config` /
 * `KEYWARD_CONFIG` names, and the environment over it), opens the store (making it on the first
 * start: with `migrate --create`, the only command that does), creates the first admin on a
 * fresh store (credentials written to `first-admin.json` in the data directory with mode 0600,
 * only its path printed: a service's standard output is kept by journald or the container
 * runtime, even on a terminal that `docker run -t` allocates), listens, and on SIGINT/SIGTERM
 * stops gracefully: in-flight requests finish, usage counters are flushed, the store is closed.
 *
 * `keyward admin create`: another admin account with an admin key, on demand. It prints the
 * credentials (as text, or as JSON with `--json`): the command is run by hand or by a script
 * that captures them, and printing them is what it is for; it runs no logger.
 *
 * @packageDocumentation
 */

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { createServer, type KeywardServer } from '../http/app.js';
import {
  createAdmin,
  DEFAULT_ADMIN_EMAIL,
  ensureAdmin,
  FirstAdminFileError,
  firstAdminPath,
  formatFirstAdminNotice,
  formatNewAdmin,
  writeFirstAdminFile,
} from '../http/bootstrap.js';
import { type CliContext, cliActor, cliConfig, messageOf, withStore } from './context.js';
import { startGateway } from './gateway.js';
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
  // Written inside the admin's transaction: a file that cannot be written creates no admin whose
  // password nobody has, and the next start tries again.
  let file: string | undefined;
  let admin: Awaited<ReturnType<typeof ensureAdmin>>;
  try {
    admin = await ensureAdmin(server.context.store, ctx.env.KEYWARD_ADMIN_EMAIL || DEFAULT_ADMIN_EMAIL, (made) => {
      file = writeFirstAdminFile(config.dataDir, made, config.publicUrl);
    });
  } catch (error) {
    await server.close();
    if (error instanceof FirstAdminFileError) return abort(ctx, { code: 'internal_error', detail: error.message });
    return abort(ctx, { code: 'store_unavailable', detail: messageOf(error) });
  }
  if (admin !== undefined && file !== undefined) {
    if (ctx.json()) writeJson(ctx, { admin: { email: admin.account.email, credentialsFile: file } });
    else ctx.out(formatFirstAdminNotice(admin.account.email, file));
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
  const left = firstAdminPath(config.dataDir);
  if (admin === undefined && existsSync(left)) {
    server.app.log.warn(
      { file: left },
      "the first admin's credentials file is still there: keep them elsewhere, then delete it",
    );
  }
  server.app.log.info({ publicUrl: config.publicUrl, engine: server.context.store.engine }, 'Keyward is serving');
  if (config.gatewayUpstream === undefined) return server;
  // The gateway mode of serve: the same store, nonce store and failure limits, its own port.
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, {
      upstream: config.gatewayUpstream,
      port: config.gatewayPort,
      store: server.context.store,
      shared: { nonces: server.context.nonces, limiter: server.context.limiter },
    });
  } catch (error) {
    await server.close();
    return abort(ctx, { code: 'invalid_input', detail: `gateway: ${messageOf(error)}` });
  }
  server.app.log.info({ url: gateway.url, upstream: config.gatewayUpstream }, 'Keyward gateway is serving');
  return {
    ...server,
    // The gateway first: it uses the server's store, which the server's close then closes.
    close: async () => {
      try {
        await gateway.gateway.close();
      } finally {
        await server.close();
      }
    },
  };
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
