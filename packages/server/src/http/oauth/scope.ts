/**
 * The `scope` parameter of a token request (RFC 6749 §3.3): narrowing only, never widening.
 *
 * @packageDocumentation
 */

import { OAuthError } from './errors.js';

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), the key settings' syntax.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/**
 * The scopes to grant: those requested, when they are all the key's (RFC 6749 §3.3: the server
 * may narrow, and here it never adds), or the key's own when `scope` is left out or empty. A
 * malformed or foreign scope is `invalid_scope` (RFC 6749 §5.2).
 */
export function grantedScopes(requested: string | undefined, keyScopes: readonly string[]): string[] {
  // RFC 6749 §3.3: when the client omits `scope`, the server uses a pre-defined default: here
  // every scope of the key. An empty `scope=` is the same request: RFC 6749 §3.2 says parameters
  // sent without a value MUST be treated as omitted (the form parser drops them). It grants
  // nothing the key does not hold, and is documented so (README, /oauth/token).
  if (requested === undefined) return [...keyScopes];
  // RFC 6749 §3.3: "a list of space-delimited, case-sensitive strings".
  const tokens = requested.split(' ');
  const wanted: string[] = [];
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token))
      throw new OAuthError('invalid_scope', 'scope must be scope tokens separated by one space');
    if (!wanted.includes(token)) wanted.push(token);
  }
  const missing = wanted.filter((s) => !keyScopes.includes(s));
  if (missing.length > 0) {
    // The key's own scope names are not secret to the key's holder; the request's are echoed only as a count.
    throw new OAuthError('invalid_scope', `${missing.length} requested scope(s) are not granted to this client`);
  }
  return wanted;
}
