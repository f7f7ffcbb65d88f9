/**
 * `keyward gateway`: a reverse proxy that protects an upstream API without touching its code.
 * Every request is matched against the route rules, verified by the same verifier the server
 * uses (same store, same nonce store, same policy), and forwarded through `@fastify/reply-from`
 * (undici, keep-alive to the upstream) with identity headers added, spoofed ones and credentials
 * stripped. Refusals are the server's: same status, body and challenges (`renderRefusal`).
 *
 * Bodies stream both ways untouched. A request body is read before forwarding only when the
 * verifier says a scheme needs it (OAuth 1.0a form parameters, body hashes), up to
 * `gatewayBodyLimitBytes` (413 beyond), and then forwarded byte for byte.
 *
 * @packageDocumentation
 */

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import replyFrom from '@fastify/reply-from';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { fromNodeRequest, renderRefusal } from '../adapters/http.js';
import { type KeywardConfig, storeConfigOf } from '../config/index.js';
import type { ErrorCode } from '../errors/codes.js';
import { instrumentVerifier } from '../http/metrics.js';
import { baseServerOptions, logRequests } from '../http/server-options.js';
import { createServerVerifier } from '../http/server-verifier.js';
import { inProcessState, nonceStoreOf, openSharedState } from '../state/backends.js';
import { MemoryLimiter } from '../state/limiter.js';
import type { OwnNonceStore } from '../state/nonces.js';
import { type Clock, systemClock } from '../store/context.js';
import { openStore, type Store } from '../store/index.js';
import { type Limiter, type NonceStore, StoreUnavailableError } from '../verify/ports.js';
import type { Principal, Refusal } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { identityHeaderNames, identityHeaders } from './identity.js';
import { DEFAULT_RULES, matchRoute, type RouteRule, type RouteRules, routeOptions } from './rules.js';
import { type GatewayUpgrades, handleUpgrades } from './websocket.js';

/** What {@link createGateway} takes besides the configuration. */
export interface GatewayOptions {
  /** The protected API: an http(s) URL, optionally with a path prefix requests are put under. */
  readonly upstream: string;
  /** The route rules in force; default {@link DEFAULT_RULES} (every path needs a credential). */
  readonly rules?: RouteRules | undefined;
  /** An open store to use (tests, or `serve` running both); by default one is opened. */
  readonly store?: Store | undefined;
  /**
   * The nonce store and limiter of a server in the same process (`serve` running both), so that
   * a failure counts once against both listeners and the nonce table is swept once. By default
   * the gateway makes its own on the store, and sweeps its nonces.
   */
  readonly shared?: { readonly nonces: NonceStore; readonly limiter: Limiter } | undefined;
  readonly clock?: Clock | undefined;
  /** Upstream timeout in milliseconds; default `gatewayUpstreamTimeoutSeconds` of the configuration. */
  readonly upstreamTimeoutMs?: number | undefined;
  /** Fastify's logger setting; default pino at the configured level, credentials redacted. */
  readonly logger?: FastifyServerOptions['logger'] | undefined;
  /**
   * The origin the gateway's callers reach and sign OAuth 1.0a requests against. Default
   * `gatewayPublicUrl`, else {@link gatewayOrigin} of `host` and `gatewayPort`.
   */
  readonly publicUrl?: string | undefined;
}

/**
 * The gateway's default public origin: `http(s)://<host>:<port>`, `localhost` for a wildcard
 * bind (callers cannot sign against `0.0.0.0`), as the server's default `publicUrl` is made.
 */
export function gatewayOrigin(config: Pick<KeywardConfig, 'host' | 'tls'>, port: number): string {
  const { host } = config;
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return new URL(`${config.tls === undefined ? 'http' : 'https'}://${name}:${port}`).origin;
}

/** A built, not yet listening, gateway. */
export interface KeywardGateway {
  readonly app: FastifyInstance;
  readonly verifier: Verifier;
  /** Graceful stop: in-flight requests finish, then the store is closed (when the gateway opened it). */
  close(): Promise<void>;
}

// Nonces outlive the timestamp window; expired rows are swept this often (as the server does).
const NONCE_SWEEP_MS = 60_000;

/** Headers that carry the client's credentials: never logged, stripped unless a rule passes them. */
export const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'x-api-key'] as const;

// Hop-by-hop headers (RFC 9110 §7.6.1) and ones undici refuses to send: the gateway speaks its
// own connection to the upstream. `proxy-authorization` is meant for the gateway, not beyond it.
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
];

/** What the gateway decided for a request before its body. */
interface Decision {
  readonly rule: RouteRule | undefined;
  /** Verified before the body (a scheme that does not need it), or after buffering it. */
  principal?: Principal;
  /** The body must be read to verify: buffered by the parser, verified in preHandler. */
  readonly buffer: boolean;
}

const decisions = new WeakMap<FastifyRequest, Decision>();

