/**
 * Scope checks for a principal already verified, shared by the verifier and the route guards
 * of every adapter, so that all of them refuse alike.
 *
 * @packageDocumentation
 */

import { ERROR_CODES } from '@keyward/core';
import type { Principal, Refusal } from './types.js';

/** 403 `insufficient_scope` unless `principal` has every one of `scopes`. */
export function checkScopes(principal: Principal, scopes: readonly string[]): Refusal | undefined {
  const missing = scopes.filter((s) => !principal.scopes.includes(s));
  if (missing.length === 0) return undefined;
  const { status, meaning } = ERROR_CODES.insufficient_scope;
  return { ok: false, status, code: 'insufficient_scope', message: `${meaning} (requires ${missing.join(' ')})` };
}
