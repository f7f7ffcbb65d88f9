/**
 * The tables Keyward keeps, as Kysely sees them. One schema for SQLite and PostgreSQL: times
 * are integer milliseconds since the epoch, lists and objects are JSON text, flags are text
 * states, so that no column type differs between the two engines.
 *
 * @packageDocumentation
 */

import type { ColumnType, Insertable, Selectable } from 'kysely';

/** Milliseconds since the epoch, stored as a 64-bit integer. */
export type Millis = number;

/** Key-value facts about the database itself (the keyring check). */
export interface MetaTable {
  name: string;
  value: string;
}

/** Account roles. */
export type Role = 'admin' | 'member';
/** Account states. */
export type AccountStatus = 'active' | 'disabled';

export interface AccountsTable {
  id: string;
  /** Normalized: trimmed, NFC, lower-case. Unique. */
  email: string;
  /** argon2id PHC string. */
  password_hash: string;
  display_name: string | null;
  role: Role;
  status: AccountStatus;
  created_at: Millis;
  updated_at: Millis;
}

/** Key states. `disabled` keys come back with `enable`; `revoked` is final. */
export type KeyStatus = 'active' | 'disabled' | 'revoked';

export interface ApiKeysTable {
  /** The raw 22-character public id; shown to people as `kw_kid_…`. */
  id: string;
  account_id: string;
  name: string;
  /** JSON array of scope tokens. */
  scopes: string;
  /** JSON array of allowed methods, or null for every method. */
  methods: string | null;
  expires_at: Millis | null;
  status: KeyStatus;
  /** Why a key is disabled: `key` (by itself) or `account` (its account was disabled). */
  disabled_reason: 'key' | 'account' | null;
  /** JSON object, size-capped. */
  metadata: string;
  /** JSON `{ limit, windowSeconds }` or null. */
  rate_limit: string | null;
  created_at: Millis;
  updated_at: Millis;
  revoked_at: Millis | null;
  last_used_at: Millis | null;
  use_count: ColumnType<number, number | undefined, number>;
}

/**
 * The secrets of a key. Usually one; two during a rotation's grace period, the old one with an
 * `expires_at`. Never the secret in clear: a peppered HMAC for comparison and an AES-256-GCM
 * sealed copy (bound to the key id) for the methods that need the secret itself.
 */
export interface KeySecretsTable {
  id: string;
  key_id: string;
  secret_hash: string;
  sealed_secret: string;
  created_at: Millis;
  expires_at: Millis | null;
}

export interface AccessTokensTable {
  /** Public id part of the token. */
  id: string;
  key_id: string;
  account_id: string;
  token_hash: string;
  scopes: string;
  created_at: Millis;
  expires_at: Millis;
  revoked_at: Millis | null;
}

/**
 * Ed25519 keys that sign JWT access tokens (RFC 9068). A key signs until `sign_until`, then the
 * next generation takes over; its public half stays published until `publish_until`, when every
 * token it signed has expired. The private key is sealed (AES-256-GCM) under the master key, bound
 * to the key id, like key secrets.
 */
export interface SigningKeysTable {
  /** `kid`: the RFC 7638 JWK thumbprint of the public key. */
  id: string;
  /** 1, 2, 3…, unique: two instances that rotate at once agree on one key per generation. */
  generation: number;
  /** JWS `alg` (RFC 7518 §3.1 / RFC 8037 §3.1): `EdDSA`. */
  algorithm: string;
  /** Public JWK (RFC 7517) as JSON, without `kid`, `alg`, `use`. */
  public_jwk: string;
  /** PKCS #8 DER of the private key, base64url, sealed with context `signing-key:<id>`. */
  sealed_private_key: string;
  created_at: Millis;
  sign_until: Millis;
  publish_until: Millis;
}

export interface SessionsTable {
  id: string;
  account_id: string;
  token_hash: string;
  /** The address the session was issued to. */
  client_ip: string;
  /** Sealed session secret of a signed session, or null. */
  sealed_secret: string | null;
  created_at: Millis;
  last_seen_at: Millis;
  idle_expires_at: Millis;
  expires_at: Millis;
  revoked_at: Millis | null;
}

export interface NoncesTable {
  /** Consumer key and token the nonce was used with. */
  scope: string;
  nonce: string;
  expires_at: Millis;
}

export interface AuditEventsTable {
  /** Time-ordered id. */
  id: string;
  at: Millis;
  actor_type: 'account' | 'key' | 'cli' | 'system';
  actor_id: string | null;
  action: string;
  object_type: string;
  object_id: string | null;
  ip: string | null;
  /** JSON object; never a secret. */
  detail: string | null;
}

export interface UsageHourlyTable {
  key_id: string;
  /** Start of the hour, in milliseconds. */
  hour: Millis;
  count: number;
}

/**
 * Verification outcomes of one key in one hour, by method, outcome and refusal code, batched
 * like usage (store/outcomes.ts). Deleted with the key.
 */
export interface UsageOutcomesTable {
  key_id: string;
  /** Start of the hour, in milliseconds. */
  hour: Millis;
  method: string;
  outcome: 'accepted' | 'refused';
  /** The refusal code; the empty string for an accepted request. */
  code: string;
  count: number;
  first_seen: Millis;
  last_seen: Millis;
  /** JSON array of up to 10 distinct client addresses (refusals only; `[]` otherwise). */
  addresses: string;
}

/**
 * Verification outcomes that name no existing key (an unknown or no key id, a session, or a
 * refusal folded in under a flood), one row per hour, method, outcome and code.
 */
export type UnattributedOutcomesTable = Omit<UsageOutcomesTable, 'key_id'>;

export interface Database {
  keyward_meta: MetaTable;
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  key_secrets: KeySecretsTable;
  access_tokens: AccessTokensTable;
  signing_keys: SigningKeysTable;
  sessions: SessionsTable;
  nonces: NoncesTable;
  audit_events: AuditEventsTable;
  usage_hourly: UsageHourlyTable;
  usage_outcomes: UsageOutcomesTable;
  unattributed_outcomes: UnattributedOutcomesTable;
}

export type AccountRow = Selectable<AccountsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type KeySecretRow = Selectable<KeySecretsTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type NewAuditEvent = Insertable<AuditEventsTable>;
