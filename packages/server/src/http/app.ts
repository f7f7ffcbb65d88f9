/**
 * The Keyward server: a Fastify app with the OAuth 2.0 endpoints, accounts and sessions,
 * self-service keys, the admin API, the verify API, health, metrics and the OpenAPI document,
 * on an open store. {@link createServer} builds it without listening; the `serve` command and
 * the tests listen on it.
 *
 * @packageDocumentation
 */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { keywardFastify } from '../adapters/fastify.js';
import { type KeywardConfig, storeConfigOf } from '../config/index.js';
import { inProcessState, nonceStoreOf, openSharedState, type SharedState } from '../state/backends.js';
import { every } from '../state/every.js';
import { MemoryLimiter } from '../state/limiter.js';
import { type Clock, systemClock } from '../store/context.js';
import { openStore, type Store } from '../store/index.js';
import { purgeEnded } from '../store/maintenance.js';
import { StoreUnavailableError } from '../verify/ports.js';
import type { Scheme } from '../verify/scheme.js';
import { consoleCookieScheme } from '../verify/schemes/console-cookie.js';
import { accountRoutes } from './accounts/index.js';
import { adminRoutes } from './admin/index.js';
import { consoleRoutes } from './console/index.js';
import type { ServerContext } from './context.js';
import { closeAfterEarlyAnswers, collectRoutes, frameworkErrors, installErrorHandlers } from './errors.js';
import { forwardAuthRoutes } from './forward-auth.js';
import { securityHeaders } from './headers.js';
import { healthRoutes } from './health.js';
import { useStrictJson } from './json.js';
import { createMetrics, instrumentVerifier, metricsRoutes } from './metrics.js';
import { oauthRoutes } from './oauth/index.js';
import { openapiRoutes } from './openapi.js';
import { baseServerOptions, logRequests } from './server-options.js';
import { createServerVerifier } from './server-verifier.js';
import { verifyRoutes } from './verify.js';
import { whoamiRoutes } from './whoami.js';

/** What {@link createServer} takes besides the configuration. */
export interface ServerOptions {
  /** An open store to use (tests); by default one is opened from the configuration. */
  readonly store?: Store | undefined;
  readonly clock?: Clock | undefined;
  /**
   * Authentication schemes of the deployment's own, registered after Keyward's and enabled
   * beside the configured methods: its routes, `POST /v1/verify` and the docs accept them.
   */
  readonly schemes?: readonly Scheme[] | undefined;
  /** Fastify's logger setting; default pino at the configured level, secrets redacted. */
  readonly logger?: FastifyServerOptions['logger'] | undefined;
  /**
   * The shared state (tests that open the store themselves, with the state's bus); by default
   * opened from the configuration when the server opens the store, else none (in process).
   */
  readonly state?: SharedState | undefined;
}

/** A built, not yet listening, Keyward server. */
export interface KeywardServer {
  readonly app: FastifyInstance;
  readonly context: ServerContext;
  /**
   * Graceful stop: no new connections, in-flight requests finish, then usage counters are
   * flushed and the store is closed (when the server opened it).
   */
  close(): Promise<void>;
}

// Nonces outlive the timestamp window; expired rows are swept this often.
const NONCE_SWEEP_MS = 60_000;
// Ended access tokens and sessions are purged this often (see purgeEnded).
const MAINTENANCE_MS = 60 * 60_000;
const FIRST_MAINTENANCE_MS = 5 * 60_000;

/**
 * Validators per part of the request: bodies are checked strictly (no type coercion, no
 * removal of unknown fields: an array where a string belongs is a 400, not a silent fix);
 * query strings and path parameters arrive as text and may be coerced to numbers.
 */
function validators() {
  const strict = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false });
  const loose = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false });
  for (const ajv of [strict, loose]) {
    formats.default(ajv);
  }
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? strict : loose).compile(schema);
}

