/**
 * OAuth 2.0 access tokens (RFC 6749 §1.4), opaque: `kw_at_<id><secret>`. Only a peppered hash
 * of the secret part is stored; the id part is the lookup key. Issued for a key by the token
 * endpoint (client credentials, RFC 6749 §4.4), never for longer than an hour.
 *
 * JWT access tokens (RFC 9068) are recorded here too, by their `jti`, so that they can be listed,
 * introspected and revoked like opaque ones; their rows carry no hash that any secret matches.
 *
 * @packageDocumentation
 */

import { fail, generateToken, hashSecret, ID_LENGTH, type Result, randomBase62, succeed } from '@keyward/core';
import type { AuditLog } from './audit.js';
import { BatchedInsert } from './batched-insert.js';
import { type Actor, deleteInBatches, type Executor, endRow, PURGE_BATCH, type StoreContext } from './context.js';

/** Longest access token lifetime: one hour. */
export const MAX_TOKEN_TTL_MS = 60 * 60 * 1000;

/**
 * The `token_hash` of a row that records a JWT. Not base64url of 32 bytes, so no presented opaque
 * token's hash ever equals it: a `jti` cannot be turned into a `kw_at_…` token.
 */
export const JWT_TOKEN_HASH = '!jwt';

/** How an access token travels: an opaque `kw_at_…` string or a signed JWT. */
export type AccessTokenFormat = 'opaque' | 'jwt';

/** An access token as the verifier sees it (never its secret). */
export interface AccessToken {
  /** Raw public id part (the `jti` of a JWT). */
  readonly id: string;
  /** Raw id of the key it was issued to. */
  readonly keyId: string;
  readonly accountId: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
  readonly format: AccessTokenFormat;
}

/** What a token is issued for. */
export interface TokenGrant {
  /** Raw id of the key. */
  readonly keyId: string;
  readonly accountId: string;
  /** Already narrowed to the key's scopes by the caller. */
  readonly scopes: readonly string[];
  /** Lifetime in milliseconds: 1 s to 1 h. */
  readonly ttlMs: number;
}

type TokenRow = {
  id: string;
  key_id: string;
  account_id: string;
  token_hash: string;
  scopes: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
};

/** The access token repository. */
export class AccessTokens {
  // The token endpoint's writes, committed together per turn of the event loop, without a sync
  // of the disk per commit: a token lost with the machine is refused (fail closed), and its
  // client asks for another, as it does when one expires. A revocation is synced as ever.
  private readonly inserts: BatchedInsert<'access_tokens'>;

  constructor(
    private readonly ctx: StoreContext,
    /** Where revocations are recorded; without it (verifier tests) nothing is audited. */
    private readonly audit?: AuditLog | undefined,
  ) {
    this.inserts = new BatchedInsert(ctx.db, 'access_tokens', ctx.unsynced);
  }

  private row(grant: TokenGrant, id: string, hash: string): Result<TokenRow, 'invalid_input'> {
    if (!Number.isSafeInteger(grant.ttlMs) || grant.ttlMs < 1000 || grant.ttlMs > MAX_TOKEN_TTL_MS) {
      return fail('invalid_input', 'token lifetime must be between 1 s and 1 h');
    }
    const now = this.ctx.clock.now();
    return succeed({
      id,
      key_id: grant.keyId,
      account_id: grant.accountId,
      token_hash: hash,
      scopes: JSON.stringify(grant.scopes),
      created_at: now,
      expires_at: now + grant.ttlMs,
      revoked_at: null,
    });
  }

  /**
   * Issues an opaque token for a key (raw id) with the given scopes (the caller narrows them to
   * the key's). Returns the token string, shown once.
   */
  async issue(grant: TokenGrant): Promise<Result<{ token: string; accessToken: AccessToken }, 'invalid_input'>> {
    const generated = generateToken('access_token', this.ctx.random);
    const row = this.row(grant, generated.id, hashSecret(this.ctx.keyring.pepper, generated.secret));
    if (!row.ok) return row;
    await this.inserts.insert(row.value);
    return succeed({ token: generated.token, accessToken: toToken(row.value) });
  }

  /**
   * Records a JWT about to be signed: a new random `jti` (as long as an opaque token's id) with
   * its key, account, scopes and expiry, so that it can be introspected and revoked.
   */
  async record(grant: TokenGrant): Promise<Result<AccessToken, 'invalid_input'>> {
    const row = this.row(grant, randomBase62(ID_LENGTH, this.ctx.random), JWT_TOKEN_HASH);
    if (!row.ok) return row;
    await this.inserts.insert(row.value);
    return succeed(toToken(row.value));
  }

