/**
 * The TypeBox schemas shared by the account, session and key routes: what an account, a session
 * and a key look like in responses (never a password hash, a token, a secret or a sealed copy).
 * Error responses are the app's (`../schemas.ts`). Response schemas also serialize: a field not
 * listed here never reaches a response, whatever the store returns. Times are milliseconds since
 * the epoch, as the store keeps them.
 *
 * @packageDocumentation
 */

import { type Static, Type } from 'typebox';
import type { Account } from '../../store/accounts.js';
import type { ApiKey, IssuedKey, KeyMethod } from '../../store/keys.js';
import type { Session } from '../../store/sessions.js';

/**
 * The OpenAPI security of routes that need a session: the session token as a bearer token, or
 * a signed session (OAuth 1.0a). Scheme names as the OpenAPI document declares them.
 */
export const SESSION_SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { oauth1: [] }];

/** Milliseconds since the epoch. */
export const Millis = Type.Integer({ minimum: 0, description: 'milliseconds since the epoch' });
const NullableMillis = Type.Union([Millis, Type.Null()]);

/** An account as the API shows it. */
export const AccountView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  createdAt: Millis,
  updatedAt: Millis,
});

/** An account for a response (the store's type already has no hash; this pins the fields). */
export function accountView(account: Account): Static<typeof AccountView> {
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

/** A session as the API shows it: never its token or secret. */
export const SessionView = Type.Object({
  id: Type.String(),
  signed: Type.Boolean({ description: 'true for a signed session (requests are signed with its secret)' }),
  clientIp: Type.String({ description: 'the address the session is bound to' }),
  createdAt: Millis,
  lastSeenAt: Millis,
  idleExpiresAt: Millis,
  expiresAt: Millis,
  current: Type.Boolean({ description: 'true for the session this request was made with' }),
});

/** A session for a response; `current` when it is the one the request was made with. */
export function sessionView(session: Session, currentSessionId: string | undefined): Static<typeof SessionView> {
  return {
    id: session.id,
    signed: session.signed,
    clientIp: session.clientIp,
    createdAt: session.createdAt,
    lastSeenAt: session.lastSeenAt,
    idleExpiresAt: session.idleExpiresAt,
    expiresAt: session.expiresAt,
    current: session.id === currentSessionId,
  };
}

/** One of the key methods (`KEY_METHODS` of the store). */
export const KeyMethodSchema = Type.Union([
  Type.Literal('basic'),
  Type.Literal('api-key'),
  Type.Literal('oauth2'),
  Type.Literal('oauth1'),
]);
// The schema lists exactly the store's methods: a method added there fails the type check here.
const _sameMethods: [Static<typeof KeyMethodSchema>, KeyMethod] extends [KeyMethod, Static<typeof KeyMethodSchema>]
  ? true
  : never = true;
void _sameMethods;

/** A per-key rate limit. */
export const RateLimitSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);

/** A key as the API shows it: never a secret. */
export const KeyView = Type.Object({
  id: Type.String({ description: 'kw_kid_…: Basic user-id, client_id, OAuth consumer key' }),
  accountId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  methods: Type.Union([Type.Array(KeyMethodSchema), Type.Null()], { description: 'null: every method' }),
  expiresAt: NullableMillis,
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('revoked')]),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  rateLimit: Type.Union([Type.Object({ limit: Type.Integer(), windowSeconds: Type.Integer() }), Type.Null()]),
  createdAt: Millis,
  updatedAt: Millis,
  revokedAt: NullableMillis,
  lastUsedAt: NullableMillis,
  useCount: Type.Integer({ minimum: 0 }),
});

/** A key with its secret, shown once (creation, rotation). */
export const IssuedKeyView = Type.Object({
  id: Type.String({ description: 'kw_kid_…' }),
  secret: Type.String({ description: 'kw_sk_…: shown once, never again' }),
  token: Type.String({ description: 'kw_key_…: for Authorization: Bearer; shown once' }),
  key: KeyView,
});

/** A key for a response: the listed fields only, so that nothing else ever leaves. */
export function keyView(key: ApiKey): Static<typeof KeyView> {
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

/** A key with its new secret and token, for the one response that shows them. */
export function issuedKeyView(issued: IssuedKey): Static<typeof IssuedKeyView> {
  return { id: issued.id, secret: issued.secret, token: issued.token, key: keyView(issued.key) };
}
