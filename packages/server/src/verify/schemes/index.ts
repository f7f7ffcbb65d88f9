/**
 * Keyward's own schemes, one per method of core's method table, in the table's order (the order
 * the verifier tries them).
 *
 * @packageDocumentation
 */

import type { BuiltinMethod } from '@keyward/core';
import type { Scheme } from '../scheme.js';
import { apiKeyScheme } from './api-key.js';
import { basicScheme } from './basic.js';
import { oauth1Scheme } from './oauth1.js';
import { oauth2Scheme } from './oauth2.js';
import { sessionScheme } from './session.js';
import { signedSessionScheme } from './signed-session.js';

// Keyed by method so that a method added to the table without its scheme fails to compile.
const BY_METHOD: { readonly [M in BuiltinMethod]: Scheme } = {
  basic: basicScheme as Scheme,
  'api-key': apiKeyScheme as Scheme,
  oauth2: oauth2Scheme as Scheme,
  oauth1: oauth1Scheme as Scheme,
  session: sessionScheme as Scheme,
  'signed-session': signedSessionScheme as Scheme,
};

/** Keyward's own schemes, in core's method-table order. */
export const BUILTIN_SCHEMES: readonly Scheme[] = Object.values(BY_METHOD);