  /**
   * A token by its raw id, with its stored hash for the caller to compare in constant time
   * (the verifier caches both). Expiry and revocation are the caller's to check.
   */
  async lookup(rawId: string): Promise<(AccessToken & { readonly hash: string }) | undefined> {
    const row = await this.ctx.db.selectFrom('access_tokens').selectAll().where('id', '=', rawId).executeTakeFirst();
    return row === undefined ? undefined : { ...toToken(row), hash: row.token_hash };
  }

  /**
   * Revokes a token (raw id). Resolves false when there was none to revoke. With an `actor`, the
   * revocation is audited in the same transaction.
   */
  async revoke(rawId: string, actor?: Actor): Promise<boolean> {
    const entry = { action: 'token.revoke', objectType: 'access_token', objectId: rawId };
    const revoked = await endRow(this.ctx, 'access_tokens', rawId, { audit: this.audit, actor, entry });
    await this.ctx.invalidations.publish({ kind: 'token', id: rawId });
    return revoked;
  }

  /**
   * Deletes tokens that expired before `before` (milliseconds), `batchSize` rows a statement.
   * Resolves how many.
   *
   * Expiry alone decides, revoked or not: a revoked token's row stays until it has expired, so
   * that a JWT whose `jti` was revoked is still found revoked for as long as its signature and
   * `exp` would otherwise pass (a JWT whose row is missing is not known to be revoked). Once
   * expired, a token verifies nowhere and introspects as inactive, row or no row.
   */
  purgeExpired(before: number, batchSize = PURGE_BATCH): Promise<number> {
    const { db } = this.ctx;
    return deleteInBatches(batchSize, async () => {
      const batch = db.selectFrom('access_tokens').select('id').where('expires_at', '<', before).limit(batchSize);
      return (await db.deleteFrom('access_tokens').where('id', 'in', batch).executeTakeFirst()).numDeletedRows;
    });
  }
}

/**
 * Revokes the live tokens (not revoked, not expired) of a key (`key_id`, raw id) or of an
 * account (`account_id`) inside the caller's transaction, so that they end together with
 * whatever else the caller changes (a key revoked, disabled, rotated with no grace or denied
 * OAuth 2.0; an account disabled, a password changed).
 * Expired tokens are left as they are: they are dead already, and the count means something.
 * Resolves how many were revoked.
 *
 * Cached copies are the caller's to drop once the transaction committed: a `key` invalidation
 * for `key_id`, an `account` one for `account_id`. Either drops every cached token (opaque and
 * JWT `jti`) of that key or account in the verifier, so no per-token event is needed.
 */
export async function revokeTokens(
  db: Executor,
  column: 'key_id' | 'account_id',
  value: string,
  now: number,
): Promise<number> {
  const result = await db
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where(column, '=', value)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Ids per `UPDATE … WHERE id IN (…)`: well under SQLite's and PostgreSQL's parameter limits. */
const REVOKE_CHUNK = 500;

/**
 * Revokes, inside the caller's transaction, the live tokens of a key (raw id) that carry a scope
 * outside `keyScopes`: the key's scopes were narrowed, and a token may never hold more than its
 * key (RFC 6749 §3.3: the scopes granted are the client's or fewer; ASVS 5.0 8.3.2: a change of
 * permissions applies at once). Such tokens are revoked rather than narrowed: a JWT's `scope`
 * claim is signed and cannot be narrowed, and the client simply asks for a new token. Tokens whose
 * scopes are all still the key's are left alone. Resolves how many were revoked.
 *
 * Cached copies are the caller's to drop once the transaction committed (a `key` invalidation),
 * as for {@link revokeTokens}.
 */
export async function revokeTokensBeyond(
  db: Executor,
  keyId: string,
  keyScopes: readonly string[],
  now: number,
): Promise<number> {
  const live = await db
    .selectFrom('access_tokens')
    .select(['id', 'scopes'])
    .where('key_id', '=', keyId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .execute();
  const allowed = new Set(keyScopes);
  const beyond = live
    .filter((t) => (JSON.parse(t.scopes) as string[]).some((scope) => !allowed.has(scope)))
    .map((t) => t.id);
  let revoked = 0;
  for (let i = 0; i < beyond.length; i += REVOKE_CHUNK) {
    const result = await db
      .updateTable('access_tokens')
      .set({ revoked_at: now })
      .where('id', 'in', beyond.slice(i, i + REVOKE_CHUNK))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    revoked += Number(result.numUpdatedRows);
  }
  return revoked;
}

function toToken(row: TokenRow): AccessToken {
  return {
    id: row.id,
    keyId: row.key_id,
    accountId: row.account_id,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    format: row.token_hash === JWT_TOKEN_HASH ? 'jwt' : 'opaque',
  };
}
