/**
 * The web console's session: the `kw_st_…` session token of a login made through the console,
 * carried in an HttpOnly cookie instead of an `Authorization` header, so that no script of the
 * page (an injected one included) can read it. Enabled only when the server serves the console.
 *
 * A cookie is ambient authority: the browser sends it with every request to this host. So every
 * request that authenticates with it must also carry the console's CSRF token in
 * `X-CSRF-Token`, a synchronizer token bound to the session (made and checked by
 * `@fastify/csrf` from a per-login secret kept in a second HttpOnly cookie). It is required on
 * reads too, not only on state-changing calls: then the cookie alone, which the browser would
 * also send to an API that Keyward protects on the same host (forward-auth), is never a
 * credential. Cookies are `SameSite=Strict` on top of that (RFC 6265bis §8.8), and on TLS
 * `Secure` with the `__Host-` prefix, so that no other host under the same site can plant them.
 *
 * A request that also carries an `Authorization` header is left to the scheme of that header.
 *
 * @packageDocumentation
 */

import { Tokens } from '@fastify/csrf';
import { parseCookie } from 'cookie';
import type { VerifierContext } from '../context.js';
import { headerValue } from '../context.js';
import { defineScheme } from '../scheme.js';
import type { Transport } from '../transport.js';
import type { Outcome } from '../types.js';
import { admitSession, sessionProblem } from './session.js';

/** The method name of the console's cookie session (the principal's `method`). */
export const CONSOLE_METHOD = 'console-session';

/** The request header that carries the CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';

/** The names of the console's two cookies: over TLS with the `__Host-` prefix (RFC 6265bis §4.1.3.2). */
export function consoleCookieNames(secure: boolean): { readonly session: string; readonly csrf: string } {
  return secure
    ? { session: '__Host-keyward_session', csrf: '__Host-keyward_csrf' }
    : { session: 'keyward_session', csrf: 'keyward_csrf' };
}

// One token per (secret, session): `userInfo` binds a token to the session id, so a token made
// for one session is refused with another, whatever secret cookie comes with it.
const tokens = new Tokens({ userInfo: true });

/** A new CSRF secret, for the HttpOnly cookie set at login. */
export function newCsrfSecret(): string {
  return tokens.secretSync();
}

/** The CSRF token the page sends with each request of the session `sessionId`. */
export function csrfTokenFor(secret: string, sessionId: string): string {
  return tokens.create(secret, sessionId);
}

/** Whether `token` was made by {@link csrfTokenFor} from this secret for this session (constant time). */
export function csrfTokenValid(secret: string | undefined, token: string | undefined, sessionId: string): boolean {
  if (secret === undefined || token === undefined) return false;
  return tokens.verify(secret, token, sessionId);
}

/** The console's cookies of a request, as the transport names them (the wrong prefix is ignored). */
export function consoleCookies(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  transport: Pick<Transport, 'secure'>,
): { session?: string | undefined; csrf?: string | undefined } {
  const raw = headers.cookie;
  if (raw === undefined) return {};
  const names = consoleCookieNames(transport.secure);
  const jar = parseCookie(typeof raw === 'string' ? raw : raw.join('; '));
  return { session: jar[names.session], csrf: jar[names.csrf] };
}

interface Claimed {
  readonly token: string;
  readonly csrfSecret: string | undefined;
}

/**
 * The `console-session` scheme. Its credential is a session token, so it is refused over plain
 * HTTP except from loopback or a trusted proxy that says `https`, like the bearer session. A
 * cookie is not an HTTP authentication scheme (RFC 7235): it offers no challenge, so adding it
 * changes no `WWW-Authenticate` answer of the server.
 */
export const consoleCookieScheme = defineScheme<Claimed>({
  method: CONSOLE_METHOD,
  httpScheme: 'cookie',
  sendsSecret: true,
  needsBody: () => false,
  claim({ authorization, request, transport }) {
    if (authorization !== undefined || headerValue(request, 'authorization') !== undefined) return undefined;
    const { session, csrf } = consoleCookies(request.headers, transport);
    if (session === undefined || session === '') return undefined;
    return { claimed: { token: session, csrfSecret: csrf } };
  },
  async verify({ token, csrfSecret }, { request, transport }, ctx: VerifierContext): Promise<Outcome> {
    const found = token.startsWith('kw_st_') ? await ctx.credentials.session(token) : undefined;
    if (found === undefined || found.sealedSecret !== null) {
      // A signed session's token alone proves nothing (see the session scheme).
      return (await ctx.recordFailure(transport)) ?? ctx.refuse('session_invalid');
    }
    // The token before anything else the session could tell: a request without it learns
    // nothing about the session, and changes nothing (not even its idle expiry).
    if (!csrfTokenValid(csrfSecret, headerValue(request, CSRF_HEADER), found.session.id)) {
      return ctx.refuse('csrf_token_invalid');
    }
    const checked = await sessionProblem(ctx, transport, found.session, 'bearer');
    if ('ok' in checked) return checked;
    return admitSession(ctx, found.session, checked.scopes, CONSOLE_METHOD);
  },
  challenge: () => '',
});
