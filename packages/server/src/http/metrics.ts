/**
 * Prometheus metrics (text exposition at `GET /metrics`): requests by route and status,
 * verifications by method and outcome, their latencies, and store errors. One registry per
 * server, so several servers in one process (tests) never share counters.
 *
 * @packageDocumentation
 */

import { constantTimeEqual, parseAuthorization } from '@keyward/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { addressFailures } from '../state/limiter.js';
import type { Outcome, VerifyRequest } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { clientTransport, type ServerContext } from './context.js';
import { ApiError } from './errors.js';

/** The server's metrics. */
export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestSeconds: Histogram<'route'>;
  readonly verifications: Counter<'method' | 'outcome'>;
  readonly verificationSeconds: Histogram<'method'>;
  readonly storeErrors: Counter<'source'>;
}

/** Creates the metrics on a registry of their own. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'keyward_process_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'keyward_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'keyward_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern.',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    verifications: new Counter({
      name: 'keyward_verifications_total',
      help: 'Credential verifications, by method and outcome (ok or the refusal code).',
      labelNames: ['method', 'outcome'],
      registers,
    }),
    verificationSeconds: new Histogram({
      name: 'keyward_verification_duration_seconds',
      help: 'Time to verify a request, by method.',
      labelNames: ['method'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    }),
    storeErrors: new Counter({
      name: 'keyward_store_errors_total',
      help: 'Errors reaching the credential store (the request failed closed).',
      labelNames: ['source'],
      registers,
    }),
  };
}

// The method a refused request tried, from its Authorization scheme (a refusal has no principal).
function attemptedMethod(req: VerifyRequest): string {
  const header = req.headers.authorization;
  const value = typeof header === 'string' ? header : header?.[0];
  const scheme = value?.trimStart().split(' ', 1)[0]?.toLowerCase();
  if (scheme === 'basic') return 'basic';
  if (scheme === 'bearer') return 'bearer';
  if (scheme === 'oauth') return 'oauth1';
  return 'none';
}

/** The verifier, counting and timing every verification. */
export function instrumentVerifier(verifier: Verifier, metrics: Metrics): Verifier {
  return {
    ...verifier,
    async verify(req, route) {
      const started = process.hrtime.bigint();
      const outcome: Outcome = await verifier.verify(req, route);
      const method = outcome.ok ? outcome.principal.method : attemptedMethod(req);
      metrics.verifications.inc({ method, outcome: outcome.ok ? 'ok' : outcome.code });
      metrics.verificationSeconds.observe({ method }, Number(process.hrtime.bigint() - started) / 1e9);
      return outcome;
    },
  };
}

// The challenge of a refused scrape: a realm of its own, since no Keyward credential opens it.
const METRICS_CHALLENGE = 'Bearer realm="keyward-metrics"';

/**
 * Lets through a scrape that presents the configured metrics token as a bearer token (compared
 * in constant time), whatever failures its address has seen: as everywhere else, the right
 * secret is never refused because of failures (docs/security.md). A wrong or missing token
 * counts against the client address's failure limit, and past it is answered 429.
 */
function metricsTokenGuard(kw: ServerContext, token: string) {
  return async (request: FastifyRequest): Promise<void> => {
    const presented = parseAuthorization(request.headers.authorization);
    if (presented.ok && presented.value.scheme === 'bearer' && constantTimeEqual(presented.value.token, token)) return;
    const state = await kw.limiter.hit(
      addressFailures(clientTransport(kw, request).clientIp),
      kw.config.limits.failuresPerIp,
    );
    if (!state.allowed) throw new ApiError('rate_limited', undefined, { 'retry-after': String(state.retryAfter) });
    const code = !presented.ok && presented.code === 'credentials_missing' ? 'credentials_missing' : 'token_invalid';
    throw new ApiError(code, undefined, { 'www-authenticate': METRICS_CHALLENGE });
  };
}

/**
 * Counts every response (a hook on the whole app) and serves `GET /metrics`, behind the
 * metrics token when one is configured.
 */
export const metricsRoutes = fp(async (app: FastifyInstance): Promise<void> => {
  const { metrics, config } = app.kw;
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: ids in paths would make unbounded label sets.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000);
  });
  const onRequest = config.metricsToken === undefined ? [] : [metricsTokenGuard(app.kw, config.metricsToken)];
  app.get('/metrics', { schema: { hide: true }, onRequest }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
});
