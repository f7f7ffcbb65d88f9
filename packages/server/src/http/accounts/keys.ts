/**
 * Self-service API keys: a logged-in account lists, creates, reads, changes, revokes and
 * rotates its own keys. A session is needed (plain or signed): a key cannot make keys. A key of
 * another account answers 404 `key_not_found`, exactly like a key that does not exist, so ids
 * cannot be probed. A secret appears in a response only when it is made (creation, rotation),
 * and never again.
 *
 * Scopes starting with `keyward:` (any case) grant Keyward's own APIs: only an admin account
 * may add them to a key (403 `forbidden` otherwise). A member may keep such a scope an admin
 * already put on one of its keys, so changing a key's other scopes does not strip it.
 *
 * Bodies, limits, codes and the way an update applies are those of `../resources.ts`, shared
 * with the admin API: the same bad input gets the same answer on both.
 *
 * @packageDocumentation
 */

import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ApiKey } from '../../store/keys.js';
import { actorOf, type RouteModule, sessionPrincipal } from '../context.js';
import { ApiError, unwrap } from '../errors.js';
import {
  createKey,
  IssuedKeySchema,
  issuedKeyView,
  KeyCreateBody,
  KeyIdParam,
  KeyRotateBody,
  KeySchema,
  KeyUpdateBody,
  keyInputErrors,
  keyView,
  RotatedKeySchema,
  rotateKey,
  updateKey,
} from '../resources.js';
import { errorResponses, optionalBody, PROTECTED_ERRORS, SESSION_SECURITY } from '../schemas.js';

const tags = ['keys'];

const KeyParams = Type.Object({ id: KeyIdParam }, { additionalProperties: false });

const ListQuery = Type.Object(
  { includeRevoked: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);

/** `GET|POST /v1/keys`, `GET|PATCH|DELETE /v1/keys/:id`, `POST /v1/keys/:id/rotate`. */
export const keyRoutes: RouteModule = async (app) => {
  const protect = app.keyward.protect();
  const { store, clock } = app.kw;

  /** The key, if it belongs to the session's account; else 404 as for a key that does not exist. */
  async function ownKey(request: FastifyRequest, id: string): Promise<ApiKey> {
    const { accountId } = sessionPrincipal(request);
    const key = await store.keys.get(id);
    if (key === undefined || key.accountId !== accountId) throw new ApiError('key_not_found');
    return key;
  }

  app.get(
    '/v1/keys',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'My keys',
        security: SESSION_SECURITY,
        description: 'Oldest first; revoked keys only with includeRevoked=true.',
        querystring: ListQuery,
        response: { 200: Type.Object({ keys: Type.Array(KeySchema) }), ...errorResponses(...PROTECTED_ERRORS) },
      },
    },
    async (request) => {
      const { accountId } = sessionPrincipal(request);
      const keys = await store.keys.list({ accountId, includeRevoked: request.query.includeRevoked === true });
      return { keys: keys.map(keyView) };
    },
  );

  app.post(
    '/v1/keys',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'Create a key',
        security: SESSION_SECURITY,
        description: 'The secret and token are in this response and never again.',
        body: KeyCreateBody,
        response: { 201: IssuedKeySchema, ...errorResponses(...PROTECTED_ERRORS, 409, 413, 415) },
      },
      schemaErrorFormatter: keyInputErrors,
    },
    async (request, reply) => {
      const { accountId } = sessionPrincipal(request);
      const issued = await createKey(store, accountId, request.body, actorOf(request), clock.now());
      request.log.info({ keyId: issued.id }, 'key created');
      return reply.code(201).send(issuedKeyView(issued));
    },
  );

  app.get(
    '/v1/keys/:id',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'One of my keys',
        security: SESSION_SECURITY,
        params: KeyParams,
        response: { 200: KeySchema, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => keyView(await ownKey(request, request.params.id)),
  );

  app.patch(
    '/v1/keys/:id',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'Change one of my keys',
        security: SESSION_SECURITY,
        description: 'Name, scopes, methods, expiry, metadata, rate limit, enabled. A revoked key cannot change (409).',
        params: KeyParams,
        body: KeyUpdateBody,
        response: { 200: KeySchema, ...errorResponses(...PROTECTED_ERRORS, 404, 409, 413, 415) },
      },
      schemaErrorFormatter: keyInputErrors,
    },
    async (request) => {
      const key = await ownKey(request, request.params.id);
      return keyView(await updateKey(store, key, request.body, actorOf(request), clock.now()));
    },
  );

  app.delete(
    '/v1/keys/:id',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'Revoke one of my keys',
        security: SESSION_SECURITY,
        description:
          'For good: every method refuses it with `key_revoked` and its access tokens end. The key stays ' +
          'listed with includeRevoked=true, for the record. Revoking a revoked key changes nothing.',
        params: KeyParams,
        response: { 200: KeySchema, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => {
      const key = await ownKey(request, request.params.id);
      const revoked = unwrap(await store.keys.revoke(key.id, actorOf(request)));
      request.log.info({ keyId: key.id }, 'key revoked');
      return keyView(revoked);
    },
  );

  app.post(
    '/v1/keys/:id/rotate',
    {
      // The body is optional: none at all means the defaults.
      preValidation: [protect, optionalBody],
      schema: {
        tags,
        summary: 'Give one of my keys a new secret',
        security: SESSION_SECURITY,
        description:
          'The new secret and token are in this response and never again. The old secret keeps working ' +
          'for graceSeconds (default 24 h).',
        params: KeyParams,
        body: KeyRotateBody,
        response: { 200: RotatedKeySchema, ...errorResponses(...PROTECTED_ERRORS, 404, 409, 413, 415) },
      },
    },
    async (request) => {
      const key = await ownKey(request, request.params.id);
      const rotated = await rotateKey(store, key.id, request.body, actorOf(request));
      request.log.info({ keyId: key.id, graceSeconds: rotated.graceSeconds }, 'key rotated');
      return rotated;
    },
  );
};
