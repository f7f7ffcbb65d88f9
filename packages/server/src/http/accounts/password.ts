/**
 * `POST /v1/account/password`: change the password of the session's account. The current
 * password is asked again (ASVS 4 §2.1.5), so that a stolen session alone cannot take the
 * account over. The change ends every other session of the account and revokes its access
 * tokens in the same transaction (ASVS 4 §3.3.3); this session stays, API keys stay.
 *
 * A wrong current password is 403 `password_incorrect`, not 401: the request's credential (the
 * session) is valid, and a 401 would tell clients to drop it and log in again (RFC 9110
 * §15.5.2 vs §15.5.4). Each attempt counts against a per-account limit as high as the login one,
 * so the endpoint is no side door for guessing passwords faster.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { actorOf, type RouteModule, sessionPrincipal } from '../context.js';
import { ApiError, unwrap } from '../errors.js';
import { PasswordInput } from '../resources.js';
import { errorResponses, PROTECTED_ERRORS, SESSION_SECURITY } from '../schemas.js';
import { countPasswordChange, secureTransportGuard } from './guards.js';

/** The password change body. */
export const PasswordChangeBody = Type.Object(
  {
    currentPassword: PasswordInput,
    newPassword: PasswordInput,
  },
  { additionalProperties: false },
);

/** `POST /v1/account/password`. */
export const passwordRoutes: RouteModule = async (app) => {
  const requireSecure = secureTransportGuard(app.kw);
  app.post(
    '/v1/account/password',
    {
      preValidation: app.keyward.protect(),
      schema: {
        tags: ['accounts'],
        summary: 'Change my password',
        security: SESSION_SECURITY,
        description:
          'Needs the current password (403 `password_incorrect` when wrong). Ends every other session of ' +
          'the account and revokes its access tokens; this session and the API keys stay.',
        body: PasswordChangeBody,
        response: {
          200: Type.Object({
            sessionsEnded: Type.Integer({ minimum: 0 }),
            tokensRevoked: Type.Integer({ minimum: 0 }),
          }),
          ...errorResponses(...PROTECTED_ERRORS, 413, 415),
        },
      },
    },
    async (request) => {
      const { accountId, sessionId } = sessionPrincipal(request);
      requireSecure(request);
      const attempt = await countPasswordChange(app.kw, request, accountId);
      const { currentPassword, newPassword } = request.body;
      const changed = await app.kw.store.accounts.changePassword(
        accountId,
        { currentPassword, newPassword, keepSessionId: sessionId },
        actorOf(request),
      );
      // Only a right current password takes the attempt back (failures are what is limited).
      await (changed.ok ? attempt.succeeded() : attempt.failed());
      if (!changed.ok && changed.code === 'account_not_found') throw new ApiError('session_invalid');
      const { sessionsEnded, tokensRevoked } = unwrap(changed);
      request.log.info({ accountId, sessionsEnded, tokensRevoked }, 'password changed');
      return { sessionsEnded, tokensRevoked };
    },
  );
};
