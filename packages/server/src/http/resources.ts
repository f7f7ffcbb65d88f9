/**
 * One schema per resource, shared by the self-service API (`/v1/accounts`, `/v1/keys`,
 * `/v1/sessions`) and the admin API (`/v1/admin/…`): what an account, a key, a session and an
 * access token look like in responses, and what key settings look like in requests. Response
 * schemas also serialize: a field not listed here never reaches a response, whatever the store
 * returns (never a password hash, a token, a secret or a sealed copy). Times are milliseconds
 * since the epoch, as the store keeps them.
 *
 * Limits are the store's own (`store/keys.ts`, `store/accounts.ts`), imported, not copied, and
 * the same bad input gets the same code on both APIs: the store's. Schema refusals on the fields
 * whose values the store judges with a code of their own say that code
 * ({@link keyInputErrors}): too many or malformed scopes are `scope_invalid`, an expiry out of
 * range `expiry_invalid`; a value of the wrong JSON type anywhere, and every other field, is
 * `invalid_input`. Metadata larger than {@link METADATA_MAX_BYTES} is the store's
 * `metadata_too_large` (JSON Schema cannot measure it).
 *
 * @packageDocumentation
 */

import { KEY_METHODS } from '@keyward/core';
import type { FastifySchemaValidationError } from 'fastify';
import { type Static, Type } from 'typebox';
import { type Account, DISPLAY_NAME_MAX_LENGTH, EMAIL_MAX_LENGTH } from '../store/accounts.js';
import type { Actor, Store } from '../store/index.js';
import {
  type ApiKey,
  DEFAULT_ROTATION_GRACE_MS,
  type IssuedKey,
  KEY_NAME_MAX_LENGTH,
  type KeyMethod,
  type KeySettings,
  MAX_ROTATION_GRACE_MS,
  MAX_SCOPES,
  METADATA_MAX_BYTES,
  RATE_LIMIT_MAX,
  RATE_WINDOW_MAX_SECONDS,
  SCOPE_TOKEN_PATTERN,
} from '../store/keys.js';
import type { Session } from '../store/sessions.js';
import { RESERVED_SCOPE_PREFIX } from './context.js';
import { ApiError, unwrap } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Milliseconds since the epoch. */
export const Millis = (description = 'milliseconds since the epoch') => Type.Integer({ minimum: 0, description });
const NullableMillis = () => Type.Union([Millis(), Type.Null()]);

// ---------------------------------------------------------------------------------------------
// Path parameters (each API names its own; the values are the same)

/** An account id or email address. */
export const AccountIdParam = Type.String({
  minLength: 1,
  maxLength: EMAIL_MAX_LENGTH,
  description: 'Account id or email address.',
});
/** A key id: `kw_kid_…` or the bare 22-character id. */
export const KeyIdParam = Type.String({
  minLength: 1,
  maxLength: 64,
  description: '`kw_kid_…` or the bare 22-character id.',
});
/** A session id. */
export const SessionIdParam = Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_-]+$' });
/** The public id part of an access token. */
export const TokenIdParam = Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z_-]+$' });

// ---------------------------------------------------------------------------------------------
// Accounts

/** An account (never its password hash). */
export const AccountSchema = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    displayName: Type.Union([Type.String(), Type.Null()]),
    role: Type.Enum(['admin', 'member']),
    status: Type.Enum(['active', 'disabled']),
    createdAt: Millis(),
    updatedAt: Millis(),
  },
  { additionalProperties: false },
);

/** An account for a response (the store's type already has no hash; this pins the fields). */
export function accountView(account: Account): Static<typeof AccountSchema> {
  return {
    id: account.id,
    email: account.email,
    displayName: account.displayName,
    role: account.role,
    status: account.status,
    createdAt: account.createdAt,
    updatedAt: account.updatedAt,
  };
}

/** An email address as a request gives it (the store normalizes and checks it). */
export const EmailInput = Type.String({ minLength: 1, maxLength: EMAIL_MAX_LENGTH });
/**
 * A password as a request gives it. A generous cap only: the store's rules (length, common
 * passwords) answer `password_rejected`, which a schema limit would turn into `invalid_input`.
 */
export const PasswordInput = Type.String({ minLength: 1, maxLength: 1024 });
/** A display name (trimmed by the store). */
export const DisplayNameInput = Type.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX_LENGTH });

// ---------------------------------------------------------------------------------------------
// Sessions

