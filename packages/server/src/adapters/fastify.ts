/**
 * Fastify plugin: keeps the raw body where OAuth 1.0a needs it, declares `request.keyward`, and
 * gives `fastify.keyward.protect(route?)`, a hook that verifies the request and answers
 * 401/403/429/503 itself with the one JSON error shape and the right headers.
 *
 * @packageDocumentation
 */

import type { IncomingMessage } from 'node:http';
import { pipeline, type Readable, Transform } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RequestHead } from '../verify/scheme.js';
import type { Outcome, Principal, Refusal, RouteOptions } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { fromNodeRequest, rawBodyOf, renderRefusal } from './http.js';

/** Options of {@link keywardFastify}. */
export interface KeywardFastifyOptions {
  readonly verifier: Verifier;
  /**
   * Largest raw body kept for OAuth 1.0a, in bytes. Default 1 MiB. A protected request whose
   * body was needed but is larger is refused with 413; Fastify's `bodyLimit` still applies first.
   */
  readonly rawBodyLimit?: number | undefined;
  /**
   * Register a parser for `application/x-www-form-urlencoded` that hands the route the body as a
   * string, when the app has none yet (Fastify answers 415 to form bodies without one). Default
   * true. An app with its own form parser registers it before this plugin, or sets false.
   */
  readonly formParser?: boolean | undefined;
}

/** The hook {@link KeywardFastify.protect} returns: a `preValidation` or `preHandler` hook. */
export type KeywardHook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/** What the plugin puts on the Fastify instance as `fastify.keyward`. */
export interface KeywardFastify {
  /**
   * A hook that lets only verified callers through and sets `request.keyward`. Use it as a route's
   * `preValidation` (unauthenticated callers then never see schema validation errors) or
   * `preHandler`, or add it to an encapsulated scope with `addHook`. Not as `onRequest`: the body
   * is not read yet there, and OAuth 1.0a form parameters and body hashes need it.
   *
   * A request verified once (by a scope's hook) is not verified again (an OAuth 1.0a nonce is
   * single-use): a later hook only checks its scopes.
   */
  protect(route?: RouteOptions): KeywardHook;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Keyward's route protection, from {@link keywardFastify}. */
    keyward: KeywardFastify;
  }
  interface FastifyRequest {
    /** The verified principal, set by `fastify.keyward.protect()`; null on unprotected routes. */
    keyward: Principal | null;
  }
}

const DEFAULT_RAW_BODY_LIMIT = 1024 * 1024;
const FORM_TYPE = 'application/x-www-form-urlencoded';

// Requests whose raw body was needed but passed the cap: refused at protect time only, so the
// cap never touches unprotected routes.
const overCap = new WeakSet<IncomingMessage>();
// Requests verified with requireBodyHash, so a later hook asking for it knows it was checked.
const bodyHashChecked = new WeakSet<FastifyRequest>();

/**
 * A stream of the same bytes that keeps a copy of up to `limit` of them on `raw.rawBody` once
 * the body has ended, i.e. before Fastify's parser finishes.
 */
function copyingStream(raw: IncomingMessage, payload: Readable, limit: number): Transform {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  const copy = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!over) {
        size += chunk.length;
        if (size > limit) {
          over = true;
          chunks.length = 0;
        } else chunks.push(chunk);
      }
      callback(null, chunk);
    },
    flush(callback) {
      if (over) overCap.add(raw);
      else raw.rawBody = Buffer.concat(chunks, size);
      callback();
    },
  });
  // Stay transparent to a decoding stream before ours (Fastify checks Content-Length against it).
  Object.defineProperty(copy, 'receivedEncodedLength', {
    get: () => (payload as { receivedEncodedLength?: number }).receivedEncodedLength,
  });
  // An error upstream (client gone) destroys the copy with it, which Fastify's parser reports.
  pipeline(payload, copy, () => {});
  return copy;
}

// What the schemes look at to say whether they need the body: known before it is read.
function requestHead(raw: IncomingMessage): RequestHead {
  return { method: raw.method ?? 'GET', url: raw.url ?? '/', headers: raw.headers };
}

