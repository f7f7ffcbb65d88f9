/**
 * Admin: any account's API keys. List an account's keys, get, update, disable, enable,
 * revoke, rotate; every change goes through `store.keys` (audited, caches invalidated).
 *
 * Bodies, limits, codes and the way an update applies are those of `../resources.ts`, shared
 * with the self-service API (`/v1/keys`): the same bad input gets the same answer on both.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { actorOf, RESERVED_SCOPE_PREFIX, type RouteModule } from '../context.js';
import { ApiError, unwrap } from '../errors.js';
import {
  KeyRotateBody,
  KeySchema,
  KeyUpdateBody,
  keyInputErrors,
  keyView,
  RotatedKeySchema,
  rotateKey,
  updateKey,
} from '../resources.js';
import { ADMIN_CREDENTIAL, errorResponses, optionalBody, PROTECTED_ERRORS } from '../schemas.js';
import { adminGuard } from './guard.js';
import { AccountParams, KeyParams } from './schemas.js';

const tags = ['admin'];
const security = ADMIN_CREDENTIAL;
const KeyReply = Type.Object({ key: KeySchema }, { additionalProperties: false });

/** `/v1/admin/accounts/:accountId/keys`, `/v1/admin/keys/:keyId…`. */
export const adminKeyRoutes: RouteModule = async (app) => {
  const preValidation = adminGuard(app);
  const { store, clock } = app.kw;

  async function keyOf(keyId: string) {
    const key = await store.keys.get(keyId);
    if (key === undefined) throw new ApiError('key_not_found');
    return key;
  }

  app.get(
    '/v1/admin/accounts/:accountId/keys',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: "List an account's keys",
        description: 'Oldest first; revoked keys only with `includeRevoked=true`.',
        params: AccountParams,
        querystring: Type.Object(
          { includeRevoked: Type.Optional(Type.Boolean({ default: false })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ keys: Type.Array(KeySchema) }, { additionalProperties: false }),
          ...errorResponses(...PROTECTED_ERRORS, 404),
        },
      },
    },
    async (request) => {
      const account = await store.accounts.find(request.params.accountId);
      if (account === undefined) throw new ApiError('account_not_found');
      const keys = await store.keys.list({
        accountId: account.id,
        includeRevoked: request.query.includeRevoked === true,
      });
      return { keys: keys.map(keyView) };
    },
  );

  app.get(
    '/v1/admin/keys/:keyId',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: 'Get a key',
        params: KeyParams,
        response: { 200: KeyReply, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => ({ key: keyView(await keyOf(request.params.keyId)) }),
  );

  app.patch(
    '/v1/admin/keys/:keyId',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: 'Update a key',
        description:
          'Changes any of name, scopes, methods, expiry, metadata, rate limit and enabled; the others stay. ' +
          `Scopes starting with "${RESERVED_SCOPE_PREFIX}" are for keys of admin accounts only (403). ` +
          'A revoked key cannot change (409).',
        params: KeyParams,
        body: KeyUpdateBody,
        response: { 200: KeyReply, ...errorResponses(...PROTECTED_ERRORS, 404, 409, 413, 415) },
      },
      schemaErrorFormatter: keyInputErrors,
    },
    async (request) => {
      const key = await keyOf(request.params.keyId);
      return { key: keyView(await updateKey(store, key, request.body, actorOf(request), clock.now())) };
    },
  );

  for (const action of ['disable', 'enable'] as const) {
    app.post(
      `/v1/admin/keys/:keyId/${action}`,
      {
        preValidation,
        schema: {
          tags,
          security,
          summary: action === 'disable' ? 'Disable a key' : 'Enable a key',
          description:
            action === 'disable'
              ? 'The key stops working at once; `enable` brings it back.'
              : 'Not while its account is disabled (409); never a revoked key (409).',
          params: KeyParams,
          response: { 200: KeyReply, ...errorResponses(...PROTECTED_ERRORS, 404, 409) },
        },
      },
      async (request) => ({
        key: keyView(unwrap(await store.keys.setEnabled(request.params.keyId, action === 'enable', actorOf(request)))),
      }),
    );
  }

  app.post(
    '/v1/admin/keys/:keyId/revoke',
    {
      preValidation,
      schema: {
        tags,
        security,
        summary: 'Revoke a key',
        description:
          'For good, with its access tokens; the key stays listed for the audit trail. Revoking a revoked key ' +
          'changes nothing and succeeds.',
        params: KeyParams,
        response: { 200: KeyReply, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => ({ key: keyView(unwrap(await store.keys.revoke(request.params.keyId, actorOf(request)))) }),
  );

  app.post(
    '/v1/admin/keys/:keyId/rotate',
    {
      // Every field is optional: a request without a body means the defaults.
      preValidation: [...preValidation, optionalBody],
      schema: {
        tags,
        security,
        summary: 'Rotate a key',
        description:
          'Gives the key a new secret, shown once in this response. The old secret keeps working for ' +
          '`graceSeconds` (default 86400; 0 ends it now). The body may be left out.',
        params: KeyParams,
        body: KeyRotateBody,
        response: { 200: RotatedKeySchema, ...errorResponses(...PROTECTED_ERRORS, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const rotated = await rotateKey(store, request.params.keyId, request.body, actorOf(request));
      // A secret in a response: no cache on the way may keep it.
      reply.header('cache-control', 'no-store');
      return rotated;
    },
  );
};
