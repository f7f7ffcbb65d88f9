/**
 * `GET /v1/account`: the account a session belongs to.
 *
 * @packageDocumentation
 */

import { type RouteModule, sessionPrincipal } from '../context.js';
import { ApiError } from '../errors.js';
import { AccountSchema, accountView } from '../resources.js';
import { errorResponses, PROTECTED_ERRORS, SESSION_SECURITY } from '../schemas.js';

/** `GET /v1/account`. */
export const meRoutes: RouteModule = async (app) => {
  app.get(
    '/v1/account',
    {
      preValidation: app.keyward.protect(),
      schema: {
        tags: ['accounts'],
        summary: 'My account',
        security: SESSION_SECURITY,
        response: { 200: AccountSchema, ...errorResponses(...PROTECTED_ERRORS) },
      },
    },
    async (request) => {
      const { accountId } = sessionPrincipal(request);
      const account = await app.kw.store.accounts.find(accountId);
      // The session verified a moment ago; an account gone since cannot be shown.
      if (account === undefined) throw new ApiError('session_invalid');
      return accountView(account);
    },
  );
};
