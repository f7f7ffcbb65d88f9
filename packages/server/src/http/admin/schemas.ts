/**
 * TypeBox schemas of the admin API: the objects it answers with (never a secret, never a hash)
 * and the path and query parameters its routes share.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import type { ApiKey } from '../../store/index.js';

/** Milliseconds since the epoch. */
export const Millis = (description?: string) =>
  Type.Integer({ minimum: 0, ...(description === undefined ? {} : { description }) });

const nullable = <T extends ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);

/** An account. */
export const AccountSchema = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    displayName: Type.Union([Type.String(), Type.Null()]),
    role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
    status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
    createdAt: Millis(),
    updatedAt: Millis(),
  },
  { additionalProperties: false },
);

const RateLimitSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);

/** The methods a key may be limited to. */
export const KeyMethodSchema = Type.Union([
  Type.Literal('basic'),
  Type.Literal('api-key'),
  Type.Literal('oauth2'),
  Type.Literal('oauth1'),
]);

/** An API key (never its secret). */
export const KeySchema = Type.Object(
  {
    id: Type.String({ description: '`kw_kid_…`' }),
    accountId: Type.String(),
    name: Type.String(),
    scopes: Type.Array(Type.String()),
    methods: Type.Union([Type.Array(KeyMethodSchema), Type.Null()], { description: 'null: every method' }),
    expiresAt: nullable(Millis()),
    status: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('revoked')]),
    metadata: Type.Object({}, { additionalProperties: true }),
    rateLimit: Type.Union([RateLimitSchema, Type.Null()]),
    createdAt: Millis(),
    updatedAt: Millis(),
    revokedAt: nullable(Millis()),
    lastUsedAt: nullable(Millis()),
    useCount: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/** Settings an admin may change on a key; at least one. */
export const KeyUpdateSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32 })),
    methods: Type.Optional(
      Type.Union([Type.Array(KeyMethodSchema, { minItems: 1, maxItems: 4 }), Type.Null()], {
        description: 'null: every method',
      }),
    ),
    expiresAt: Type.Optional(Type.Union([Millis('in the future'), Type.Null()], { description: 'null: never' })),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true, maxProperties: 64 })),
    rateLimit: Type.Optional(Type.Union([RateLimitSchema, Type.Null()], { description: 'null: no per-key limit' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** A session (never its token or secret). */
export const SessionSchema = Type.Object(
  {
    id: Type.String(),
    accountId: Type.String(),
    clientIp: Type.String(),
    signed: Type.Boolean(),
    createdAt: Millis(),
    lastSeenAt: Millis(),
    idleExpiresAt: Millis(),
    expiresAt: Millis(),
    revokedAt: nullable(Millis()),
    active: Type.Boolean({ description: 'Usable now: not ended, before both expiries.' }),
  },
  { additionalProperties: false },
);

/** An access token (never the token string or its hash). */
export const TokenSchema = Type.Object(
  {
    id: Type.String({ description: 'The public id part of the token.' }),
    keyId: Type.String({ description: '`kw_kid_…` of the key it was issued to.' }),
    accountId: Type.String(),
    scopes: Type.Array(Type.String()),
    createdAt: Millis(),
    expiresAt: Millis(),
    revokedAt: nullable(Millis()),
    active: Type.Boolean({ description: 'Usable now: not revoked, not expired.' }),
  },
  { additionalProperties: false },
);

/** An audit event. */
export const AuditEventSchema = Type.Object(
  {
    id: Type.String({ description: 'Time-ordered; the cursor of the next page.' }),
    at: Millis(),
    actor: Type.Object(
      {
        type: Type.Union([Type.Literal('account'), Type.Literal('key'), Type.Literal('cli'), Type.Literal('system')]),
        id: Type.Union([Type.String(), Type.Null()]),
      },
      { additionalProperties: false },
    ),
    action: Type.String(),
    object: Type.Object(
      { type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) },
      { additionalProperties: false },
    ),
    ip: Type.Union([Type.String(), Type.Null()]),
    detail: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  },
  { additionalProperties: false },
);

/** `next`: the cursor of the following page, or null on the last page. */
export const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'Pass as the cursor parameter for the next page; null on the last page.',
});

/** Page size: 1-200, default 50. */
export const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 }));

// Ids are short; the caps keep absurd inputs out of queries and error messages.
/** `:accountId`: an account id or email address. */
export const AccountParams = Type.Object(
  { accountId: Type.String({ minLength: 1, maxLength: 254, description: 'Account id or email address.' }) },
  { additionalProperties: false },
);
/** `:keyId`: `kw_kid_…` or the bare id. */
export const KeyParams = Type.Object(
  { keyId: Type.String({ minLength: 1, maxLength: 64, description: '`kw_kid_…` or the bare 22-character id.' }) },
  { additionalProperties: false },
);
/** `:sessionId`. */
export const SessionParams = Type.Object(
  { sessionId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_-]+$' }) },
  { additionalProperties: false },
);
/** `:tokenId`: the public id part of an access token. */
export const TokenParams = Type.Object(
  { tokenId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_-]+$' }) },
  { additionalProperties: false },
);
/** A route that takes no query parameters at all. */
export const NoQuery = Type.Object({}, { additionalProperties: false });

/** A key as the response schema types it (mutable arrays; the same values). */
export function keyJson(key: ApiKey) {
  return {
    ...key,
    scopes: [...key.scopes],
    methods: key.methods === null ? null : [...key.methods],
    metadata: { ...key.metadata },
  };
}