/** Builds the server on its store; resolves once every route is registered. */
export async function createServer(config: KeywardConfig, options: ServerOptions = {}): Promise<KeywardServer> {
  const clock = options.clock ?? systemClock;
  const ownsStore = options.store === undefined;
  // Warnings of the shared state go to the server's log once there is one.
  let warn = (message: string, error?: unknown) => process.emitWarning(`${message}: ${String(error)}`);
  const ownsState = options.state === undefined && ownsStore;
  const state =
    options.state ??
    (ownsStore
      ? await openSharedState(config, { member: true, clock, onWarning: (m, e) => warn(m, e) })
      : inProcessState());
  let store: Store;
  try {
    store = options.store ?? (await openStore(storeConfigOf(config, { clock, invalidations: state.bus })));
  } catch (error) {
    if (ownsState) await state.close();
    throw error;
  }
  const metrics = createMetrics();
  // Nonces in the store's database unless the shared state keeps them (Redis).
  const { nonces, own: sqlNonces } = await nonceStoreOf(state, store, clock);
  const limiter = state.limiter ?? new MemoryLimiter(clock);

  const app = Fastify({
    ...baseServerOptions(config, options.logger),
    bodyLimit: config.bodyLimitBytes,
    // Errors before routing (a malformed percent-encoded path) in the one shape too.
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();
  closeAfterEarlyAnswers(app.server);
  app.setValidatorCompiler(validators());
  logRequests(app, config);
  // The strict JSON parser (depth, duplicate and prototype checks) on the root, before any plugin
  // or route: every route inherits it, none keeps Fastify's default parser.
  useStrictJson(app);
  // Before any route: the 405 answers need every route's methods.
  const allowedMethods = collectRoutes(app);

  const verifier = instrumentVerifier(
    createServerVerifier(config, {
      store,
      nonces,
      limiter,
      clock,
      // The console's cookie session only where the console is served.
      schemes: config.console ? [...(options.schemes ?? []), consoleCookieScheme] : options.schemes,
      onError: (error, { requestId }) => {
        if (error instanceof StoreUnavailableError) {
          metrics.storeErrors.inc({ source: 'verifier' });
          app.log.error({ err: error }, 'verifier failed closed');
        } else app.log.error({ err: error, reqId: requestId }, 'verifier fault');
      },
    }),
    metrics,
    store.outcomes,
  );
  const context: ServerContext = { config, store, verifier, nonces, limiter, state, clock, metrics };
  warn = (message, error) => app.log.warn({ err: error }, message);
  app.decorate('kw', context);
  // X-Request-Id and the security headers, in one hook.
  securityHeaders(app);
  installErrorHandlers(app, allowedMethods);
  await app.register(keywardFastify, { verifier, rawBodyLimit: config.bodyLimitBytes });
  await app.register(metricsRoutes);
  await app.register(openapiRoutes);
  await app.register(healthRoutes);
  await app.register(whoamiRoutes);
  await app.register(oauthRoutes);
  await app.register(accountRoutes);
  await app.register(adminRoutes);
  await app.register(verifyRoutes);
  await app.register(forwardAuthRoutes);
  if (config.console) await app.register(consoleRoutes);

  sqlNonces.start(NONCE_SWEEP_MS, (error) => {
    metrics.storeErrors.inc({ source: 'nonce_sweep' });
    app.log.warn({ err: error }, 'nonce sweep failed');
  });
  const maintain = async () => {
    const purged = await purgeEnded(store, clock.now());
    if (purged.tokens + purged.sessions > 0) app.log.info({ purged }, 'purged ended access tokens and sessions');
  };
  const maintenanceFailed = (error: unknown) => {
    metrics.storeErrors.inc({ source: 'maintenance' });
    app.log.warn({ err: error }, 'maintenance failed');
  };
  // A first run soon after start, so that a server restarted more often than hourly still purges.
  const stopMaintenance = every(MAINTENANCE_MS, maintain, maintenanceFailed, { firstAfterMs: FIRST_MAINTENANCE_MS });
  await app.ready();

  let closing: Promise<void> | undefined;
  return {
    app,
    context,
    close() {
      closing ??= (async () => {
        sqlNonces.stop();
        stopMaintenance();
        try {
          await app.close();
        } finally {
          try {
            if (ownsStore) await store.close();
            else await Promise.all([store.usage.flush(), store.outcomes.flush()]);
          } finally {
            if (ownsState) await state.close();
          }
        }
      })();
      return closing;
    },
  };
}