function refuse(request: FastifyRequest, reply: FastifyReply, refusal: Refusal): FastifyReply {
  const rendered = renderRefusal(refusal, String(request.id));
  return reply.code(rendered.status).headers(rendered.headers).send(rendered.body);
}

const plugin: FastifyPluginAsync<KeywardFastifyOptions> = async (fastify, options) => {
  const { verifier } = options;
  if (typeof verifier?.verify !== 'function') throw new TypeError('keywardFastify needs { verifier }');
  const limit = options.rawBodyLimit ?? DEFAULT_RAW_BODY_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new TypeError('rawBodyLimit must be a whole number of bytes');

  // Fastify 5 wants decorators declared before any request uses them.
  fastify.decorateRequest('keyward', null);

  // A callback hook, not an async one: it runs on every request, bodiless ones included, and
  // Fastify continues a callback hook at once where it would wait a microtask for a promise.
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    done(null, verifier.needsBody(requestHead(request.raw)) ? copyingStream(request.raw, payload, limit) : payload);
  });

  if (options.formParser !== false && !fastify.hasContentTypeParser(FORM_TYPE)) {
    fastify.addContentTypeParser(FORM_TYPE, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  }

  fastify.decorate('keyward', {
    protect(route: RouteOptions = {}): KeywardHook {
      return async function keywardProtect(request, reply) {
        const earlier = request.keyward;
        if (earlier !== null) {
          if (route.requireBodyHash === true && !bodyHashChecked.has(request))
            throw new TypeError('requireBodyHash belongs on the first protect() hook a request meets');
          const refusal = verifier.checkScopes(earlier, route.scopes ?? []);
          return refusal === undefined ? undefined : refuse(request, reply, refusal);
        }
        if (overCap.has(request.raw)) {
          throw Object.assign(new Error('Request body is too large for Keyward to verify'), {
            statusCode: 413,
            code: 'KEYWARD_BODY_TOO_LARGE',
          });
        }
        let outcome: Outcome;
        try {
          outcome = await verifier.verify(fromNodeRequest(request.raw, rawBodyOf(request.raw)), route);
        } catch (error) {
          // A fault (not bad input): 500 internal_error in the one shape, reported to onError.
          return refuse(request, reply, verifier.fault(error, String(request.id)));
        }
        if (!outcome.ok) return refuse(request, reply, outcome);
        request.keyward = outcome.principal;
        if (route.requireBodyHash === true) bodyHashChecked.add(request);
        return undefined;
      };
    },
  } satisfies KeywardFastify);
};

/**
 * The Fastify plugin (not encapsulated: the decorators, hooks and form parser apply to the
 * whole app). Protect routes with `fastify.keyward.protect(route?)`:
 *
 * ```ts
 * await app.register(keywardFastify, { verifier });
 * app.get('/orders', { preValidation: app.keyward.protect({ scopes: ['read:orders'] }) }, (request) =>
 *   listOrders(request.keyward?.accountId),
 * );
 * // or a whole encapsulated scope:
 * app.register(async (api) => {
 *   api.addHook('preValidation', api.keyward.protect());
 *   api.post('/orders', createOrder);
 * });
 * ```
 *
 * The raw body of requests that may need it (form bodies, OAuth 1.0a requests with a body) is
 * copied as it streams to Fastify's parsers, which still parse it as usual.
 */
export const keywardFastify = fp(plugin, { fastify: '5.x', name: '@keyward/server/fastify' });

/**
 * {@link keywardFastify} with its verifier bound, for `app.register(bound)` without options;
 * what `createKeyward(...).fastify()` returns.
 */
export function boundKeywardFastify(
  verifier: Verifier,
  options: Omit<KeywardFastifyOptions, 'verifier'> = {},
): FastifyPluginAsync {
  return fp(async (fastify) => plugin(fastify, { ...options, verifier }), {
    fastify: '5.x',
    name: '@keyward/server/fastify',
  });
}
