/**
 * API keys: the credential every method shares. A key has a public id and a secret shown once;
 * the secret is kept only as a peppered HMAC (to compare) and an AES-256-GCM sealed copy bound
 * to the key id (for OAuth 1.0a and signed sessions, which need the secret itself). Rotation
 * adds a new secret and gives the old one a grace period.
 *
 * @packageDocumentation
 */

import {
  apiKeyStrings,
  constantTimeEqual,
  fail,
  formatKeywardString,
  generateApiKey,
  hashSecret,
  identify,
  KEY_METHODS,
  type KeyMethod,
  openSecret,
  type Result,
  sealSecret,
  succeed,
} from '@keyward/core';
import { sql } from 'kysely';
import type { ErrorCode } from '../errors/codes.js';
import { type KeyStateError, keyStateProblem } from '../verify/key-state.js';
import { normalizeEmail } from './accounts.js';
import type { AuditLog } from './audit.js';
import type { Actor, Executor, StoreContext } from './context.js';
import { newId } from './context.js';
import type { AccountStatus, ApiKeyRow, KeyStatus } from './schema.js';
import { revokeTokens, revokeTokensBeyond } from './tokens.js';

// The methods a key can be allowed to use come from core's method table, so that a new method
// is declared once; re-exported under the names the store always had.
export { KEY_METHODS, type KeyMethod };

/** A per-key request rate limit. */
export interface RateLimit {
  readonly limit: number;
  readonly windowSeconds: number;
}

/** A key as the API shows it: never a secret. */
export interface ApiKey {
  /** `kw_kid_…`. */
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly scopes: readonly string[];
  /** Allowed methods, or null for all. */
  readonly methods: readonly KeyMethod[] | null;
  readonly expiresAt: number | null;
  readonly status: KeyStatus;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly rateLimit: RateLimit | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
  readonly useCount: number;
}

/** A key and its secret, as returned once at creation or rotation. */
export interface IssuedKey {
  readonly key: ApiKey;
  /** `kw_kid_…`: Basic user-id, `client_id`, OAuth consumer key. */
  readonly id: string;
  /** `kw_sk_…`: Basic password, `client_secret`, consumer secret. */
  readonly secret: string;
  /** `kw_key_…`: `Authorization: Bearer`. */
  readonly token: string;
}

/** Settings of a key that can be given at creation and changed later. */
export interface KeySettings {
  readonly name?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly methods?: readonly string[] | null | undefined;
  /** Milliseconds since the epoch; null for no expiry. */
  readonly expiresAt?: number | null | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly rateLimit?: RateLimit | null | undefined;
}

// The limits below are the only ones: the HTTP schemas of both the self-service and the admin
// API are built from them (http/resources.ts), so that a request refused here is refused there
// with the same code.

/** Largest metadata object, as UTF-8 JSON. */
export const METADATA_MAX_BYTES = 4096;
/** Longest key name, in characters, once trimmed. */
export const KEY_NAME_MAX_LENGTH = 100;
/** Most scopes a key may hold. */
export const MAX_SCOPES = 32;
/** Longest scope token, in characters. */
export const SCOPE_MAX_LENGTH = 64;
/**
 * A scope token as a regular-expression source: RFC 6749 §3.3
 * `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, capped at {@link SCOPE_MAX_LENGTH} characters.
 */
export const SCOPE_TOKEN_PATTERN = `^[\\x21\\x23-\\x5b\\x5d-\\x7e]{1,${SCOPE_MAX_LENGTH}}$`;
const SCOPE_TOKEN = new RegExp(SCOPE_TOKEN_PATTERN);
/** Largest per-key rate limit, in requests per window. */
export const RATE_LIMIT_MAX = 1_000_000;
/** Longest per-key rate limit window, in seconds: a day. */
export const RATE_WINDOW_MAX_SECONDS = 86_400;
/** Default grace period of the old secret after a rotation: 24 hours. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;
/** Longest grace period of the old secret after a rotation: 30 days. */
export const MAX_ROTATION_GRACE_MS = 30 * DEFAULT_ROTATION_GRACE_MS;

