/**
 * Scope checks for a principal already verified, shared by the verifier and the route guards
 * of every adapter and of the server, so that all of them refuse alike: 403
 * `insufficient_scope` with the RFC 6750 §3.1 challenge of the scheme the principal used.
 *
 * @packageDocumentation
 */

import type { VerifierContext } from './context.js';
import type { Principal, Refusal } from './types.js';

/** 403 `insufficient_scope` unless `principal` has every one of `scopes`. */
export function checkScopes(
  ctx: VerifierContext,
  principal: Principal,
  scopes: readonly string[],
): Refusal | undefined {
  const missing = scopes.filter((s) => !principal.scopes.includes(s));
  if (missing.length === 0) return undefined;
  return ctx.refuse(
    'insufficient_scope',
    { detail: `requires ${missing.join(' ')}`, scopes },
    ctx.httpSchemeOf(principal.method),
  );
}
