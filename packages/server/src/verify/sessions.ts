/**
 * Session tokens (`Authorization: Bearer kw_st_…`) and signed sessions (OAuth 1.0a with
 * `oauth_token` = the session token and the session secret as token secret). Both are bound to
 * the client address they were issued to; what happens on a request from another address is the
 * `sessionIpPolicy` (default: revoke the session).
 *
 * @packageDocumentation
 */

import type { Session } from '../store/sessions.js';
import type { VerifierContext } from './context.js';
import type { Transport } from './transport.js';
import type { AuthMethod, Outcome, Refusal } from './types.js';

/** What to do with a session used from an address other than the one it was issued to. */
export type SessionIpPolicy = 'revoke' | 'reject' | 'allow';

/** Checks everything about a session but its credential: live, account active, same address. */
export async function sessionProblem(
  ctx: VerifierContext,
  transport: Transport,
  session: Session,
): Promise<Refusal | { scopes: string[] }> {
  const now = ctx.clock.now();
  if (session.revokedAt !== null) return ctx.refuse('session_invalid');
  if (now >= session.expiresAt || now >= session.idleExpiresAt) return ctx.refuse('session_expired');
  const account = await ctx.store.accounts.find(session.accountId);
  if (account === undefined || account.status !== 'active') return ctx.refuse('account_disabled');
  if (transport.clientIp !== session.clientIp) {
    const policy = ctx.settings.sessionIpPolicy;
    if (policy === 'revoke') await ctx.store.sessions.revoke(session.id);
    if (policy !== 'allow') return ctx.refuse('session_ip_mismatch');
  }
  // Sessions of an admin account may use the admin API; no other scope comes with a session.
  return { scopes: account.role === 'admin' ? ['keyward:admin'] : [] };
}

/** The principal of a verified session, after sliding its idle expiry. */
export async function admitSession(
  ctx: VerifierContext,
  session: Session,
  scopes: string[],
  method: AuthMethod,
): Promise<Outcome> {
  await ctx.store.sessions.touch(session, ctx.settings.sessionIdleMs);
  return { ok: true, principal: { accountId: session.accountId, sessionId: session.id, scopes, method } };
}

/** A session token presented as a bearer token. */
export async function verifySessionToken(ctx: VerifierContext, transport: Transport, token: string): Promise<Outcome> {
  const found = await ctx.store.sessions.find(token);
  if (found === undefined) {
    ctx.recordFailure(transport);
    return ctx.refuse('session_invalid', { bearerPresented: true });
  }
  // A signed session's token alone proves nothing: every request must be signed.
  if (found.sealedSecret !== null) {
    return ctx.refuse('session_invalid', { detail: 'a signed session must sign each request', bearerPresented: true });
  }
  const checked = await sessionProblem(ctx, transport, found.session);
  if ('ok' in checked) return checked;
  return admitSession(ctx, found.session, checked.scopes, 'session');
}