/** The path of a request-target, without its query. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Reads a body up to `limit` bytes; rejects with a 413 error beyond (without reading the rest). */
function readCapped(payload: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: Error) => {
      payload.off('data', onData);
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        payload.pause();
        fail(Object.assign(new Error('body too large to verify'), { statusCode: 413 }));
      } else chunks.push(chunk);
    };
    payload.on('data', onData);
    payload.once('end', () => resolve(Buffer.concat(chunks, size)));
    payload.once('error', fail);
  });
}

/** Parses an upstream URL: http(s), no credentials, no query. Throws `TypeError` otherwise. */
export function parseUpstream(upstream: string): { origin: string; prefix: string } {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new TypeError(`upstream must be an http(s) URL, not "${upstream}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`upstream must be an http(s) URL, not "${upstream}"`);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw new TypeError('upstream must not carry credentials, a query or a fragment');
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

/**
 * The headers the upstream receives: the client's, without hop-by-hop headers, without any
 * identity header the client sent (it could claim any identity), without credentials unless the
 * rule passes them; then the identity of the verified principal.
 */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  options: {
    readonly rule: RouteRule | undefined;
    readonly principal: Principal | undefined;
    readonly identityNames: readonly string[];
    readonly config: Pick<KeywardConfig, 'identityHeaders'>;
  },
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // Node's Connection header names further hop-by-hop headers (RFC 9110 §7.6.1).
  const listed = String(incoming.connection ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const drop = new Set<string>([...HOP_BY_HOP, ...listed, ...options.identityNames]);
  if (options.rule?.passCredentials !== true) for (const h of CREDENTIAL_HEADERS) drop.add(h);
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || drop.has(name)) continue;
    out[name] = value;
  }
  if (options.principal !== undefined)
    Object.assign(out, identityHeaders(options.principal, options.config.identityHeaders));
  return out;
}

/**
 * Builds the gateway on its store; resolves once it is ready. The verifier is the server's
 * (built by the same function from the same configuration) with the gateway's public origin,
 * which OAuth 1.0a clients of the gateway sign against.
 */
export async function createGateway(config: KeywardConfig, options: GatewayOptions): Promise<KeywardGateway> {
  const { origin, prefix } = parseUpstream(options.upstream);
  const rules = options.rules ?? DEFAULT_RULES;
  const clock = options.clock ?? systemClock;
  const timeout = options.upstreamTimeoutMs ?? config.gatewayUpstreamTimeoutSeconds * 1000;
  const bodyLimit = config.gatewayBodyLimitBytes;
  const identityNames = identityHeaderNames(config);
  const ownsStore = options.store === undefined;
  // Alone, the gateway is an instance of its own: it opens the shared state (a member of the
  // invalidation channel) and its store with it. Beside a server, or on a store given to it, it
  // uses what it is given.
  const state = ownsStore ? await openSharedState(config, { member: true, clock }) : inProcessState();
  let store: Store;
  try {
    store = options.store ?? (await openStore(storeConfigOf(config, { clock, invalidations: state.bus })));
  } catch (error) {
    await state.close();
    throw error;
  }
  let ownNonces: OwnNonceStore | undefined;
  let nonces: NonceStore;
  let limiter: Limiter;
  if (options.shared === undefined) {
    ({ nonces, own: ownNonces } = await nonceStoreOf(state, store, clock));
    limiter = state.limiter ?? new MemoryLimiter(clock);
  } else ({ nonces, limiter } = options.shared);

  // A large upload needs a request timeout long enough for it (KEYWARD_REQUEST_TIMEOUT).
  const app = Fastify(baseServerOptions(config, options.logger));
  logRequests(app, config);

  // Instrumented for the per-key outcome counts and the access log (the gateway serves no metrics).
  const verifier = instrumentVerifier(
    createServerVerifier(
      {
        ...config,
        publicUrl: new URL(options.publicUrl ?? config.gatewayPublicUrl ?? gatewayOrigin(config, config.gatewayPort))
          .origin,
      },
      {
        store,
        nonces,
        limiter,
        clock,
        onError: (error, { requestId }) => {
          if (error instanceof StoreUnavailableError) app.log.error({ err: error }, 'verifier failed closed');
          else app.log.error({ err: error, reqId: requestId }, 'verifier fault');
        },
      },
    ),
    undefined,
    store.outcomes,
  );

  const refuse = (request: FastifyRequest, reply: FastifyReply, refusal: Refusal): FastifyReply => {
    const rendered = renderRefusal(refusal, String(request.id));
    return reply.code(rendered.status).headers(rendered.headers).send(rendered.body);
  };
  const refuseCode = (request: FastifyRequest, reply: FastifyReply, code: ErrorCode, detail?: string) =>
    refuse(request, reply, verifier.refuse(code, detail === undefined ? {} : { detail }));

  const verify = async (request: FastifyRequest, reply: FastifyReply, decision: Decision, body?: Buffer) => {
    if (decision.rule === undefined) return undefined;
    try {
      const outcome = await verifier.verify(fromNodeRequest(request.raw, body), routeOptions(decision.rule));
      if (!outcome.ok) return refuse(request, reply, outcome);
      decision.principal = outcome.principal;
      return undefined;
    } catch (error) {
      return refuse(request, reply, verifier.fault(error, String(request.id)));
    }
  };

  await app.register(replyFrom, {
    base: origin,
    undici: { headersTimeout: timeout, bodyTimeout: timeout },
    disableRequestLogging: true,
    // Each request is forwarded once: a retried non-idempotent call could run twice upstream.
    retryMethods: [],
  });

  // Bodies are not parsed: a request body is handed on as the stream it is, unless verifying
  // needs it, when it is read (capped) into one buffer.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    if (decisions.get(request)?.buffer !== true) {
      done(null, payload);
      return;
    }
    readCapped(payload, bodyLimit).then(
      (body) => done(null, body),
      (error: Error) => done(error),
    );
  });

  // Before the body: the rule, and for a request whose scheme does not need the body, the
  // verification, so that an unauthenticated upload is refused before a byte of it is read.
  app.addHook('onRequest', async (request, reply) => {
    const raw = request.raw;
    const rule = matchRoute(rules, raw.method ?? 'GET', pathOf(raw.url ?? '/'));
    if (rule === undefined && rules.denyUnmatched) return refuseCode(request, reply, 'route_not_allowed');
    const guarded = rule !== undefined && rule.public !== true;
    const buffer =
      guarded && verifier.needsBody({ method: raw.method ?? 'GET', url: raw.url ?? '/', headers: raw.headers });
    const decision: Decision = { rule: guarded ? rule : undefined, buffer };
    decisions.set(request, decision);
    if (guarded && !buffer) return verify(request, reply, decision);
    return undefined;
  });

  app.addHook('preHandler', async (request, reply) => {
    const decision = decisions.get(request);
    if (decision?.buffer !== true) return undefined;
    // GET and HEAD bodies are not read by Fastify: verified as bodiless, as they are forwarded.
    const body = Buffer.isBuffer(request.body) ? request.body : undefined;
    return verify(request, reply, decision, body);
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error.statusCode === 413) return refuseCode(request, reply, 'body_too_large');
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
      return refuseCode(request, reply, 'malformed_request');
    return refuse(request, reply, verifier.fault(error, String(request.id)));
  });

  const forward = (request: FastifyRequest, reply: FastifyReply) => {
    const decision = decisions.get(request);
    const raw = request.raw;
    const buffered = Buffer.isBuffer(request.body) ? request.body : undefined;
    return reply.from(`${prefix}${raw.url ?? '/'}`, {
      // A buffered body goes as the exact bytes received (reply-from would re-encode JSON).
      ...(buffered === undefined ? {} : { body: buffered, contentType: raw.headers['content-type'] ?? '' }),
      rewriteRequestHeaders: (_request, headers) => {
        const out = upstreamHeaders(raw.headers, {
          rule: decision?.rule,
          principal: decision?.principal,
          identityNames,
          config,
        });
        out.host = String(headers.host);
        if (headers['content-length'] !== undefined) out['content-length'] = String(headers['content-length']);
        // The client's Content-Type, verbatim (reply-from would keep only its media type).
        if (raw.headers['content-type'] === undefined) delete out['content-type'];
        return out;
      },
      onError: (fromReply, { error }) => {
        const code: ErrorCode =
          (error as { statusCode?: number }).statusCode === 504 ? 'upstream_timeout' : 'upstream_unavailable';
        fromReply.request.log.warn({ err: error }, 'upstream failed');
        refuseCode(request, fromReply as unknown as FastifyReply, code);
      },
    });
  };
  app.all('/', forward);
  app.all('/*', forward);

  const upgrades: GatewayUpgrades = handleUpgrades(app, {
    origin,
    prefix,
    rules,
    verifier,
    timeoutMs: timeout,
    headersFor: (req: IncomingMessage, rule, principal) =>
      upstreamHeaders(req.headers, { rule, principal, identityNames, config }),
  });

  ownNonces?.start(NONCE_SWEEP_MS, (error) => app.log.warn({ err: error }, 'nonce sweep failed'));
  await app.ready();

  let closing: Promise<void> | undefined;
  return {
    app,
    verifier,
    close() {
      closing ??= (async () => {
        ownNonces?.stop();
        upgrades.close();
        try {
          await app.close();
        } finally {
          try {
            if (ownsStore) await store.close();
            else await Promise.all([store.usage.flush(), store.outcomes.flush()]);
          } finally {
            await state.close();
          }
        }
      })();
      return closing;
    },
  };
}
