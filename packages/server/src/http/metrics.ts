/**
 * Prometheus metrics (text exposition at `GET /metrics`): requests by route and status,
 * verifications by method, outcome and refusal code, their latencies, store errors, and the
 * standard process and Node.js metrics under their usual names. One registry per server, so
 * several servers in one process (tests) never share counters.
 *
 * The instrumented verifier is also where every verification outcome is seen once: it counts
 * them for the metrics, for the per-key outcome counters of the store (`store/outcomes.ts`),
 * and notes them for the request's access-log line (`server-options.ts`).
 *
 * @packageDocumentation
 */

import {
  constantTimeEqual,
  formatKeywardString,
  identify,
  type KeywardStringType,
  parseAuthorization,
  parseBasicCredentials,
  parseOAuthParams,
  splitAuthorizationHeader,
} from '@keyward/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { addressFailures } from '../state/limiter.js';
import type { OutcomeCounter } from '../store/outcomes.js';
import type { Outcome, VerifyRequest } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { clientTransport, type ServerContext } from './context.js';
import { ApiError } from './errors.js';

/** The server's metrics. */
export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestSeconds: Histogram<'route'>;
  readonly verifications: Counter<'method' | 'outcome' | 'code'>;
  readonly verificationSeconds: Histogram<'method'>;
  readonly storeErrors: Counter<'source'>;
}

/** Creates the metrics on a registry of their own. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  // The names every Node.js dashboard expects (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, …).
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters (promtool: non-counter metrics should not have a "_total" suffix);
  // the same figures stay, by type, as nodejs_active_handles, _requests and _resources.
  for (const name of GAUGES_NAMED_TOTAL) registry.removeSingleMetric(name);
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
      help:
        'Credential verifications, by method (used, or tried when refused), outcome (accepted or refused) ' +
        'and refusal code (none when accepted).',
      labelNames: ['method', 'outcome', 'code'],
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

// Default Node.js gauges whose names end in _total (see createMetrics).
const GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** What a request tried, read from its credentials without verifying them. */
interface Attempt {
  /** The method tried (a bounded set: a metric label); `none` without credentials, `other` for an unknown scheme. */
  readonly method: string;
  /** The raw key id the credentials name, when they name one in a well-formed `kw_` string. */
  readonly rawKeyId?: string | undefined;
}