type SettingsError = 'invalid_input' | 'scope_invalid' | 'metadata_too_large' | 'expiry_invalid';

interface ValidSettings {
  name?: string;
  scopes?: string;
  methods?: string | null;
  expires_at?: number | null;
  metadata?: string;
  rate_limit?: string | null;
}

/** Checks settings and turns them into column values; nothing is written. */
function validateSettings(input: KeySettings, now: number): Result<ValidSettings, SettingsError> {
  const out: ValidSettings = {};
  if (input.name !== undefined) {
    const name = input.name.trim();
    if (name.length < 1 || name.length > KEY_NAME_MAX_LENGTH) {
      return fail('invalid_input', `name must be 1-${KEY_NAME_MAX_LENGTH} characters`);
    }
    out.name = name;
  }
  if (input.scopes !== undefined) {
    if (input.scopes.length > MAX_SCOPES) return fail('scope_invalid', `at most ${MAX_SCOPES} scopes`);
    for (const scope of input.scopes) {
      if (!SCOPE_TOKEN.test(scope))
        return fail('scope_invalid', `"${scope.slice(0, SCOPE_MAX_LENGTH)}" is not a scope token (RFC 6749 §3.3)`);
    }
    out.scopes = JSON.stringify([...new Set(input.scopes)]);
  }
  if (input.methods !== undefined) {
    if (input.methods === null) out.methods = null;
    else {
      if (input.methods.length === 0) return fail('invalid_input', 'methods must name at least one method');
      for (const m of input.methods) {
        if (!(KEY_METHODS as readonly string[]).includes(m)) {
          return fail('invalid_input', `unknown method "${m}"; expected ${KEY_METHODS.join(', ')}`);
        }
      }
      out.methods = JSON.stringify([...new Set(input.methods)]);
    }
  }
  if (input.expiresAt !== undefined) {
    if (input.expiresAt !== null && (!Number.isSafeInteger(input.expiresAt) || input.expiresAt <= now)) {
      return fail('expiry_invalid', 'expiry must be in the future');
    }
    out.expires_at = input.expiresAt;
  }
  if (input.metadata !== undefined) {
    const m = input.metadata;
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      return fail('invalid_input', 'metadata must be a JSON object');
    const json = JSON.stringify(m);
    if (Buffer.byteLength(json, 'utf8') > METADATA_MAX_BYTES) {
      return fail('metadata_too_large', `metadata is larger than ${METADATA_MAX_BYTES} bytes`);
    }
    out.metadata = json;
  }
  if (input.rateLimit !== undefined) {
    const r = input.rateLimit;
    if (r === null) out.rate_limit = null;
    else {
      if (!Number.isInteger(r.limit) || r.limit < 1 || r.limit > RATE_LIMIT_MAX)
        return fail('invalid_input', `rate limit must be 1-${RATE_LIMIT_MAX} requests`);
      if (!Number.isInteger(r.windowSeconds) || r.windowSeconds < 1 || r.windowSeconds > RATE_WINDOW_MAX_SECONDS) {
        return fail('invalid_input', `rate limit window must be 1-${RATE_WINDOW_MAX_SECONDS} seconds`);
      }
      out.rate_limit = JSON.stringify({ limit: r.limit, windowSeconds: r.windowSeconds });
    }
  }
  return succeed(out);
}

function toKey(row: ApiKeyRow): ApiKey {
  return {
    id: formatKeywardString('key_id', { id: row.id }),
    accountId: row.account_id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    methods: row.methods === null ? null : (JSON.parse(row.methods) as KeyMethod[]),
    expiresAt: row.expires_at,
    status: row.status,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    rateLimit: row.rate_limit === null ? null : (JSON.parse(row.rate_limit) as RateLimit),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    useCount: row.use_count,
  };
}

