/**
 * `POST /v1/sessions`: log in with email and password. A session is bound to the account, to
 * the client address it was issued to, and to an idle and an absolute expiry (ASVS 4 §3.3.1,
 * §3.3.2). With `signed: true` the response also carries the session secret: the client then
 * signs every request as OAuth 1.0a (RFC 5849 §3.4.2, HMAC) with consumer key = the account id,
 * an empty consumer secret, `oauth_token` = the session token and token secret = the session
 * secret, and the token alone is refused.
 *
 * Unknown email, wrong password and disabled account answer alike: 401 `login_failed` with the
 * same message, and about the same time (the store spends an argon2id verification on an unknown
 * email too). Failed attempts are limited per address and per (account, address), and delayed per
 * account (growing, capped; never a lock), in guards.ts (ASVS 5.0 6.3.1).
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { actorOf, type RouteModule } from '../context.js';
import { ApiError, unwrap } from '../errors.js';
import { EmailInput, PasswordInput, SessionSchema, sessionView } from '../resources.js';
import { errorResponses } from '../schemas.js';
import { clientIp, countLoginAttempt, secureTransportGuard } from './guards.js';

/** The login body. */
export const LoginBody = Type.Object(
  {
    email: EmailInput,
    password: PasswordInput,
    signed: Type.Optional(Type.Boolean({ description: 'true for a signed session (the secret is returned)' })),
  },
  { additionalProperties: false },
);

/** A new session: the token (and the secret of a signed session), shown once. */
export const LoginResponse = Type.Object({
  token: Type.String({ description: 'kw_st_…: Authorization: Bearer, or oauth_token of a signed session' }),
  secret: Type.Optional(Type.String({ description: 'kw_ss_…: the token secret of a signed session; shown once' })),
  accountId: Type.String({ description: 'the OAuth 1.0a consumer key of a signed session' }),
  session: SessionSchema,
});

/** `POST /v1/sessions`. */
export const loginRoutes: RouteModule = async (app) => {
  const requireSecure = secureTransportGuard(app.kw);
  app.post(
    '/v1/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Log in: start a session',
        description:
          'Unknown email, wrong password and disabled account all answer 401 `login_failed`. ' +
          'The response is not cacheable and is shown once.',
        body: LoginBody,
        response: { 201: LoginResponse, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      requireSecure(request);
      const { email, password, signed } = request.body;
      const attempt = await countLoginAttempt(app.kw, request, email);
      const { store, config } = app.kw;
      const authenticated = await store.accounts.authenticate(email, password);
      await (authenticated.ok ? attempt.succeeded() : attempt.failed());
      if (!authenticated.ok) {
        // The reason stays in the log (ASVS 4 §7.2.1), never in the response; neither the
        // email nor the password is logged.
        request.log.info({ reason: authenticated.code }, 'login failed');
        // One code and message for every way a login fails, so that none tells which it was.
        throw new ApiError('login_failed');
      }
      const account = authenticated.value;
      const issued = unwrap(
        await store.sessions.create({
          accountId: account.id,
          clientIp: clientIp(request),
          signed: signed === true,
          idleMs: config.sessionIdleSeconds * 1000,
          absoluteMs: config.sessionAbsoluteSeconds * 1000,
          actor: { ...actorOf(request), type: 'account', id: account.id },
        }),
      );
      request.log.info({ accountId: account.id, sessionId: issued.session.id, signed: signed === true }, 'login');
      return reply.code(201).send({
        token: issued.token,
        ...(issued.secret === undefined ? {} : { secret: issued.secret }),
        accountId: account.id,
        session: sessionView(issued.session, app.kw.clock.now(), issued.session.id),
      });
    },
  );
};
