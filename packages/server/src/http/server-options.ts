/**
 * What the Keyward server and the gateway share in how they listen: the log (pino at the
 * configured level, credentials redacted, paths without their query), request ids, the trusted
 * proxies, TLS, and the timeouts that bound slow clients. One place, so that the two cannot drift.
 *
 * @packageDocumentation
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyServerOptions } from 'fastify';
import type { KeywardConfig } from '../config/index.js';

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

/**
 * The Fastify options both listeners start from. `logger` replaces the default log (tests pass
 * their own).
 */
export function baseServerOptions(
  config: KeywardConfig,
  logger: FastifyServerOptions['logger'] | undefined,
): FastifyServerOptions {
  return {
    logger: logger ?? {
      level: config.logLevel,
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: {
        // The path only: a query string may hold something a caller should not have put there.
        req: (req) => ({ method: req.method, url: req.url.split('?')[0], remoteAddress: req.ip }),
      },
    },
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
