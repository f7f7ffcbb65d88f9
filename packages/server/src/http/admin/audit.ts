/**
 * Admin: the audit log, newest first, filtered by actor, object, action and time range, with a
 * cursor. Read-only: the table refuses updates and deletes at the database level. Beside it,
 * failed authentications, aggregated per key, hour, method and refusal code (never a row per
 * request), of one key or of all.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { parseKeyId } from '../../store/index.js';
import { Listing } from '../../store/listing.js';
import { KeyedRefusalSchema, KeyRefusalsSchema, RefusalLimit, refusalView } from '../accounts/usage.js';
import type { RouteModule } from '../context.js';
import { ApiError } from '../errors.js';
import { Millis } from '../resources.js';
import { ADMIN_CREDENTIAL, errorResponses, PROTECTED_ERRORS } from '../schemas.js';
import { adminGuard } from './guard.js';
import { AuditEventSchema, KeyParams, Limit, NextCursor } from './schemas.js';

/** `GET /v1/admin/audit`, `GET /v1/admin/refusals`, `GET /v1/admin/keys/:keyId/refusals`. */
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

  app.get(
    '/v1/admin/refusals',
    {
      preValidation,
      schema: {
        tags: ['admin'],
        security: ADMIN_CREDENTIAL,
        summary: 'Failed authentications, all keys',
        description:
          'Refused requests per key, hour, method and refusal code, newest first (by hour, then last seen), with ' +
          'the first and last time seen and up to 10 client addresses. `keyId` is null for refusals that named no ' +
          'existing key (no credentials, an unknown key id, a session or access token), counted together per ' +
          'hour. `since` (milliseconds since the epoch) keeps rows last seen at or after it.',
        querystring: Type.Object(
          { limit: RefusalLimit, since: Type.Optional(Millis('Only rows last seen at or after this time.')) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ refusals: Type.Array(KeyedRefusalSchema) }, { additionalProperties: false }),
          ...errorResponses(...PROTECTED_ERRORS),
        },
      },
    },
    async (request) => {
      const refusals = await app.kw.store.outcomes.refusals({
        since: request.query.since,
        limit: request.query.limit ?? 50,
      });
      return { refusals };
    },
  );

  app.get(
    '/v1/admin/keys/:keyId/refusals',
    {
      preValidation,
      schema: {
        tags: ['admin'],
        security: ADMIN_CREDENTIAL,
        summary: "A key's failed authentications",
        description:
          'Refused requests that named the key, per hour, method and refusal code, newest first, with the first ' +
          'and last time seen and up to 10 client addresses.',
        params: KeyParams,
        querystring: Type.Object({ limit: RefusalLimit }, { additionalProperties: false }),
        response: { 200: KeyRefusalsSchema, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => {
      const rawKeyId = parseKeyId(request.params.keyId);
      const key = rawKeyId === undefined ? undefined : await app.kw.store.keys.get(rawKeyId);
      if (rawKeyId === undefined || key === undefined) throw new ApiError('key_not_found');
      const rows = await app.kw.store.outcomes.refusals({ rawKeyId, limit: request.query.limit ?? 50 });
      return { keyId: key.id, refusals: rows.map(refusalView) };
    },
  );
};
