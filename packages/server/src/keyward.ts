/**
 * `createKeyward(...)`: the verifier with its adapters, for an app that embeds Keyward.
 *
 * @packageDocumentation
 */

import type { FastifyPluginAsync } from 'fastify';
import { expressMiddleware, requireScopes } from './adapters/express.js';
import { boundKeywardFastify, type KeywardFastifyOptions } from './adapters/fastify.js';
import { type ConnectionInfo, fetchHandler, verifyRequest } from './adapters/fetch.js';
import { KeywardStrategy, type KeywardStrategyOptions } from './adapters/passport.js';
import type { Principal, RouteOptions } from './verify/types.js';
import { createVerifier, type Verifier, type VerifierOptions } from './verify/verifier.js';

/** Keyward embedded in an app: one verifier, an adapter per framework. */
export interface Keyward {
  readonly verifier: Verifier;
  /** Express/Connect middleware; sets `req.keyward`. */
  express(route?: RouteOptions): ReturnType<typeof expressMiddleware>;
  /** Express route guard for scopes, after {@link Keyward.express}. */
  requireScopes(...scopes: string[]): ReturnType<typeof requireScopes>;
  /** Verifies a web `Request`. */
  verifyRequest(request: Request, connection: ConnectionInfo, route?: RouteOptions): ReturnType<Verifier['verify']>;
  /** Wraps a web `fetch` handler so it runs only for verified callers. */
  fetchHandler(
    handler: (request: Request, principal: Principal) => Response | Promise<Response>,
    options: RouteOptions & { connection: (request: Request) => ConnectionInfo },
  ): (request: Request) => Promise<Response>;
  /**
   * The Fastify plugin bound to this verifier: `await app.register(keyward.fastify())`, then
   * `preValidation: app.keyward.protect({ scopes })` on routes; sets `request.keyward`.
   */
  fastify(options?: Omit<KeywardFastifyOptions, 'verifier'>): FastifyPluginAsync;
  /**
   * A Passport strategy on this verifier, named `'oauth'` unless told:
   * `passport.use(keyward.passport())`, then `passport.authenticate('oauth', { session: false })`.
   */
  passport(options?: Omit<KeywardStrategyOptions, 'verifier'>): KeywardStrategy;
}

/** Builds the verifier and its adapters. */
export function createKeyward(options: VerifierOptions): Keyward {
  const verifier = createVerifier(options);
  return {
    verifier,
    express: (route) => expressMiddleware(verifier, route),
    requireScopes: (...scopes) => requireScopes(verifier, scopes),
    verifyRequest: (request, connection, route) => verifyRequest(verifier, request, connection, route),
    fetchHandler: (handler, opts) => fetchHandler(verifier, handler, opts),
    fastify: (opts) => boundKeywardFastify(verifier, opts),
    passport: (opts) => new KeywardStrategy({ ...opts, verifier }),
  };
}
