/**
 * Admin: sessions. List an account's sessions (newest first, cursor), end one.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { Listing } from '../../store/listing.js';
import { actorOf, type RouteModule } from '../context.js';
import { ApiError, unwrap } from '../errors.js';
import { SessionSchema, sessionView } from '../resources.js';
import { ADMIN_CREDENTIAL, errorResponses, PROTECTED_ERRORS } from '../schemas.js';
import { adminGuard } from './guard.js';
import { AccountParams, Limit, NextCursor, SessionParams } from './schemas.js';

const tags = ['admin'];
const security = ADMIN_CREDENTIAL;

/** `/v1/admin/accounts/:accountId/sessions`, `/v1/admin/sessions/:sessionId`. */
export const adminSessionRoutes: RouteModule = async (app) => {
  const preValidation = adminGuard(app);
  const { store, clock } = app.kw;
  const listing = new Listing(store.context);

  app.get(
    '/v1/admin/accounts/:accountId/sessions',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: "List an account's sessions",
        description: 'Newest first; `active=true` keeps only sessions usable now. Pages: pass `next` as `after`.',
        params: AccountParams,
        querystring: Type.Object(
          {
            active: Type.Optional(Type.Boolean()),
            limit: Limit,
            after: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_-]+$' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ sessions: Type.Array(SessionSchema), next: NextCursor }, { additionalProperties: false }),
          ...errorResponses(...PROTECTED_ERRORS, 404),
        },
      },
    },
    async (request) => {
      const account = await store.accounts.find(request.params.accountId);
      if (account === undefined) throw new ApiError('account_not_found');
      const { active, after } = request.query;
      const page = unwrap(await listing.sessions(account.id, { limit: request.query.limit ?? 50, after, active }));
      const now = clock.now();
      const current = request.keyward?.sessionId;
      return { sessions: page.items.map((s) => sessionView(s, now, current)), next: page.next };
    },
  );

  app.delete(
    '/v1/admin/sessions/:sessionId',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: 'End a session',
        description: 'Its token stops working at once. Ending an ended session changes nothing and succeeds.',
        params: SessionParams,
        response: {
          200: Type.Object({ session: SessionSchema }, { additionalProperties: false }),
          ...errorResponses(...PROTECTED_ERRORS, 404),
        },
      },
    },
    async (request) => {
      const { sessionId } = request.params;
      if ((await listing.session(sessionId)) === undefined) throw new ApiError('not_found', 'no session has this id');
      // Audited in the revocation's own transaction, when it ended something.
      await store.sessions.revoke(sessionId, actorOf(request));
      const session = await listing.session(sessionId);
      if (session === undefined) throw new ApiError('not_found', 'no session has this id');
      return { session: sessionView(session, clock.now(), request.keyward?.sessionId) };
    },
  );
};
