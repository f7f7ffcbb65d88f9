/**
 * Session tokens (`Authorization: Bearer kw_st_…`), issued at login and bound to the client
 * address they were issued to; what happens on a request from another address is the
 * `sessionIpPolicy` (default: end the session). The checks after the credential are shared with
 * signed sessions.
 *
 * @packageDocumentation
 */

import { METHOD_TABLE } from '@keyward/core';
import type { Session } from '../../store/sessions.js';
import type { VerifierContext } from '../context.js';
import { bearerChallenge } from '../refusals.js';
import { defineScheme } from '../scheme.js';
import type { Transport } from '../transport.js';
import type { AuthMethod, Outcome, Refusal } from '../types.js';

/** What to do with a session used from an address other than the one it was issued to. */
export type SessionIpPolicy = 'revoke' | 'reject' | 'allow';

/** Checks everything about a session but its credential: live, account active, same address. */
export async function sessionProblem(
  ctx: VerifierContext,
  transport: Transport,
  session: Session,
  presented: string,
): Promise<Refusal | { scopes: string[] }> {
  const now = ctx.clock.now();
  if (session.revokedAt !== null) return ctx.refuse('session_invalid', {}, presented);
  if (now >= session.expiresAt || now >= session.idleExpiresAt) return ctx.refuse('session_expired', {}, presented);
  const account = await ctx.credentials.account(session.accountId);
  if (account === undefined || account.status !== 'active') return ctx.refuse('account_disabled', {}, presented);
  if (transport.clientIp !== session.clientIp) {
    const policy = ctx.settings.sessionIpPolicy;
    if (policy === 'revoke') await ctx.credentials.endSession(session.id);
    if (policy !== 'allow') return ctx.refuse('session_ip_mismatch', {}, presented);
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
  await ctx.credentials.touchSession(session, ctx.settings.sessionIdleMs);
  return { ok: true, principal: { accountId: session.accountId, sessionId: session.id, scopes, method } };
}

/** The `session` scheme: claims `kw_st_…` bearer tokens. */
export const sessionScheme = defineScheme<string>({
  method: 'session',
  httpScheme: METHOD_TABLE.session.httpScheme,
  sendsSecret: METHOD_TABLE.session.sendsSecret,
  needsBody: () => false,
  claim({ authorization }) {
    if (authorization?.scheme !== 'bearer' || !authorization.credentials.startsWith('kw_st_')) return undefined;
    return { claimed: authorization.credentials };
  },
  async verify(token, { transport }, ctx) {
    const found = await ctx.credentials.session(token);
    if (found === undefined) {
      return (await ctx.recordFailure(transport)) ?? ctx.refuse('session_invalid', {}, 'bearer');
    }
    // A signed session's token alone proves nothing: every request must be signed.
    if (found.sealedSecret !== null) {
      return ctx.refuse('session_invalid', { detail: 'a signed session must sign each request' }, 'bearer');
    }
    const checked = await sessionProblem(ctx, transport, found.session, 'bearer');
    if ('ok' in checked) return checked;
    return admitSession(ctx, found.session, checked.scopes, 'session');
  },
  challenge: bearerChallenge,
});
