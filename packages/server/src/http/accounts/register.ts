/**
 * `POST /v1/accounts`: self-registration. Open unless the configuration sets
 * `registration: false`; a new account is always a `member` (an admin is made by an admin or by
 * the CLI). The store's rules apply: a valid email (unique once normalized), a password of
 * 8–128 characters not among the most common ones (ASVS 4 §2.1), a display name of 1–100.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { actorOf, type RouteModule } from '../context.js';
import { ApiError, unwrap } from '../errors.js';
import { AccountSchema, accountView, DisplayNameInput, EmailInput, PasswordInput } from '../resources.js';
import { errorResponses } from '../schemas.js';
import { countRegistration, secureTransportGuard } from './guards.js';

/** The registration body. The store applies the rules (email syntax, password quality). */
export const RegisterBody = Type.Object(
  {
    email: EmailInput,
    password: PasswordInput,
    displayName: Type.Optional(DisplayNameInput),
  },
  { additionalProperties: false },
);

/** `POST /v1/accounts`. */
export const registerRoutes: RouteModule = async (app) => {
  const requireSecure = secureTransportGuard(app.kw);
  app.post(
    '/v1/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Register an account',
        description:
          'Creates a member account. 403 `registration_closed` when the server does not accept new accounts.',
        body: RegisterBody,
        response: { 201: AccountSchema, ...errorResponses(400, 403, 409, 413, 415, 429) },
      },
      // Closed registration is told before the body is validated: nothing else matters then.
      preValidation: async () => {
        if (!app.kw.config.registration) throw new ApiError('registration_closed');
      },
    },
    async (request, reply) => {
      requireSecure(request);
      await countRegistration(app.kw, request);
      const { email, password, displayName } = request.body;
      const account = unwrap(await app.kw.store.accounts.create({ email, password, displayName }, actorOf(request)));
      request.log.info({ accountId: account.id }, 'account registered');
      return reply.code(201).send(accountView(account));
    },
  );
};
