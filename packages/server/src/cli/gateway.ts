/**
 * `keyward gateway --upstream URL [--port N] [--routes FILE]`: protects an existing API without
 * touching its code. Same configuration and store as `keyward serve` (the one loader), so keys
 * made with the CLI or the server work at the gateway at once, and OAuth 1.0a nonces are shared.
 * The store must exist: like every command but `serve`, the gateway makes none. On SIGINT or
 * SIGTERM it stops gracefully, as `serve` does.
 *
 * The same gateway runs inside `keyward serve` when `gatewayUpstream` (`KEYWARD_GATEWAY_UPSTREAM`)
 * is configured; see {@link startGateway}.
 *
 * @packageDocumentation
 */

import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { KeywardConfig } from '../config/index.js';
import { storeConfigOf } from '../config/store.js';
import {
  createGateway,
  type GatewayOptions,
  gatewayOrigin,
  type KeywardGateway,
  parseUpstream,
} from '../gateway/gateway.js';
import { loadRouteRules, RouteRulesError } from '../gateway/rules.js';
import { openStore, type Store } from '../store/index.js';
import { type CliContext, cliConfig, messageOf } from './context.js';
import { abort, writeJson } from './output.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** What {@link startGateway} takes besides the configuration. */
export interface StartGatewayOptions {
  readonly upstream: string;
  readonly port: number;
  /** The rules file; default the configured `routesFile`, else none (every path needs a credential). */
  readonly routesFile?: string | undefined;
  /** A store already open (`serve`); else the configured one is opened, and must exist. */
  readonly store?: Store | undefined;
  /** The server's nonce store and limiter, when it runs in the same process (`serve`). */
  readonly shared?: GatewayOptions['shared'];
}

/**
 * Builds the gateway and listens on `host:port`. Rejects with a message fit for the user (the
 * store, the rules file, the port); resolves with the listening gateway and its address.
 */
export async function startGateway(
  config: KeywardConfig,
  options: StartGatewayOptions,
): Promise<{ gateway: KeywardGateway; url: string }> {
  const routesFile = options.routesFile ?? config.routesFile;
  const rules = routesFile === undefined ? undefined : loadRouteRules(routesFile, config.methods);
  const store = options.store ?? (await openStore(storeConfigOf(config, { create: false })));
  let gateway: KeywardGateway;
  try {
    gateway = await createGateway(config, {
      upstream: options.upstream,
      rules,
      store,
      shared: options.shared,
      publicUrl: config.gatewayPublicUrl ?? gatewayOrigin(config, options.port),
    });
  } catch (error) {
    if (options.store === undefined) await store.close();
    throw error;
  }
  const stop = gateway.close.bind(gateway);
  const owned: KeywardGateway = {
    ...gateway,
    // A store the gateway opened here is closed with it.
    close: async () => {
      try {
        await stop();
      } finally {
        if (options.store === undefined) await store.close();
      }
    },
  };
  try {
    await gateway.app.listen({ port: options.port, host: config.host });
  } catch (error) {
    await owned.close();
    throw new Error(`cannot listen on ${config.host}:${options.port}: ${messageOf(error)}`);
  }
  const address = gateway.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { gateway: owned, url: `${config.tls === undefined ? 'http' : 'https'}://${host}:${port}` };
}

/** Resolves when SIGINT or SIGTERM arrives and `close` has finished. */
export function untilStopped(log: { info: (o: object, m: string) => void }, close: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      for (const s of STOP_SIGNALS) process.off(s, stop);
      log.info({ signal }, 'stopping: finishing in-flight requests');
      close().then(resolve, resolve);
    };
    for (const s of STOP_SIGNALS) process.on(s, stop);
  });
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new Error('not a port');
  return Number(value);
}

/** Registers `gateway` on the program. */
export function registerGateway(program: Command, ctx: CliContext): void {
  program
    .command('gateway')
    .description('protect an existing API: verify every request, then forward it to the upstream')
    .requiredOption('--upstream <url>', 'the API to protect (http or https URL)')
    .option('--port <port>', 'port to listen on (default: gatewayPort, 4001)')
    .option(
      '--routes <file>',
      'route rules file (JSON); default: routesFile / KEYWARD_ROUTES, else every path needs a credential',
    )
    .action(async (options: { upstream: string; port?: string; routes?: string }) => {
      const config = cliConfig(ctx);
      try {
        parseUpstream(options.upstream);
      } catch (error) {
        abort(ctx, { code: 'invalid_input', detail: messageOf(error) });
      }
      let listenPort = config.gatewayPort;
      if (options.port !== undefined) {
        try {
          listenPort = port(options.port);
        } catch {
          abort(ctx, { code: 'invalid_input', detail: '--port must be a number from 0 to 65535' });
        }
      }
      let started: Awaited<ReturnType<typeof startGateway>>;
      try {
        started = await startGateway(config, {
          upstream: options.upstream,
          port: listenPort,
          // Relative to where the command runs, as a shell user means it.
          routesFile: options.routes === undefined ? undefined : resolve(ctx.cwd, options.routes),
        });
      } catch (error) {
        const code =
          error instanceof RouteRulesError || /cannot listen/.test(messageOf(error))
            ? 'invalid_input'
            : 'store_unavailable';
        return abort(ctx, { code, detail: messageOf(error) });
      }
      const { gateway, url } = started;
      if (ctx.json()) writeJson(ctx, { gateway: { url, upstream: options.upstream } });
      else ctx.out(`Keyward gateway listening on ${url}, forwarding to ${options.upstream}\n`);
      await untilStopped(gateway.app.log, () => gateway.close());
    });
}