/** A session (never its token or secret). */
export const SessionSchema = Type.Object(
  {
    id: Type.String(),
    accountId: Type.String(),
    signed: Type.Boolean({ description: 'true for a signed session (requests are signed with its secret)' }),
    clientIp: Type.String({ description: 'the address the session is bound to' }),
    createdAt: Millis(),
    lastSeenAt: Millis(),
    idleExpiresAt: Millis(),
    expiresAt: Millis(),
    revokedAt: NullableMillis(),
    active: Type.Boolean({ description: 'Usable now: not ended, before both expiries.' }),
    current: Type.Boolean({ description: 'true for the session this request was made with' }),
  },
  { additionalProperties: false },
);

/** A session for a response; `current` when it is the one the request was made with. */
export function sessionView(
  session: Session,
  now: number,
  currentSessionId: string | undefined,
): Static<typeof SessionSchema> {
  return {
    id: session.id,
    accountId: session.accountId,
    signed: session.signed,
    clientIp: session.clientIp,
    createdAt: session.createdAt,
    lastSeenAt: session.lastSeenAt,
    idleExpiresAt: session.idleExpiresAt,
    expiresAt: session.expiresAt,
    revokedAt: session.revokedAt,
    active: session.revokedAt === null && session.expiresAt > now && session.idleExpiresAt > now,
    current: session.id === currentSessionId,
  };
}

// ---------------------------------------------------------------------------------------------
// Access tokens

/** An access token (never the token string or its hash). */
export const TokenSchema = Type.Object(
  {
    id: Type.String({ description: 'The public id part of the token.' }),
    keyId: Type.String({ description: '`kw_kid_…` of the key it was issued to.' }),
    accountId: Type.String(),
    scopes: Type.Array(Type.String()),
    createdAt: Millis(),
    expiresAt: Millis(),
    revokedAt: NullableMillis(),
    active: Type.Boolean({ description: 'Usable now: not revoked, not expired.' }),
  },
  { additionalProperties: false },
);

// ---------------------------------------------------------------------------------------------
// Keys

/** One of the methods a key may be limited to, from core's method table. */
export const KeyMethodSchema = Type.Enum(KEY_METHODS);
// The schema lists exactly the store's methods: a method the table adds fails the type check here
// if the schema stops following it.
const _sameMethods: [Static<typeof KeyMethodSchema>, KeyMethod] extends [KeyMethod, Static<typeof KeyMethodSchema>]
  ? true
  : never = true;
void _sameMethods;

/** A per-key rate limit. */
export const RateLimitSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: RATE_LIMIT_MAX }),
    windowSeconds: Type.Integer({ minimum: 1, maximum: RATE_WINDOW_MAX_SECONDS }),
  },
  { additionalProperties: false },
);

