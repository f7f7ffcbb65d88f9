/**
 * Admin: OAuth 2.0 access tokens. List the tokens of an account or of a key (newest first,
 * cursor), revoke one.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { parseKeyId } from '../../store/index.js';
import { Listing } from '../../store/listing.js';
import { actorOf, type RouteModule } from '../context.js';
import { ApiError, unwrap } from '../errors.js';
import { TokenSchema } from '../resources.js';
import { ADMIN_CREDENTIAL, errorResponses, PROTECTED_ERRORS } from '../schemas.js';
import { adminGuard } from './guard.js';
import { AccountParams, KeyParams, Limit, NextCursor, TokenParams } from './schemas.js';

const tags = ['admin'];
const security = ADMIN_CREDENTIAL;
const TokenQuery = Type.Object(
  {
    active: Type.Optional(Type.Boolean()),
    limit: Limit,
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_-]+$' })),
  },
  { additionalProperties: false },
);
const TokenPage = Type.Object({ tokens: Type.Array(TokenSchema), next: NextCursor }, { additionalProperties: false });

/** `/v1/admin/accounts/:accountId/tokens`, `/v1/admin/keys/:keyId/tokens`, `/v1/admin/tokens/:tokenId`. */
export const adminTokenRoutes: RouteModule = async (app) => {
  const preValidation = adminGuard(app);
  const { store } = app.kw;
  const listing = new Listing(store.context);
  const description = 'Newest first; `active=true` keeps only tokens usable now. Pages: pass `next` as `after`.';

  app.get(
    '/v1/admin/accounts/:accountId/tokens',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: "List an account's access tokens",
        description,
        params: AccountParams,
        querystring: TokenQuery,
        response: { 200: TokenPage, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => {
      const account = await store.accounts.find(request.params.accountId);
      if (account === undefined) throw new ApiError('account_not_found');
      const { active, after } = request.query;
      const page = unwrap(
        await listing.tokens({ accountId: account.id, active, after, limit: request.query.limit ?? 50 }),
      );
      return { tokens: page.items, next: page.next };
    },
  );

  app.get(
    '/v1/admin/keys/:keyId/tokens',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: "List a key's access tokens",
        description,
        params: KeyParams,
        querystring: TokenQuery,
        response: { 200: TokenPage, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => {
      const rawKeyId = parseKeyId(request.params.keyId);
      if (rawKeyId === undefined || (await store.keys.get(rawKeyId)) === undefined) throw new ApiError('key_not_found');
      const { active, after } = request.query;
      const page = unwrap(await listing.tokens({ rawKeyId, active, after, limit: request.query.limit ?? 50 }));
      return { tokens: page.items, next: page.next };
    },
  );

  app.delete(
    '/v1/admin/tokens/:tokenId',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: 'Revoke an access token',
        description: 'It stops working at once. Revoking a revoked token changes nothing and succeeds.',
        params: TokenParams,
        response: {
          200: Type.Object({ token: TokenSchema }, { additionalProperties: false }),
          ...errorResponses(...PROTECTED_ERRORS, 404),
        },
      },
    },
    async (request) => {
      const { tokenId } = request.params;
      if ((await listing.token(tokenId)) === undefined) throw new ApiError('not_found', 'no access token has this id');
      // Audited in the revocation's own transaction, when it ended something.
      await store.tokens.revoke(tokenId, actorOf(request));
      const token = await listing.token(tokenId);
      if (token === undefined) throw new ApiError('not_found', 'no access token has this id');
      return { token };
    },
  );
};
