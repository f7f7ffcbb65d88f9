/**
 * What every route module of the server gets through `fastify.kw`: the configuration, the store,
 * the verifier and the shared state, plus the guards that routes put in front of themselves.
 *
 * @packageDocumentation
 */

import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { fromNodeRequest } from '../adapters/http.js';
import type { KeywardConfig } from '../config/index.js';
import type { SharedState } from '../state/backends.js';
import type { Limiter } from '../state/limiter.js';
import type { NonceStore } from '../state/nonces.js';
import type { Clock } from '../store/context.js';
import type { Account, Actor, Store } from '../store/index.js';
import type { Transport } from '../verify/transport.js';
import type { Principal } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { ApiError } from './errors.js';
import type { Metrics } from './metrics.js';

/** The server's shared parts, on `fastify.kw`. */
export interface ServerContext {
  readonly config: KeywardConfig;
  readonly store: Store;
  readonly verifier: Verifier;
  readonly nonces: NonceStore;
  readonly limiter: Limiter;
  /** Where nonces, limits and invalidations are shared with the other instances. */
  readonly state: SharedState;
  readonly clock: Clock;
  readonly metrics: Metrics;
}

/** Where a request comes from, as the verifier sees it (forwarded headers from trusted proxies only). */
export function clientTransport(ctx: ServerContext, request: FastifyRequest): Transport {
  return ctx.verifier.transportOf(fromNodeRequest(request.raw));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The Keyward server's shared parts. */
    kw: ServerContext;
  }
}

/** A route module: a Fastify plugin with TypeBox schemas, registered by the app. */
export type RouteModule = FastifyPluginAsyncTypebox;

/** Scopes reserved for Keyward's own APIs; only admin accounts may hold them. */
export const RESERVED_SCOPE_PREFIX = 'keyward:';
/** Scope of an admin API key. */
export const ADMIN_SCOPE = 'keyward:admin';
/** Scope of a key that may call `POST /v1/verify`. */
export const VERIFY_SCOPE = 'keyward:verify';

/** The verified principal of a request that passed `protect()`; a misuse (unprotected route) is a bug. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.keyward === null) throw new TypeError('route reads the principal but is not protected');
  return request.keyward;
}

/** The principal of a request made with a session (plain or signed); else 403 `forbidden`. */
export function sessionPrincipal(request: FastifyRequest): Principal & { readonly sessionId: string } {
  const principal = principalOf(request);
  if (principal.sessionId === undefined) throw new ApiError('forbidden', 'this endpoint needs a session: log in first');
  return principal as Principal & { readonly sessionId: string };
}

/**
 * The account behind an admin request: an active admin account, reached through its session or
 * through one of its keys that holds the `keyward:admin` scope (sessions of admin accounts carry
 * it). A principal without the scope is 403 `insufficient_scope`, as the verifier answers a
 * route's scope check; an account that is not an active admin is 403 `forbidden`.
 */
export async function requireAdmin(ctx: ServerContext, request: FastifyRequest): Promise<Account> {
  const principal = principalOf(request);
  const refusal = ctx.verifier.checkScopes(principal, [ADMIN_SCOPE]);
  if (refusal !== undefined) throw ApiError.of(refusal);
  const account = await ctx.store.accounts.find(principal.accountId);
  if (account === undefined || account.role !== 'admin' || account.status !== 'active') {
    throw new ApiError('forbidden', 'an admin account is needed');
  }
  return account;
}

/** The audit actor of a request: the account (session) or key that made it, and its address. */
export function actorOf(request: FastifyRequest): Actor {
  const principal = request.keyward;
  if (principal === null) return { type: 'system', ip: request.ip };
  return principal.keyId === undefined
    ? { type: 'account', id: principal.accountId, ip: request.ip }
    : { type: 'key', id: principal.keyId, ip: request.ip };
}
