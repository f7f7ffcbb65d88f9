/**
 * OAuth 2.0 access tokens (RFC 6749 §1.4), opaque: `kw_at_<id><secret>`. Only a peppered hash
 * of the secret part is stored; the id part is the lookup key. Issued for a key by the token
 * endpoint (client credentials, RFC 6749 §4.4), never for longer than an hour.
 *
 * @packageDocumentation
 */

import { fail, generateToken, hashSecret, type Result, succeed } from '@keyward/core';
import type { StoreContext } from './context.js';

/** Longest access token lifetime: one hour. */
export const MAX_TOKEN_TTL_MS = 60 * 60 * 1000;

/** An access token as the verifier sees it (never its secret). */
export interface AccessToken {
  /** Raw public id part. */
  readonly id: string;
  /** Raw id of the key it was issued to. */
  readonly keyId: string;
  readonly accountId: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
}

/** The access token repository. */
export class AccessTokens {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Issues a token for a key (raw id) with the given scopes (the caller narrows them to the
   * key's). Returns the token string, shown once.
   */
  async issue(input: {
    keyId: string;
    accountId: string;
    scopes: readonly string[];
    ttlMs: number;
  }): Promise<Result<{ token: string; accessToken: AccessToken }, 'invalid_input'>> {
    if (!Number.isSafeInteger(input.ttlMs) || input.ttlMs < 1000 || input.ttlMs > MAX_TOKEN_TTL_MS) {
      return fail('invalid_input', 'token lifetime must be between 1 s and 1 h');
    }
    const generated = generateToken('access_token', this.ctx.random);
    const now = this.ctx.clock.now();
    const row = {
      id: generated.id,
      key_id: input.keyId,
      account_id: input.accountId,
      token_hash: hashSecret(this.ctx.keyring.pepper, generated.secret),
      scopes: JSON.stringify(input.scopes),
      created_at: now,
      expires_at: now + input.ttlMs,
      revoked_at: null,
    };
    await this.ctx.db.insertInto('access_tokens').values(row).execute();
    return succeed({ token: generated.token, accessToken: toToken(row) });
  }

  /**
   * A token by its raw id, with its stored hash for the caller to compare in constant time
   * (the verifier caches both). Expiry and revocation are the caller's to check.
   */
  async lookup(rawId: string): Promise<(AccessToken & { readonly hash: string }) | undefined> {
    const row = await this.ctx.db.selectFrom('access_tokens').selectAll().where('id', '=', rawId).executeTakeFirst();
    return row === undefined ? undefined : { ...toToken(row), hash: row.token_hash };
  }

  /** Revokes a token (raw id). Resolves false when there was none to revoke. */
  async revoke(rawId: string): Promise<boolean> {
    const result = await this.ctx.db
      .updateTable('access_tokens')
      .set({ revoked_at: this.ctx.clock.now() })
      .where('id', '=', rawId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    this.ctx.invalidations.publish({ kind: 'token', id: rawId });
    return Number(result.numUpdatedRows) > 0;
  }
}

function toToken(row: {
  id: string;
  key_id: string;
  account_id: string;
  scopes: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}): AccessToken {
  return {
    id: row.id,
    keyId: row.key_id,
    accountId: row.account_id,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}
