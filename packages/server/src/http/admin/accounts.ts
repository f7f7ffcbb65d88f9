/**
 * Admin: accounts. List (search, cursor), get, disable, enable, delete.
 *
 * Deleting an account removes it and everything it owns (keys with their secrets and usage,
 * access tokens, sessions) in one transaction; the audit log keeps its history and records the
 * deletion. An admin can neither disable nor delete its own account, so at least one active
 * admin always remains.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { actorOf, type RouteModule } from '../context.js';
import { ApiError, unwrap } from '../errors.js';
import { AccountSchema, accountView } from '../resources.js';
import { ADMIN_CREDENTIAL, errorResponses, PROTECTED_ERRORS } from '../schemas.js';
import { adminGuard, adminOf } from './guard.js';
import { AccountParams, Limit, NextCursor } from './schemas.js';

const tags = ['admin'];
const security = ADMIN_CREDENTIAL;
const AccountReply = Type.Object({ account: AccountSchema }, { additionalProperties: false });

/** `/v1/admin/accounts…`. */
export const adminAccountRoutes: RouteModule = async (app) => {
  const preValidation = adminGuard(app);
  const { store } = app.kw;

  app.get(
    '/v1/admin/accounts',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: 'List accounts',
        description: 'Oldest first. `search` matches part of the email address. Pages: pass `next` as `after`.',
        querystring: Type.Object(
          {
            search: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
            limit: Limit,
            after: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_]+$' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ accounts: Type.Array(AccountSchema), next: NextCursor }, { additionalProperties: false }),
          ...errorResponses(...PROTECTED_ERRORS),
        },
      },
    },
    async (request) => {
      const { search, after } = request.query;
      const limit = request.query.limit ?? 50;
      if (after !== undefined) {
        // The store starts over on a cursor it does not know; a client should hear about it.
        const cursor = await store.accounts.find(after);
        if (cursor === undefined || cursor.id !== after)
          throw new ApiError('invalid_input', 'the cursor names no account; list again from the start');
      }
      const rows = await store.accounts.list({
        ...(search === undefined ? {} : { search }),
        ...(after === undefined ? {} : { after }),
        limit: limit + 1,
      });
      const accounts = rows.slice(0, limit).map(accountView);
      return { accounts, next: rows.length > limit ? (accounts.at(-1)?.id ?? null) : null };
    },
  );

  app.get(
    '/v1/admin/accounts/:accountId',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: 'Get an account',
        params: AccountParams,
        response: { 200: AccountReply, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => {
      const account = await store.accounts.find(request.params.accountId);
      if (account === undefined) throw new ApiError('account_not_found');
      return { account: accountView(account) };
    },
  );

  for (const action of ['disable', 'enable'] as const) {
    app.post(
      `/v1/admin/accounts/:accountId/${action}`,
      {
        preValidation,
        schema: {
          tags,
          security,
          summary: action === 'disable' ? 'Disable an account' : 'Enable an account',
          description:
            action === 'disable'
              ? 'Disables the account and its active keys, and ends its access tokens and sessions, at once. ' +
                'An admin cannot disable its own account.'
              : 'Brings back the account and the keys that were disabled with it (not keys disabled on their own).',
          params: AccountParams,
          response: { 200: AccountReply, ...errorResponses(...PROTECTED_ERRORS, 404) },
        },
      },
      async (request) => {
        const target = await store.accounts.find(request.params.accountId);
        if (target === undefined) throw new ApiError('account_not_found');
        if (action === 'disable' && target.id === adminOf(request).id)
          throw new ApiError('forbidden', 'an admin cannot disable its own account');
        const account = unwrap(
          await store.accounts.setStatus(target.id, action === 'disable' ? 'disabled' : 'active', actorOf(request)),
        );
        return { account: accountView(account) };
      },
    );
  }

  app.delete(
    '/v1/admin/accounts/:accountId',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: 'Delete an account and everything it owns',
        description:
          'Removes the account, its keys (secrets and hourly usage included), access tokens and sessions in one ' +
          'transaction; every credential of the account stops working at once and the email address is free ' +
          'again. The audit log keeps its history and records the deletion. An admin cannot delete its own account.',
        params: AccountParams,
        response: {
          200: Type.Object(
            {
              account: AccountSchema,
              removed: Type.Object(
                { keys: Type.Integer(), sessions: Type.Integer(), tokens: Type.Integer() },
                { additionalProperties: false },
              ),
            },
            { additionalProperties: false, description: 'The account as it was, and what was removed with it.' },
          ),
          ...errorResponses(...PROTECTED_ERRORS, 404),
        },
      },
    },
    async (request) => {
      const target = await store.accounts.find(request.params.accountId);
      if (target === undefined) throw new ApiError('account_not_found');
      if (target.id === adminOf(request).id) throw new ApiError('forbidden', 'an admin cannot delete its own account');
      const { account, removed } = unwrap(await store.accounts.delete(target.id, actorOf(request)));
      return { account: accountView(account), removed };
    },
  );
};
