/**
 * Identity headers: who the caller is, as forward-auth answers it to a reverse proxy and as the
 * gateway adds it to the upstream request. The upstream trusts these headers, so the same names
 * arriving from a client must always be stripped before the request reaches it.
 *
 * @packageDocumentation
 */

import type { KeywardConfig } from '../config/load.js';
import type { Principal } from '../verify/types.js';

/** The configured header names (`identityHeaders` in the configuration). */
export type IdentityHeaderNames = KeywardConfig['identityHeaders'];

/**
 * The identity headers for a verified principal: account, key (when the method is key-based),
 * session (when session-based), scopes (space-separated, as in OAuth 2.0, RFC 6749 §3.3; empty
 * when none) and method. Absent values are omitted rather than sent empty, so an upstream can
 * tell "no key" from a key.
 */
export function identityHeaders(principal: Principal, names: IdentityHeaderNames): Record<string, string> {
  const headers: Record<string, string> = { [names.account]: principal.accountId };
  if (principal.keyId !== undefined) headers[names.key] = principal.keyId;
  if (principal.sessionId !== undefined) headers[names.session] = principal.sessionId;
  headers[names.scopes] = principal.scopes.join(' ');
  headers[names.method] = principal.method;
  return headers;
}

/**
 * Every identity header name, in lower case (as Node gives request headers): the names to strip
 * from a client's request before it reaches the upstream, or a client could claim any identity.
 */
export function identityHeaderNames(config: Pick<KeywardConfig, 'identityHeaders'>): string[] {
  return Object.values(config.identityHeaders).map((name) => name.toLowerCase());
}

/** Alias of {@link identityHeaderNames}, the name the brief gave it. */
export const IDENTITY_HEADER_NAMES = identityHeaderNames;
