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
 * @packageDocumentation
 */

import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ApiKey, KeySettings } from '../../store/keys.js';
import { actorOf, RESERVED_SCOPE_PREFIX, type RouteModule, sessionPrincipal } from '../context.js';
import { ApiError, unwrap } from '../errors.js';
import { errorResponses, optionalBody, PROTECTED_ERRORS } from '../schemas.js';
import {
  IssuedKeyView,
  issuedKeyView,
  KeyMethodSchema,
  KeyView,
  keyView,
  Millis,
  RateLimitSchema,
  SESSION_SECURITY,
} from './schemas.js';

const tags = ['keys'];
/** Longest relative expiry: ten years, in seconds. */
const MAX_EXPIRES_IN = 10 * 365 * 24 * 60 * 60;
/** Longest rotation grace period: 30 days, in seconds (the store's own bound). */
const MAX_GRACE_SECONDS = 30 * 24 * 60 * 60;
/** Default rotation grace period: 24 hours. */
export const DEFAULT_GRACE_SECONDS = 24 * 60 * 60;

// Sizes are capped here; the store applies the rules (scope token syntax and count, name
// length after trimming, metadata size) and answers with their specific codes.
const Scopes = Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 });
const Methods = Type.Array(KeyMethodSchema, { minItems: 1, maxItems: 8 });
const Metadata = Type.Record(Type.String(), Type.Unknown(), { description: 'at most 4096 bytes of JSON' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const ExpiresIn = Type.Integer({ minimum: 1, maximum: MAX_EXPIRES_IN, description: 'seconds from now' });

/** The body of `POST /v1/keys`. `expiresAt` and `expiresIn` exclude each other. */
export const KeyCreateBody = Type.Object(
  {
    name: Name,
    scopes: Type.Optional(Scopes),
    methods: Type.Optional(Methods),
    expiresAt: Type.Optional(Millis),
    expiresIn: Type.Optional(ExpiresIn),
    metadata: Type.Optional(Metadata),
    rateLimit: Type.Optional(RateLimitSchema),
  },
  { additionalProperties: false },
);

/** The body of `PATCH /v1/keys/:id`: what to change; null clears methods, expiry, rate limit. */
export const KeyUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    scopes: Type.Optional(Scopes),
    methods: Type.Optional(Type.Union([Methods, Type.Null()])),
    expiresAt: Type.Optional(Type.Union([Millis, Type.Null()])),
    expiresIn: Type.Optional(ExpiresIn),
    metadata: Type.Optional(Metadata),
    rateLimit: Type.Optional(Type.Union([RateLimitSchema, Type.Null()])),
    enabled: Type.Optional(Type.Boolean({ description: 'false disables the key; true enables it again' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** The body of `POST /v1/keys/:id/rotate` (optional). */
export const KeyRotateBody = Type.Object(
  {
    graceSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_GRACE_SECONDS,
        description: 'how long the old secret keeps working; default 86400 (24 h), 0 ends it now',
      }),
    ),
  },
  { additionalProperties: false },
);

const KeyParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, description: 'kw_kid_… or the bare id' }) },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  { includeRevoked: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);

function isReserved(scope: string): boolean {
  return scope.toLowerCase().startsWith(RESERVED_SCOPE_PREFIX);
}

/** `expiresAt` from `expiresAt` or `expiresIn`, or undefined when neither is given. */
function expiryOf(body: { expiresAt?: number | null; expiresIn?: number }, now: number): number | null | undefined {
  if (body.expiresAt !== undefined && body.expiresIn !== undefined) {
    throw new ApiError('invalid_input', 'give expiresAt or expiresIn, not both');
  }
  return body.expiresIn === undefined ? body.expiresAt : now + body.expiresIn * 1000;
}

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

  /** Refuses reserved scopes a member would add (those already on the key may stay). */
  async function checkScopes(accountId: string, scopes: readonly string[] | undefined, existing: readonly string[]) {
    const added = (scopes ?? []).filter((s) => isReserved(s) && !existing.includes(s));
    if (added.length === 0) return;
    const account = await store.accounts.find(accountId);
    if (account?.role !== 'admin') {
      throw new ApiError('forbidden', `scopes starting with "${RESERVED_SCOPE_PREFIX}" are for admin accounts`);
    }
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
        response: { 200: Type.Object({ keys: Type.Array(KeyView) }), ...errorResponses(...PROTECTED_ERRORS) },
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
        response: { 201: IssuedKeyView, ...errorResponses(...PROTECTED_ERRORS, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { accountId } = sessionPrincipal(request);
      const body = request.body;
      const expiresAt = expiryOf(body, clock.now());
      await checkScopes(accountId, body.scopes, []);
      const settings: KeySettings & { name: string } = {
        name: body.name,
        scopes: body.scopes,
        methods: body.methods,
        expiresAt,
        metadata: body.metadata,
        rateLimit: body.rateLimit,
      };
      const issued = unwrap(await store.keys.create(accountId, settings, actorOf(request)));
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
        response: { 200: KeyView, ...errorResponses(...PROTECTED_ERRORS, 404) },
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
        response: { 200: KeyView, ...errorResponses(...PROTECTED_ERRORS, 404, 409, 413, 415) },
      },
    },
    async (request) => {
      const key = await ownKey(request, request.params.id);
      if (key.status === 'revoked') throw new ApiError('invalid_state', 'the key is revoked');
      const { enabled, expiresIn: _in, ...rest } = request.body;
      const expiresAt = expiryOf(request.body, clock.now());
      await checkScopes(key.accountId, rest.scopes, key.scopes);
      const actor = actorOf(request);
      const settings: KeySettings = { ...rest, expiresAt };
      let updated = key;
      if (Object.values(settings).some((v) => v !== undefined)) {
        updated = unwrap(await store.keys.update(key.id, settings, actor));
      }
      // After the settings, which checked them all: a refused change leaves the flag as it was.
      if (enabled !== undefined && enabled !== (updated.status === 'active')) {
        updated = unwrap(await store.keys.setEnabled(key.id, enabled, actor));
      }
      return keyView(updated);
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
        response: { 200: KeyView, ...errorResponses(...PROTECTED_ERRORS, 404) },
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
        response: {
          200: Type.Object({ ...IssuedKeyView.properties, graceSeconds: Type.Integer({ minimum: 0 }) }),
          ...errorResponses(...PROTECTED_ERRORS, 404, 409, 413, 415),
        },
      },
    },
    async (request) => {
      const key = await ownKey(request, request.params.id);
      const graceSeconds = request.body.graceSeconds ?? DEFAULT_GRACE_SECONDS;
      const issued = unwrap(await store.keys.rotate(key.id, { graceMs: graceSeconds * 1000 }, actorOf(request)));
      request.log.info({ keyId: key.id, graceSeconds }, 'key rotated');
      return { ...issuedKeyView(issued), graceSeconds };
    },
  );
};
