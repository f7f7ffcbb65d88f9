/**
 * What the Keyward server and the gateway share in how they listen: the log (pino at the
 * configured level, written asynchronously, credentials redacted, paths without their query),
 * one access-log line per request, request ids, the trusted proxies, TLS, and the timeouts that
 * bound slow clients. One place, so that the two cannot drift.
 *
 * @packageDocumentation
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type FastifyInstance, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import pino from 'pino';
import type { KeywardConfig } from '../config/index.js';
import { verificationOf } from './metrics.js';

// Headers that carry credentials never reach a log line.
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
];

/**
 * The Node server options Fastify has no setting of its own for: the headers timeout, and how
 * often Node checks it and the request timeout (every 30 s by default, which would let a
 * slow-header connection live up to 30 s past its bound).
 */
function nodeTimeouts(config: KeywardConfig): { headersTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = config.headersTimeoutSeconds * 1000;
  return { headersTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout / 4) };
}

// Lines are written in batches of this many bytes, and at least this often.
const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 1000;

/**
 * Where the default log goes: stdout (or another open file descriptor `fd`), written
 * asynchronously in batches (pino's SonicBoom with `sync: false`, `minLength`): a request never
 * waits on the disk or a slow pipe, and a busy server makes one write per 4 KiB of lines, not
 * one per line. A quiet one still writes within a second. pino flushes what is buffered when the
 * process exits (`process.exit` included), and {@link logRequests} when the app closes. A
 * descriptor, not a path: a path is opened asynchronously, and a destination not yet open cannot
 * be flushed.
 */
export function asyncLogDestination(fd = 1): ReturnType<typeof pino.destination> {
  return pino.destination({ dest: fd, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS });
}

/**
 * The Fastify options both listeners start from. `logger` replaces the default log (tests pass
 * their own). Fastify's own request logging (two lines per request) is off: {@link logRequests}
 * writes one line per request instead.
 * The default log is written asynchronously ({@link asyncLogDestination}).
 */
export function baseServerOptions(
  config: KeywardConfig,
  logger: FastifyServerOptions['logger'] | undefined,
): FastifyServerOptions {
  return {
    logger: logger ?? {
      level: config.logLevel,
      stream: asyncLogDestination(),
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: {
        // The path only: a query string may hold something a caller should not have put there.
        req: (req) => ({ method: req.method, url: req.url.split('?')[0], remoteAddress: req.ip }),
      },
    },
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // X-Forwarded-* are believed from the configured proxies only (request.ip, request.protocol).
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    // Node's defaults let a connection trickle its headers for a minute (checked every 30 s), its
    // request for five, and hold a keep-alive socket for any number of requests.
    requestTimeout: config.requestTimeoutSeconds * 1000,
    keepAliveTimeout: config.keepAliveTimeoutSeconds * 1000,
    maxRequestsPerSocket: config.maxRequestsPerSocket,
    ...(config.tls === undefined
      ? { http: nodeTimeouts(config) }
      : {
          https: {
            key: readFileSync(config.tls.keyFile),
            cert: readFileSync(config.tls.certFile),
            ...nodeTimeouts(config),
          },
        }),
    return503OnClosing: true,
  };
}

// The code of an error response, from the one JSON error shape (`{"error":{"code":…`), kept
// per request by an onSend hook for the access log. Only error responses are looked at.
const ERROR_CODE = /^\{"error":\{"code":"([a-z0-9_]{1,64})"/;
const errorCodes = new WeakMap<FastifyRequest, string>();

/**
 * Flushes the log when the app closes, and unless `accessLog` is `off`, writes one line per
 * request when its response is sent (`msg: "request"`, at `info`), with:
 *
 * - `reqId` (the `X-Request-Id` of the response), `method`, `route` (the route pattern, e.g.
 *   `/v1/keys/:id`; absent when no route matched), `path` (never the query string, which may
 *   carry OAuth 1.0a parameters or a key someone should not have put there), `status`,
 *   `durationMs`, `remoteAddress`;
 * - when the request was verified: `authMethod` (used, or tried when refused), `keyId` (the
 *   public `kw_kid_…` id; never a secret) and, for a refusal, `code`. An error response's code is
 *   `code` too when the verifier did not refuse (a `forbidden`, an `invalid_input`).
 *
 * Install it on a fresh app, before its routes, so that every route has the hooks.
 */
export function logRequests(app: FastifyInstance, config: Pick<KeywardConfig, 'accessLog'>): void {
  app.addHook('onClose', async (instance) => {
    const log = instance.log as { flush?: (cb?: (error?: Error) => void) => void };
    if (typeof log.flush === 'function') await new Promise<void>((resolve) => log.flush?.(() => resolve()));
  });
  if (config.accessLog === 'off') return;
  // Callback hooks, not async ones: they run on every request, and need no promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      const code = ERROR_CODE.exec(payload)?.[1];
      if (code !== undefined) errorCodes.set(request, code);
    }
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    const verified = verificationOf(request.raw.headers);
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url,
        path: q === -1 ? url : url.slice(0, q),
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
        remoteAddress: request.ip,
        authMethod: verified?.method,
        keyId: verified?.keyId,
        code: verified?.code ?? errorCodes.get(request),
      },
      'request',
    );
    done();
  });
}
