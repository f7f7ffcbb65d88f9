/**
 * Admin: the audit log, newest first, filtered by actor, object, action and time range, with a
 * cursor. Read-only: the table refuses updates and deletes at the database level.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { Listing } from '../../store/listing.js';
import type { RouteModule } from '../context.js';
import { ApiError } from '../errors.js';
import { Millis } from '../resources.js';
import { ADMIN_CREDENTIAL, errorResponses, PROTECTED_ERRORS } from '../schemas.js';
import { adminGuard } from './guard.js';
import { AuditEventSchema, Limit, NextCursor } from './schemas.js';

/** `GET /v1/admin/audit`. */
export const adminAuditRoutes: RouteModule = async (app) => {
  const preValidation = adminGuard(app);
  const listing = new Listing(app.kw.store.context);
  const id = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 254, description }));

  app.get(
    '/v1/admin/audit',
    {
      preValidation,
      schema: {
        tags: ['admin'],
        security: ADMIN_CREDENTIAL,
        summary: 'Read the audit log',
        description:
          'Events newest first (by time-ordered id). Filters combine with AND; `from` is inclusive and `to` ' +
          'exclusive, both in milliseconds since the epoch. Pages: pass `next` as `before`.',
        querystring: Type.Object(
          {
            actor: id('Id of the account or key that acted (`acc_…`, `kw_kid_…`).'),
            actorType: Type.Optional(
              Type.Union([Type.Literal('account'), Type.Literal('key'), Type.Literal('cli'), Type.Literal('system')]),
            ),
            object: id('Id of the object acted on.'),
            objectType: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z_]+$' })),
            action: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 64,
                pattern: '^[a-z_]+(\\.[a-z_]+)*(\\.\\*)?$',
                description: 'An action (`key.revoke`) or a family (`key.*`).',
              }),
            ),
            from: Type.Optional(Millis('Inclusive lower bound.')),
            to: Type.Optional(Millis('Exclusive upper bound.')),
            limit: Limit,
            before: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z]+$' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ events: Type.Array(AuditEventSchema), next: NextCursor }, { additionalProperties: false }),
          ...errorResponses(...PROTECTED_ERRORS),
        },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.from !== undefined && q.to !== undefined && q.from >= q.to)
        throw new ApiError('invalid_input', '`from` must be before `to`');
      const page = await listing.audit({
        actorId: q.actor,
        actorType: q.actorType,
        objectId: q.object,
        objectType: q.objectType,
        action: q.action,
        from: q.from,
        to: q.to,
        before: q.before,
        limit: q.limit ?? 50,
      });
      return { events: page.items, next: page.next };
    },
  );
};
