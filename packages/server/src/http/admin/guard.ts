/**
 * The admin API's guard: the caller's credentials are verified (`protect()`), then the caller
 * must be an active admin account, through its session or a key with `keyward:admin`
 * ({@link requireAdmin}). Both run at `preValidation`, so a caller who is not an admin learns
 * nothing from schema errors.
 *
 * @packageDocumentation
 */

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Account } from '../../store/index.js';
import { requireAdmin } from '../context.js';

const admins = new WeakMap<FastifyRequest, Account>();

/** The `preValidation` hooks of an admin route. */
export function adminGuard(app: FastifyInstance) {
  return [
    app.keyward.protect(),
    async function keywardRequireAdmin(request: FastifyRequest) {
      admins.set(request, await requireAdmin(app.kw, request));
    },
  ];
}

/** The admin account behind a request that passed {@link adminGuard}. */
export function adminOf(request: FastifyRequest): Account {
  const account = admins.get(request);
  if (account === undefined) throw new TypeError('route reads the admin but is not guarded');
  return account;
}