/**
 * The raw id of a key from what a person typed: the `kw_kid_…` string or the bare 22-character
 * id. `undefined` when it is neither.
 */
export function parseKeyId(input: string): string | undefined {
  const known = identify(input);
  if (known?.type === 'key_id') return known.id;
  return /^[0-9A-Za-z]{22}$/.test(input) ? input : undefined;
}

/** What the verifier needs about a key, secrets included (hashed and sealed). */
export interface KeyCredential {
  readonly key: ApiKey;
  readonly accountStatus: AccountStatus;
  /** Secrets valid now: one, or two during a rotation's grace period. */
  readonly secrets: readonly { readonly hash: string; readonly sealed: string; readonly expiresAt: number | null }[];
}

export { type KeyStateError, keyStateProblem } from '../verify/key-state.js';

/** The key repository. */
export class Keys {
  constructor(
    private readonly ctx: StoreContext,
    private readonly audit: AuditLog,
  ) {}

  private async row(db: Executor, rawId: string): Promise<ApiKeyRow | undefined> {
    return db.selectFrom('api_keys').selectAll().where('id', '=', rawId).executeTakeFirst();
  }

  private newSecretRow(rawId: string, rawSecret: string, now: number) {
    return {
      id: newId('sec', this.ctx),
      key_id: rawId,
      secret_hash: hashSecret(this.ctx.keyring.pepper, rawSecret),
      // Bound to the key id: a sealed secret copied onto another key's row does not open.
      sealed_secret: sealSecret(rawSecret, this.ctx.keyring.current, `key:${rawId}`, this.ctx.random),
      created_at: now,
      expires_at: null,
    };
  }

  /**
   * Creates a key for an account. The secret is in the result and nowhere else, ever again.
   * Key, secret and audit event are written in one transaction.
   *
   * @param within - an open transaction to write in instead of a new one (the account may be
   *   one made in it); committing it is the caller's.
   */
  async create(
    accountIdOrEmail: string,
    settings: KeySettings & { name: string },
    actor: Actor,
    within?: Executor,
  ): Promise<Result<IssuedKey, SettingsError | 'account_not_found' | 'invalid_state'>> {
    const now = this.ctx.clock.now();
    const valid = validateSettings(settings, now);
    if (!valid.ok) return valid;
    const account = await (within ?? this.ctx.db)
      .selectFrom('accounts')
      .select(['id', 'status'])
      .where((eb) => eb.or([eb('id', '=', accountIdOrEmail), eb('email', '=', normalizeEmail(accountIdOrEmail))]))
      .executeTakeFirst();
    if (account === undefined) return fail('account_not_found');
    if (account.status !== 'active') return fail('invalid_state', 'the account is disabled');

    const generated = generateApiKey(this.ctx.random);
    const v = valid.value;
    const row: ApiKeyRow = {
      id: generated.id,
      account_id: account.id,
      name: v.name ?? settings.name,
      scopes: v.scopes ?? '[]',
      methods: v.methods ?? null,
      expires_at: v.expires_at ?? null,
      status: 'active',
      disabled_reason: null,
      metadata: v.metadata ?? '{}',
      rate_limit: v.rate_limit ?? null,
      created_at: now,
      updated_at: now,
      revoked_at: null,
      last_used_at: null,
      use_count: 0,
    };
    const write = async (trx: Executor): Promise<void> => {
      await trx.insertInto('api_keys').values(row).execute();
      await trx
        .insertInto('key_secrets')
        .values(this.newSecretRow(generated.id, generated.secret, now))
        .execute();
      await this.audit.record(trx, actor, {
        action: 'key.create',
        objectType: 'key',
        objectId: generated.keyId,
        detail: { accountId: account.id, name: row.name },
      });
    };
    if (within === undefined) await this.ctx.db.transaction().execute(write);
    else await write(within);
    // Before the caller's commit when `within` is given: harmless, as nobody can have asked
    // for (and so cached) an id that was made a moment ago and not yet returned.
    await this.ctx.invalidations.publish({ kind: 'key', id: generated.id });
    return succeed({ key: toKey(row), id: generated.keyId, secret: generated.keySecret, token: generated.token });
  }