/** An API key (never its secret). */
export const KeySchema = Type.Object(
  {
    id: Type.String({ description: '`kw_kid_…`: Basic user-id, client_id, OAuth consumer key' }),
    accountId: Type.String(),
    name: Type.String(),
    scopes: Type.Array(Type.String()),
    methods: Type.Union([Type.Array(KeyMethodSchema), Type.Null()], { description: 'null: every method' }),
    expiresAt: NullableMillis(),
    status: Type.Enum(['active', 'disabled', 'revoked']),
    metadata: Type.Object({}, { additionalProperties: true }),
    rateLimit: Type.Union([RateLimitSchema, Type.Null()]),
    createdAt: Millis(),
    updatedAt: Millis(),
    revokedAt: NullableMillis(),
    lastUsedAt: NullableMillis(),
    useCount: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/** A key for a response: the listed fields only, so that nothing else ever leaves. */
export function keyView(key: ApiKey): Static<typeof KeySchema> {
  return {
    id: key.id,
    accountId: key.accountId,
    name: key.name,
    scopes: [...key.scopes],
    methods: key.methods === null ? null : [...key.methods],
    expiresAt: key.expiresAt,
    status: key.status,
    metadata: { ...key.metadata },
    rateLimit:
      key.rateLimit === null ? null : { limit: key.rateLimit.limit, windowSeconds: key.rateLimit.windowSeconds },
    createdAt: key.createdAt,
    updatedAt: key.updatedAt,
    revokedAt: key.revokedAt,
    lastUsedAt: key.lastUsedAt,
    useCount: key.useCount,
  };
}

const issuedKeyFields = {
  id: Type.String({ description: '`kw_kid_…`: Basic user-id, client_id, consumer key' }),
  secret: Type.String({ description: '`kw_sk_…`: Basic password, client_secret; shown once, never again' }),
  token: Type.String({ description: '`kw_key_…`: for Authorization: Bearer; shown once' }),
  key: KeySchema,
};

/** A key with its secret, shown once (creation). */
export const IssuedKeySchema = Type.Object(issuedKeyFields, { additionalProperties: false });

/** A key with its new secret, shown once, and how long the old secret keeps working (rotation). */
export const RotatedKeySchema = Type.Object(
  { ...issuedKeyFields, graceSeconds: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

/** A key with its new secret and token, for the responses that show them. */
export function issuedKeyView(issued: IssuedKey): Static<typeof IssuedKeySchema> {
  return { id: issued.id, secret: issued.secret, token: issued.token, key: keyView(issued.key) };
}

// ---------------------------------------------------------------------------------------------
// Key input: creation, update, rotation

/** Longest relative expiry: ten years, in seconds. */
export const MAX_EXPIRES_IN = 10 * 365 * 24 * 60 * 60;
/** Default rotation grace period, in seconds (the store's: 24 hours). */
export const DEFAULT_GRACE_SECONDS = DEFAULT_ROTATION_GRACE_MS / 1000;
/** Longest rotation grace period, in seconds (the store's: 30 days). */
export const MAX_GRACE_SECONDS = MAX_ROTATION_GRACE_MS / 1000;

// The store's cap (which it applies after trimming); a refusal here or there is `invalid_input`.
const KeyName = Type.String({ minLength: 1, maxLength: KEY_NAME_MAX_LENGTH });
const Scopes = Type.Array(Type.String({ pattern: SCOPE_TOKEN_PATTERN }), {
  maxItems: MAX_SCOPES,
  description: `At most ${MAX_SCOPES} scope tokens (RFC 6749 §3.3); duplicates count once.`,
});
// No item cap: the enum bounds what an item can be, the body limit how many, and the store keeps
// each method once.
const Methods = Type.Array(KeyMethodSchema, { minItems: 1 });
const Metadata = Type.Object(
  {},
  { additionalProperties: true, description: `Any JSON object of at most ${METADATA_MAX_BYTES} bytes.` },
);
const ExpiresAt = Millis('milliseconds since the epoch, in the future');
const ExpiresIn = Type.Integer({ minimum: 1, maximum: MAX_EXPIRES_IN, description: 'seconds from now' });

/** The body that creates a key. `expiresAt` and `expiresIn` exclude each other. */
export const KeyCreateBody = Type.Object(
  {
    name: KeyName,
    scopes: Type.Optional(Scopes),
    methods: Type.Optional(Methods),
    expiresAt: Type.Optional(ExpiresAt),
    expiresIn: Type.Optional(ExpiresIn),
    metadata: Type.Optional(Metadata),
    rateLimit: Type.Optional(RateLimitSchema),
  },
  { additionalProperties: false },
);

/** The body that changes a key: what to change; null clears methods, expiry, rate limit. */
export const KeyUpdateBody = Type.Object(
  {
    name: Type.Optional(KeyName),
    scopes: Type.Optional(Scopes),
    methods: Type.Optional(Type.Union([Methods, Type.Null()], { description: 'null: every method' })),
    expiresAt: Type.Optional(Type.Union([ExpiresAt, Type.Null()], { description: 'null: never' })),
    expiresIn: Type.Optional(ExpiresIn),
    metadata: Type.Optional(Metadata),
    rateLimit: Type.Optional(Type.Union([RateLimitSchema, Type.Null()], { description: 'null: no per-key limit' })),
    enabled: Type.Optional(Type.Boolean({ description: 'false disables the key; true enables it again' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** The body that rotates a key (optional). */
export const KeyRotateBody = Type.Object(
  {
    graceSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_GRACE_SECONDS,
        description: `how long the old secret keeps working; default ${DEFAULT_GRACE_SECONDS} (24 h), 0 ends it now`,
      }),
    ),
  },
  { additionalProperties: false },
);

/** The fields whose values the store judges with a code of its own, and that code. */
const FIELD_CODES = {
  scopes: 'scope_invalid',
  expiresAt: 'expiry_invalid',
  expiresIn: 'expiry_invalid',
} as const;

// JSON Schema keywords that say "not this kind of value" rather than "not this value": a value
// of the wrong type is malformed input, whatever the field.
const SHAPE_KEYWORDS = new Set(['type', 'anyOf', 'oneOf', 'required', 'additionalProperties']);

/**
 * The `schemaErrorFormatter` of the routes that take key settings: a refusal of a value of
 * `scopes`, `expiresAt` or `expiresIn` (a count, a length, a pattern, a range) is the store's
 * code for that field, as if the store had refused it; anything else keeps Fastify's validation
 * error (`invalid_input`). The message is Fastify's.
 */
export function keyInputErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const message = errors.map((e) => `${dataVar}${e.instancePath} ${e.message ?? 'is invalid'}`).join(', ');
  if (dataVar === 'body') {
    for (const e of errors) {
      const field = e.instancePath.split('/')[1] ?? '';
      if (!Object.hasOwn(FIELD_CODES, field) || SHAPE_KEYWORDS.has(e.keyword)) continue;
      return new ApiError(FIELD_CODES[field as keyof typeof FIELD_CODES], message);
    }
  }
  return new Error(message);
}

/** Key settings from a create or update body: `expiresIn` becomes `expiresAt`. */
export function keySettingsOf(
  body: Static<typeof KeyCreateBody> | Omit<Static<typeof KeyUpdateBody>, 'enabled'>,
  now: number,
): KeySettings {
  if (body.expiresAt !== undefined && body.expiresIn !== undefined) {
    throw new ApiError('invalid_input', 'give expiresAt or expiresIn, not both');
  }
  const { expiresIn, ...rest } = body;
  return {
    ...rest,
    metadata: rest.metadata as Record<string, unknown> | undefined,
    ...(expiresIn === undefined ? {} : { expiresAt: now + expiresIn * 1000 }),
  };
}

/** True for a scope that grants Keyward's own APIs (`keyward:…`, any case). */
export function isReservedScope(scope: string): boolean {
  return scope.toLowerCase().startsWith(RESERVED_SCOPE_PREFIX);
}

/**
 * Refuses reserved scopes added to a key of an account that is not an admin, with 403
 * `forbidden`, whichever API asks: a member cannot grant itself Keyward's own APIs, and an admin
 * cannot hand them to a member's key either (the admin guard would refuse that key anyway).
 * Reserved scopes the key already holds may stay, so that changing its other scopes does not
 * strip them.
 */
export async function checkReservedScopes(
  accounts: { find(idOrEmail: string): Promise<Account | undefined> },
  ownerId: string,
  scopes: readonly string[] | undefined,
  existing: readonly string[],
): Promise<void> {
  const added = (scopes ?? []).filter((s) => isReservedScope(s) && !existing.includes(s));
  if (added.length === 0) return;
  const owner = await accounts.find(ownerId);
  if (owner?.role !== 'admin') {
    throw new ApiError('forbidden', `scopes starting with "${RESERVED_SCOPE_PREFIX}" are for keys of admin accounts`);
  }
}

/**
 * Creates a key for an account from a create body: reserved scopes checked, `expiresIn`
 * resolved, the store's rules applied (its codes become the response's).
 */
export async function createKey(
  store: Store,
  accountId: string,
  body: Static<typeof KeyCreateBody>,
  actor: Actor,
  now: number,
): Promise<IssuedKey> {
  const settings = keySettingsOf(body, now);
  await checkReservedScopes(store.accounts, accountId, settings.scopes, []);
  return unwrap(await store.keys.create(accountId, { ...settings, name: body.name }, actor));
}

/**
 * Applies an update body to a key, the same way for whoever asks: a revoked key cannot change
 * (409 `invalid_state`); reserved scopes are checked; the settings go first, and `enabled` only
 * once they were accepted, so that a refused change leaves the flag as it was.
 */
export async function updateKey(
  store: Store,
  key: ApiKey,
  body: Static<typeof KeyUpdateBody>,
  actor: Actor,
  now: number,
): Promise<ApiKey> {
  if (key.status === 'revoked') throw new ApiError('invalid_state', 'the key is revoked');
  const { enabled, ...rest } = body;
  const settings = keySettingsOf(rest, now);
  await checkReservedScopes(store.accounts, key.accountId, settings.scopes, key.scopes);
  let updated = key;
  if (Object.values(settings).some((v) => v !== undefined)) {
    updated = unwrap(await store.keys.update(key.id, settings, actor));
  }
  if (enabled !== undefined && enabled !== (updated.status === 'active')) {
    updated = unwrap(await store.keys.setEnabled(key.id, enabled, actor));
  }
  return updated;
}

/** Rotates a key from a rotate body (none: the defaults); the response with the new secret. */
export async function rotateKey(
  store: Store,
  keyId: string,
  body: Static<typeof KeyRotateBody>,
  actor: Actor,
): Promise<Static<typeof RotatedKeySchema>> {
  const graceSeconds = body.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  const issued = unwrap(await store.keys.rotate(keyId, { graceMs: graceSeconds * 1000 }, actor));
  return { ...issuedKeyView(issued), graceSeconds };
}

/** Largest body the account, key and admin routes read: key metadata with room for escapes. */
export const RESOURCE_BODY_LIMIT = 64 * 1024;
