/**
 * The web console's sign-in: `POST /v1/console/session` logs in with email and password like
 * `POST /v1/sessions` (same limits, delays, answers and audit), but hands the session token to
 * the browser only as an HttpOnly cookie, never in the body, with a CSRF secret in a second
 * HttpOnly cookie; the body carries the CSRF token the page sends in `X-CSRF-Token` (see
 * `verify/schemes/console-cookie.ts`). `GET` gives a reloaded page its CSRF token back from the
 * cookies; `DELETE` signs out.
 *
 * The console's own API: kept out of the OpenAPI document (`schema.hide`), whose clients use
 * `Authorization` headers.
 *
 * @packageDocumentation
 */

import { stringifySetCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { fromNodeRequest } from '../../adapters/http.js';
import {
  CONSOLE_METHOD,
  CSRF_HEADER,
  consoleCookieNames,
  consoleCookies,
  csrfTokenFor,
  newCsrfSecret,
} from '../../verify/schemes/console-cookie.js';
import { clientIp, countLoginAttempt, secureTransportGuard } from '../accounts/guards.js';
import { actorOf, clientTransport, type RouteModule, sessionPrincipal } from '../context.js';
import { ApiError, sendRefusal, unwrap } from '../errors.js';
import { useStrictJson } from '../json.js';
import { accountView, EmailInput, PasswordInput, RESOURCE_BODY_LIMIT, sessionView } from '../resources.js';

const LoginBody = Type.Object({ email: EmailInput, password: PasswordInput }, { additionalProperties: false });

// Fetch Metadata (W3C Fetch Metadata Request Headers §2.2): a browser says where a request comes
// from. A login posted from another site (login CSRF: the victim signed in to the attacker's
// account) is refused; clients that send no such header are not browsers and are let through.
const SAME_ORIGIN = new Set(['same-origin', 'none']);

/** `GET|POST|DELETE /v1/console/session`. */
export const consoleSessionRoutes: RouteModule = async (app) => {
  useStrictJson(app);
  const { store, config, clock, verifier } = app.kw;
  const requireSecure = secureTransportGuard(app.kw);
  const schema = { hide: true };
  const maxAge = config.sessionAbsoluteSeconds;

  // The answers hold a CSRF token and private data: never stored by a cache (RFC 9111 §5.2.2.5).
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });

  /** Both cookies, set (a value each) or cleared (none). */
  function cookies(request: FastifyRequest, values?: { session: string; csrf: string }): string[] {
    const secure = clientTransport(app.kw, request).secure;
    const names = consoleCookieNames(secure);
    // RFC 6265bis §4.1.2: HttpOnly (no script reads them), SameSite=Strict (never sent with a
    // request started by another site), Path=/ (the `__Host-` prefix requires it).
    const base = { httpOnly: true, sameSite: 'strict' as const, path: '/', secure };
    return (['session', 'csrf'] as const).map((part) =>
      stringifySetCookie({
        name: names[part],
        value: values?.[part] ?? '',
        ...base,
        maxAge: values === undefined ? 0 : maxAge,
      }),
    );
  }

  app.post(
    '/v1/console/session',
    { schema: { ...schema, body: LoginBody }, bodyLimit: RESOURCE_BODY_LIMIT },
    async (request, reply) => {
      const site = request.headers['sec-fetch-site'];
      if (typeof site === 'string' && !SAME_ORIGIN.has(site)) {
        throw new ApiError('csrf_token_invalid', 'sign in from the console itself');
      }
      requireSecure(request);
      const { email, password } = request.body;
      const attempt = await countLoginAttempt(app.kw, request, email);
      const authenticated = await store.accounts.authenticate(email, password);
      await (authenticated.ok ? attempt.succeeded() : attempt.failed());
      if (!authenticated.ok) {
        request.log.info({ reason: authenticated.code }, 'console login failed');
        throw new ApiError('login_failed');
      }
      const account = authenticated.value;
      const issued = unwrap(
        await store.sessions.create({
          accountId: account.id,
          clientIp: clientIp(request),
          signed: false,
          idleMs: config.sessionIdleSeconds * 1000,
          absoluteMs: config.sessionAbsoluteSeconds * 1000,
          actor: { ...actorOf(request), type: 'account', id: account.id },
        }),
      );
      const secret = newCsrfSecret();
      request.log.info({ accountId: account.id, sessionId: issued.session.id }, 'console login');
      return reply
        .code(201)
        .header('set-cookie', cookies(request, { session: issued.token, csrf: secret }))
        .send({
          csrfToken: csrfTokenFor(secret, issued.session.id),
          account: accountView(account),
          session: sessionView(issued.session, clock.now(), issued.session.id),
        });
    },
  );

  app.get('/v1/console/session', { schema }, async (request, reply) => {
    const signedOut = (r: FastifyReply) => r.header('set-cookie', cookies(request));
    const transport = clientTransport(app.kw, request);
    const jar = consoleCookies(request.headers, transport);
    if (jar.session === undefined || jar.csrf === undefined) {
      throw new ApiError('credentials_missing', 'sign in to the console');
    }
    const found = jar.session.startsWith('kw_st_') ? await store.sessions.find(jar.session) : undefined;
    if (found === undefined) return sendRefusal(request, signedOut(reply), verifier.refuse('session_invalid'));
    // The token the page lost on reload, made again from the cookies; then the verifier checks
    // the session as on every other request (expiry, account, address) and slides its idle expiry.
    const csrfToken = csrfTokenFor(jar.csrf, found.session.id);
    const presented = fromNodeRequest(request.raw);
    const outcome = await verifier.verify(
      { ...presented, headers: { ...presented.headers, [CSRF_HEADER]: csrfToken } },
      { methods: [CONSOLE_METHOD] },
    );
    if (!outcome.ok) return sendRefusal(request, signedOut(reply), outcome);
    const account = await store.accounts.find(outcome.principal.accountId);
    const session = await store.sessions.get(found.session.id);
    if (account === undefined || session === undefined) {
      return sendRefusal(request, signedOut(reply), verifier.refuse('session_invalid'));
    }
    return { csrfToken, account: accountView(account), session: sessionView(session, clock.now(), session.id) };
  });

  app.delete(
    '/v1/console/session',
    { schema, preValidation: app.keyward.protect({ methods: [CONSOLE_METHOD] }) },
    async (request, reply) => {
      const { sessionId } = sessionPrincipal(request);
      await store.sessions.revoke(sessionId, actorOf(request));
      return reply.code(204).header('set-cookie', cookies(request)).send();
    },
  );
};