  /** A key by `kw_kid_…` or raw id. */
  async get(id: string): Promise<ApiKey | undefined> {
    const rawId = parseKeyId(id);
    if (rawId === undefined) return undefined;
    const row = await this.row(this.ctx.db, rawId);
    return row === undefined ? undefined : toKey(row);
  }

  /** Keys, oldest first, optionally of one account (id or email). */
  async list(options: { accountId?: string; includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
    let q = this.ctx.db.selectFrom('api_keys').selectAll('api_keys');
    if (options.accountId !== undefined) {
      const needle = options.accountId;
      q = q
        .innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
        .where((eb) => eb.or([eb('accounts.id', '=', needle), eb('accounts.email', '=', normalizeEmail(needle))]));
    }
    if (options.includeRevoked !== true) q = q.where('api_keys.status', '!=', 'revoked');
    const rows = await q.orderBy('api_keys.created_at').orderBy('api_keys.id').execute();
    return rows.map(toKey);
  }

  /**
   * Runs `change` on a key that exists, in a transaction, and tells caches once it committed.
   * A revoked key is refused with `invalid_state`, or returned unchanged when `revoked` says so.
   */
  private async mutate<E extends ErrorCode>(
    id: string,
    change: (trx: Executor, row: ApiKeyRow, now: number) => Promise<Result<ApiKeyRow, E>>,
    revoked: 'refuse' | 'unchanged' = 'refuse',
  ): Promise<Result<ApiKey, E | 'key_not_found' | 'invalid_state'>> {
    const rawId = parseKeyId(id);
    if (rawId === undefined) return fail('key_not_found');
    const now = this.ctx.clock.now();
    const result = await this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.row(trx, rawId);
      if (row === undefined) return fail('key_not_found');
      if (row.status === 'revoked') {
        return revoked === 'unchanged' ? succeed(toKey(row)) : fail('invalid_state', 'the key is revoked');
      }
      const changed = await change(trx, row, now);
      if (!changed.ok) return changed;
      return succeed(toKey(changed.value));
    });
    if (result.ok) await this.ctx.invalidations.publish({ kind: 'key', id: rawId });
    return result;
  }

  /**
   * Changes a key's name, scopes, methods, expiry, metadata or rate limit. A change that takes
   * something away from the key reaches its access tokens in the same transaction: without
   * `oauth2` among its methods, or given a new expiry after it had expired, all its live tokens
   * are revoked; with narrower scopes, those of its tokens that hold a scope it lost (see
   * {@link revokeTokensBeyond}). Cached copies drop before the call returns.
   */
  update(id: string, settings: KeySettings, actor: Actor) {
    return this.mutate<SettingsError>(id, async (trx, row, now) => {
      const valid = validateSettings(settings, now);
      if (!valid.ok) return valid;
      const set = { ...valid.value, updated_at: now };
      await trx.updateTable('api_keys').set(set).where('id', '=', row.id).execute();
      const tokensRevoked = await this.revokeOutgrownTokens(trx, row, valid.value, now);
      await this.audit.record(trx, actor, {
        action: 'key.update',
        objectType: 'key',
        objectId: formatKeywardString('key_id', { id: row.id }),
        detail: { fields: Object.keys(valid.value), tokensRevoked },
      });
      return succeed({ ...row, ...set });
    });
  }

  // The tokens of a key that its updated settings no longer cover. A token is never worth more
  // than its key now (ASVS 5.0 8.3.2: changed permissions apply at once), and a key brought back
  // to life (an expired key given a new expiry) does not bring back what it had issued, as a
  // disabled key enabled again does not.
  private async revokeOutgrownTokens(trx: Executor, row: ApiKeyRow, changed: ValidSettings, now: number) {
    const methods = changed.methods === undefined ? row.methods : changed.methods;
    const noOAuth2 = methods !== null && !(JSON.parse(methods) as string[]).includes('oauth2');
    const revived = changed.expires_at !== undefined && row.expires_at !== null && row.expires_at <= now;
    if (noOAuth2 || revived) return revokeTokens(trx, 'key_id', row.id, now);
    if (changed.scopes === undefined) return 0;
    return revokeTokensBeyond(trx, row.id, JSON.parse(changed.scopes) as string[], now);
  }

  /**
   * Disables a key, or enables it again (not when its account is disabled). Disabling revokes
   * the key's live access tokens in the same transaction, as disabling its account does, so
   * that enabling it again brings none of them back; cached copies drop before the call returns.
   */
  setEnabled(id: string, enabled: boolean, actor: Actor) {
    return this.mutate<'invalid_state'>(id, async (trx, row, now) => {
      if (enabled) {
        const account = await trx
          .selectFrom('accounts')
          .select('status')
          .where('id', '=', row.account_id)
          .executeTakeFirst();
        if (account?.status !== 'active') return fail('invalid_state', 'the account is disabled');
      }
      const set = {
        status: enabled ? ('active' as const) : ('disabled' as const),
        disabled_reason: enabled ? null : ('key' as const),
        updated_at: now,
      };
      await trx.updateTable('api_keys').set(set).where('id', '=', row.id).execute();
      const objectId = formatKeywardString('key_id', { id: row.id });
      if (enabled) await this.audit.record(trx, actor, { action: 'key.enable', objectType: 'key', objectId });
      else {
        const tokensRevoked = await revokeTokens(trx, 'key_id', row.id, now);
        await this.audit.record(trx, actor, {
          action: 'key.disable',
          objectType: 'key',
          objectId,
          detail: { tokensRevoked },
        });
      }
      return succeed({ ...row, ...set });
    });
  }

  /**
   * Revokes a key for good (kept for the audit trail) and revokes its live access tokens in
   * the same transaction. Revoking a revoked key changes nothing and succeeds.
   */
  revoke(id: string, actor: Actor): Promise<Result<ApiKey, 'key_not_found' | 'invalid_state'>> {
    return this.mutate<never>(
      id,
      async (trx, row, now) => {
        const set = { status: 'revoked' as const, revoked_at: now, updated_at: now };
        await trx.updateTable('api_keys').set(set).where('id', '=', row.id).execute();
        const tokensRevoked = await revokeTokens(trx, 'key_id', row.id, now);
        await this.audit.record(trx, actor, {
          action: 'key.revoke',
          objectType: 'key',
          objectId: toKey(row).id,
          detail: { tokensRevoked },
        });
        return succeed({ ...row, ...set });
      },
      'unchanged',
    );
  }

  /**
   * Gives a key a new secret. The old secret keeps working for `graceMs` (default 24 h; 0 ends
   * it now), then is refused. Secrets whose grace already ended are deleted. With no grace the
   * old secret is taken to be compromised: the key's live access tokens, which anyone holding it
   * could have obtained, are revoked in the same transaction, as a password change revokes an
   * account's. With a grace period they stay: the old secret itself still works for that long.
   */
  async rotate(
    id: string,
    options: { graceMs?: number },
    actor: Actor,
  ): Promise<Result<IssuedKey, 'key_not_found' | 'invalid_state' | 'invalid_input'>> {
    const graceMs = options.graceMs ?? DEFAULT_ROTATION_GRACE_MS;
    if (!Number.isSafeInteger(graceMs) || graceMs < 0 || graceMs > MAX_ROTATION_GRACE_MS) {
      return fail('invalid_input', 'grace must be between 0 and 30 days');
    }
    let secret = '';
    const result = await this.mutate<never>(id, async (trx, row, now) => {
      const fresh = generateApiKey(this.ctx.random);
      secret = fresh.secret;
      const until = now + graceMs;
      await trx.deleteFrom('key_secrets').where('key_id', '=', row.id).where('expires_at', '<=', now).execute();
      await trx
        .updateTable('key_secrets')
        .set({ expires_at: until })
        .where('key_id', '=', row.id)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', until)]))
        .execute();
      await trx
        .insertInto('key_secrets')
        .values(this.newSecretRow(row.id, fresh.secret, now))
        .execute();
      await trx.updateTable('api_keys').set({ updated_at: now }).where('id', '=', row.id).execute();
      const tokensRevoked = graceMs === 0 ? await revokeTokens(trx, 'key_id', row.id, now) : 0;
      await this.audit.record(trx, actor, {
        action: 'key.rotate',
        objectType: 'key',
        objectId: formatKeywardString('key_id', { id: row.id }),
        detail: { graceSeconds: Math.floor(graceMs / 1000), tokensRevoked },
      });
      return succeed({ ...row, updated_at: now });
    });
    if (!result.ok) return result;
    const strings = apiKeyStrings(parseKeyId(result.value.id) as string, secret);
    return succeed({ key: result.value, id: strings.keyId, secret: strings.keySecret, token: strings.token });
  }

  /**
   * The key, its account's status and its secrets valid now; undefined for an unknown id.
   * `missLike`: a key that exists, whose secrets a miss reads in place of none (equal cost).
   */
  async credential(rawId: string, missLike?: string): Promise<KeyCredential | undefined> {
    const now = this.ctx.clock.now();
    const row = await this.ctx.db
      .selectFrom('api_keys')
      .innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
      .selectAll('api_keys')
      .select('accounts.status as account_status')
      .where('api_keys.id', '=', rawId)
      .executeTakeFirst();
    // A miss still makes the secrets query, for `missLike` (a key that exists) when given, so
    // that it reads what a hit reads and its time does not tell that the id has no key.
    const secrets = await this.ctx.db
      .selectFrom('key_secrets')
      .select(['secret_hash', 'sealed_secret', 'expires_at'])
      .where('key_id', '=', row === undefined ? (missLike ?? rawId) : rawId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      // The current secret first (the one most callers use), then older ones still in grace.
      .orderBy(sql`case when expires_at is null then 0 else 1 end`)
      .orderBy('created_at', 'desc')
      .execute();
    if (row === undefined) return undefined;
    const { account_status, ...keyRow } = row;
    return {
      key: toKey(keyRow),
      accountStatus: account_status,
      secrets: secrets.map((s) => ({ hash: s.secret_hash, sealed: s.sealed_secret, expiresAt: s.expires_at })),
    };
  }

  /**
   * Checks a key id and secret (raw parts, as `identify` returns them). Every valid secret is
   * compared in constant time, with no early exit; an unknown id still costs one hash. The
   * key's state is told only once the secret matched.
   */
  async verifySecret(rawId: string, rawSecret: string): Promise<Result<ApiKey, 'key_unknown' | KeyStateError>> {
    const presented = hashSecret(this.ctx.keyring.pepper, rawSecret);
    const credential = await this.credential(rawId);
    let matched = false;
    for (const s of credential?.secrets ?? []) matched = constantTimeEqual(s.hash, presented) || matched;
    if (credential === undefined || !matched) return fail('key_unknown');
    const problem = keyStateProblem(credential, this.ctx.clock.now());
    if (problem !== undefined) return fail(problem);
    return succeed(credential.key);
  }

  /**
   * The secrets of a key in clear (`kw_sk_…`), newest first, for OAuth 1.0a verification.
   * Throws when a sealed secret does not open: that is a wrong master key, not bad input.
   */
  openSecrets(rawId: string, credential: KeyCredential): string[] {
    return credential.secrets.map((s) => {
      const opened = openSecret(s.sealed, this.ctx.keyring.masterKeys, `key:${rawId}`);
      if (!opened.ok) throw new Error(`sealed secret of key ${rawId} does not open: ${opened.code}`);
      return formatKeywardString('key_secret', { secret: opened.value });
    });
  }
}