function one(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

// Only a string that checks out as a Keyward string of the type (checksum included) yields an
// id: anything else a client typed, a pasted secret included, is never kept or logged.
function keyIdIn(value: string | undefined, type: KeywardStringType): string | undefined {
  if (value === undefined) return undefined;
  const known = identify(value);
  return known?.type === type ? known.id : undefined;
}

// An OAuth 1.0a request: a signed session when it carries a token, else a key's (consumer key = key id).
function oauthAttempt(params: readonly (readonly [string, string])[]): Attempt {
  if (params.some(([name]) => name === 'oauth_token')) return { method: 'signed-session' };
  const consumer = params.find(([name]) => name === 'oauth_consumer_key')?.[1];
  return { method: 'oauth1', rawKeyId: keyIdIn(consumer, 'key_id') };
}

/**
 * The method a refused request tried and the key it named (a refusal carries no principal):
 * Basic's user-id (RFC 7617 §2), an API key token (Bearer or `X-API-Key`), or OAuth 1.0a's
 * `oauth_consumer_key` in the header or the query (RFC 5849 §3.5.1, §3.5.3).
 */
export function attemptOf(req: Pick<VerifyRequest, 'headers' | 'url'>): Attempt {
  const header = one(req.headers.authorization);
  if (header !== undefined) {
    const split = splitAuthorizationHeader(header);
    if (!split.ok) return { method: split.code === 'credentials_missing' ? 'none' : 'other' };
    const { scheme, credentials } = split.value;
    if (scheme === 'basic') {
      const basic = parseBasicCredentials(credentials);
      return { method: 'basic', rawKeyId: basic.ok ? keyIdIn(basic.value.userId, 'key_id') : undefined };
    }
    if (scheme === 'bearer') {
      if (credentials.startsWith('kw_key_')) return { method: 'api-key', rawKeyId: keyIdIn(credentials, 'api_key') };
      if (credentials.startsWith('kw_st_')) return { method: 'session' };
      return { method: 'oauth2' };
    }
    if (scheme === 'oauth') {
      const parsed = parseOAuthParams(credentials);
      return parsed.ok ? oauthAttempt(parsed.value.params) : { method: 'oauth1' };
    }
    return { method: 'other' };
  }
  const apiKey = one(req.headers['x-api-key']);
  if (apiKey !== undefined) return { method: 'api-key', rawKeyId: keyIdIn(apiKey.trim(), 'api_key') };
  const q = req.url.indexOf('?');
  if (q !== -1 && req.url.includes('oauth_', q)) {
    const query = new URLSearchParams(req.url.slice(q + 1));
    if (query.has('oauth_consumer_key') || query.has('oauth_token')) return oauthAttempt([...query]);
  }
  return { method: 'none' };
}

/** What the access log says about a request's verification. */
export interface VerificationNote {
  /** The method used, or tried when refused. */
  readonly method: string;
  /** The key (`kw_kid_…`): the principal's, or the one a refused request named. */
  readonly keyId?: string | undefined;
  /** The refusal code, when refused. */
  readonly code?: string | undefined;
}

// On the request's headers object: adapters hand the verifier the Node request's own headers
// (fromNodeRequest), so the request's hooks find its note without the verifier knowing Fastify.
// A symbol-keyed property, not a WeakMap: a WeakMap entry per request costs the garbage
// collector (ephemeron barriers showed in the request path's profile); the note goes with the
// headers object.
const NOTE = Symbol('keyward.verification');

/** The last verification of the request whose headers object this is, if it was verified. */
export function verificationOf(headers: object): VerificationNote | undefined {
  return (headers as { [NOTE]?: VerificationNote })[NOTE];
}

// Raw ids of the formatted key ids of accepted requests, so that a key's every request does not
// parse its id again (checksum included); bounded, and dropped whole when full.
const RAW_IDS_MAX = 10_000;

/**
 * The verifier, counting and timing every verification (`verify`, and `verifyKeySecret` that the
 * OAuth endpoints authenticate their clients with) for the metrics, when given, and per key and
 * hour in `outcomes`, when given.
 */
export function instrumentVerifier(
  verifier: Verifier,
  metrics: Metrics | undefined,
  outcomes?: OutcomeCounter | undefined,
): Verifier {
  const seen = (outcome: Outcome, method: string, rawKeyId: string | undefined, address: () => string): void => {
    const code = outcome.ok ? undefined : outcome.code;
    metrics?.verifications.inc({ method, outcome: outcome.ok ? 'accepted' : 'refused', code: code ?? 'none' });
    // Only refusals keep an address: it is what tells an operator where failures come from.
    outcomes?.record({
      rawKeyId,
      method,
      outcome: outcome.ok ? 'accepted' : 'refused',
      code,
      address: outcome.ok ? undefined : address(),
    });
  };
  const rawIds = new Map<string, string | undefined>();
  const rawIdOf = (keyId: string | undefined): string | undefined => {
    if (keyId === undefined) return undefined;
    let raw = rawIds.get(keyId);
    if (raw === undefined && !rawIds.has(keyId)) {
      raw = keyIdIn(keyId, 'key_id');
      if (rawIds.size >= RAW_IDS_MAX) rawIds.clear();
      rawIds.set(keyId, raw);
    }
    return raw;
  };
  return {
    ...verifier,
    async verify(req, route) {
      const started = metrics === undefined ? 0 : performance.now();
      const outcome: Outcome = await verifier.verify(req, route);
      let note: VerificationNote;
      if (outcome.ok) {
        const { method, keyId } = outcome.principal;
        seen(outcome, method, rawIdOf(keyId), () => '');
        note = { method, keyId, code: undefined };
      } else {
        const attempt = attemptOf(req);
        seen(outcome, attempt.method, attempt.rawKeyId, () => verifier.transportOf(req).clientIp);
        const keyId =
          attempt.rawKeyId === undefined ? undefined : formatKeywardString('key_id', { id: attempt.rawKeyId });
        note = { method: attempt.method, keyId, code: outcome.code };
      }
      metrics?.verificationSeconds.observe({ method: note.method }, (performance.now() - started) / 1000);
      (req.headers as { [NOTE]?: VerificationNote })[NOTE] = note;
      return outcome;
    },
    async verifyKeySecret(input) {
      const started = metrics === undefined ? 0 : performance.now();
      const outcome = await verifier.verifyKeySecret(input);
      metrics?.verificationSeconds.observe({ method: input.method }, (performance.now() - started) / 1000);
      seen(outcome, input.method, rawIdOf(input.keyId), () => input.transport.clientIp);
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
  // A callback hook: it runs on every request and needs no promise.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL: ids in paths would make unbounded label sets.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000);
    done();
  });
  const onRequest = config.metricsToken === undefined ? [] : [metricsTokenGuard(app.kw, config.metricsToken)];
  app.get('/metrics', { schema: { hide: true }, onRequest }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
});
