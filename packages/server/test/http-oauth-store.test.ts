// The repositories behind the OAuth endpoints, on SQLite and PostgreSQL: access tokens (JWT
// records; revocation of a key's or an account's live tokens by key revocation, account disabling
// and password change, with immediate effect in the verifier; purge) and signing keys (rotation
// period, resolver).
import { formatKeywardString, identify } from '@keyward/core';
import { decodeJwt, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SigningKeys } from '../src/store/index.js';
import type { Verifier } from '../src/verify/index.js';
import { ENGINES } from './support/databases.js';
import { actor, type Harness, harness, PASSWORD, request } from './support/verifier.js';

const ISSUER = 'https://api.example.com';
const HOUR = 60 * 60 * 1000;

describe.each(ENGINES)('access tokens and signing keys (%s)', (engine) => {
  let h: Harness;
  let verifier: Verifier;
  let keyId: string;

  beforeEach(async () => {
    h = await harness({ engine, keySettings: { scopes: ['read:orders'] } });
    keyId = identify(h.key.id)?.id as string;
    verifier = h.rebuild({ jwt: { issuer: ISSUER, audience: ISSUER, keys: h.store.signingKeys.keyResolver() } });
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const bearer = (token: string) => request({ headers: { authorization: `Bearer ${token}` } });

  async function opaque(rawKeyId = keyId, ttlMs = HOUR): Promise<string> {
    const issued = await h.store.tokens.issue({ keyId: rawKeyId, accountId: h.key.key.accountId, scopes: [], ttlMs });
    if (!issued.ok) throw new Error(issued.code);
    return issued.value.token;
  }

  async function jwt(rawKeyId = keyId): Promise<{ token: string; jti: string }> {
    const recorded = await h.store.tokens.record({
      keyId: rawKeyId,
      accountId: h.key.key.accountId,
      scopes: ['read:orders'],
      ttlMs: HOUR,
    });
    if (!recorded.ok) throw new Error(recorded.code);
    const key = await h.store.signingKeys.current();
    const t = recorded.value;
    const token = await new SignJWT({
      client_id: formatKeywardString('key_id', { id: rawKeyId }),
      scope: 'read:orders',
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setSubject(t.accountId)
      .setIssuedAt(Math.floor(t.createdAt / 1000))
      .setExpirationTime(Math.floor(t.expiresAt / 1000))
      .setJti(t.id)
      .sign(key.privateKey);
    return { token, jti: t.id };
  }

  it('records JWTs by jti, and no opaque token can be made of a jti', async () => {
    const { token, jti } = await jwt();
    expect((await verifier.verify(bearer(token))).ok).toBe(true);
    expect(await h.store.tokens.lookup(jti)).toMatchObject({ format: 'jwt', keyId, revokedAt: null });
    const secret = 'A'.repeat(43);
    const forged = formatKeywardString('access_token', { id: jti, secret });
    expect(await verifier.verify(bearer(forged))).toMatchObject({ status: 401, code: 'token_invalid' });
    const recorded = await h.store.tokens.record({ keyId, accountId: h.key.key.accountId, scopes: [], ttlMs: 10 });
    expect(recorded).toMatchObject({ ok: false, code: 'invalid_input' });
  });

  const bearerCode = async (token: string) => {
    const outcome = await verifier.verify(bearer(token));
    return outcome.ok ? 'ok' : outcome.code;
  };
  // The stored revocation time of an opaque token (by its id part) or a JWT (by its jti).
  const revokedAt = async (token: string) =>
    (await h.store.tokens.lookup(identify(token)?.id ?? (decodeJwt(token).jti as string)))?.revokedAt;

  it("revoking a key revokes its live tokens at once in the verifier, opaque and JWT, and no other key's", async () => {
    const other = await h.newKey();
    const otherId = identify(other.id)?.id as string;
    const expired = await opaque(keyId, 1000);
    const mine = [await opaque(), (await jwt()).token];
    const theirs = await opaque(otherId);
    for (const t of [...mine, theirs]) expect(await bearerCode(t)).toBe('ok'); // cached now
    h.clock.t += 2000;
    expect((await h.store.keys.revoke(h.key.id, actor)).ok).toBe(true);
    // token_invalid, not key_revoked: the tokens themselves were revoked and the cache dropped.
    for (const t of mine) expect(await bearerCode(t)).toBe('token_invalid');
    for (const t of mine) expect(await revokedAt(t)).toBe(h.clock.t);
    // Expired before the revocation: left as it was (dead already).
    expect(await revokedAt(expired)).toBeNull();
    expect(await bearerCode(theirs)).toBe('ok');
    expect(await revokedAt(theirs)).toBeNull();
  });

  it('disabling an account revokes the live tokens of all its keys at once in the verifier', async () => {
    const other = await h.newKey();
    const expired = await opaque(keyId, 1000);
    const tokens = [await opaque(), (await jwt()).token, await opaque(identify(other.id)?.id as string)];
    for (const t of tokens) expect(await bearerCode(t)).toBe('ok');
    h.clock.t += 2000;
    expect((await h.store.accounts.setStatus(h.key.key.accountId, 'disabled', actor)).ok).toBe(true);
    for (const t of tokens) expect(await bearerCode(t)).toBe('token_invalid');
    for (const t of tokens) expect(await revokedAt(t)).toBe(h.clock.t);
    expect(await revokedAt(expired)).toBeNull();
  });

  it('changing the password revokes the live tokens at once, counts only those, and keeps the keys', async () => {
    const other = await h.newKey();
    const expired = await opaque(keyId, 1000);
    const alreadyRevoked = await opaque();
    const tokens = [await opaque(), (await jwt()).token, await opaque(identify(other.id)?.id as string)];
    for (const t of tokens) expect(await bearerCode(t)).toBe('ok');
    expect(await h.store.tokens.revoke(identify(alreadyRevoked)?.id as string)).toBe(true);
    h.clock.t += 2000;
    const changed = await h.store.accounts.changePassword(
      h.key.key.accountId,
      { currentPassword: PASSWORD, newPassword: 'another good passphrase' },
      actor,
    );
    expect(changed).toMatchObject({ ok: true, value: { tokensRevoked: 3, sessionsEnded: 0 } });
    for (const t of tokens) expect(await bearerCode(t)).toBe('token_invalid');
    for (const t of tokens) expect(await revokedAt(t)).toBe(h.clock.t);
    expect(await revokedAt(expired)).toBeNull();
    expect(await revokedAt(alreadyRevoked)).toBe(h.clock.t - 2000);
    expect((await verifier.verify(request({ headers: { authorization: basic(h) } }))).ok).toBe(true);
  });

  it('purges tokens that expired before a time, revoked or not, and keeps the others', async () => {
    const revokedExpired = identify(await opaque(keyId, 1000))?.id as string;
    expect(await h.store.tokens.revoke(revokedExpired)).toBe(true);
    const expired = [identify(await opaque(keyId, 1000))?.id as string, revokedExpired, (await jwt()).jti];
    h.clock.t += HOUR + 1000;
    const revokedLive = identify(await opaque())?.id as string;
    expect(await h.store.tokens.revoke(revokedLive)).toBe(true);
    const endsAtCutoff = identify(await opaque(keyId, 1000))?.id as string;
    const live = identify(await opaque())?.id as string;
    const cutoff = h.clock.t + 1000;
    // Two rows a statement: the batches go on until one comes back short.
    expect(await h.store.tokens.purgeExpired(cutoff, 2)).toBe(3);
    for (const id of expired) expect(await h.store.tokens.lookup(id)).toBeUndefined();
    // Revoked but not yet expired: kept, so that a revoked jti stays known to be revoked.
    for (const id of [revokedLive, endsAtCutoff, live]) expect((await h.store.tokens.lookup(id))?.id).toBe(id);
    expect(await h.store.tokens.purgeExpired(cutoff)).toBe(0);
  });

  it('signs with one key for its rotation period, then makes the next; the resolver knows both', async () => {
    const keys = new SigningKeys(h.store.context, { rotationMs: 2 * HOUR });
    const k1 = await keys.current();
    expect(k1.signUntil - k1.createdAt).toBe(2 * HOUR);
    expect(k1.publishUntil - k1.signUntil).toBe(HOUR);
    expect((await keys.current()).kid).toBe(k1.kid);
    h.clock.t = k1.signUntil;
    const k2 = await keys.current();
    expect(k2.kid).not.toBe(k1.kid);
    expect(k2.generation).toBe(k1.generation + 1);
    expect((await keys.publishedKeys()).map((k) => k.kid)).toEqual([k2.kid, k1.kid]);
    // A second repository on the same database (another instance) finds the same keys.
    const elsewhere = new SigningKeys(h.store.context, { rotationMs: 2 * HOUR });
    expect((await elsewhere.current()).kid).toBe(k2.kid);
    const resolve = elsewhere.keyResolver();
    await expect(resolve({ alg: 'EdDSA', kid: k1.kid }, { payload: '', signature: '' })).resolves.toBeDefined();
    await expect(resolve({ alg: 'ES256', kid: k1.kid }, { payload: '', signature: '' })).rejects.toThrow();
    await expect(resolve({ alg: 'EdDSA', kid: 'nope' }, { payload: '', signature: '' })).rejects.toThrow();
    expect(() => new SigningKeys(h.store.context, { rotationMs: 1000 })).toThrow(TypeError);
  });

  it('makes one new key when an instance looked for a usable one just before another made it', async () => {
    const early = new SigningKeys(h.store.context, { rotationMs: 2 * HOUR });
    const late = new SigningKeys(h.store.context, { rotationMs: 2 * HOUR });
    // The timing of two instances on one database, made certain: `late` looks for a usable key
    // and finds none, and only then does `early` make one. (The look is private; its result is
    // handed back unchanged, later.)
    const looks = late as unknown as { usable(now: number): Promise<unknown> };
    const look = looks.usable.bind(late);
    let first = true;
    looks.usable = async (now) => {
      if (!first) return look(now);
      first = false;
      const found = await look(now);
      await early.current();
      return found;
    };
    const made = await late.current();
    expect(made.kid).toBe((await early.current()).kid);
    expect(first).toBe(false);
    const rows = await h.store.context.db.selectFrom('signing_keys').select(['id', 'generation']).execute();
    expect(rows).toEqual([{ id: made.kid, generation: made.generation }]);
    // The same at rotation: both see the old key ended, one next generation is made.
    h.clock.t = made.signUntil;
    first = true;
    const next = await late.current();
    expect(next.generation).toBe(made.generation + 1);
    expect((await early.current()).kid).toBe(next.kid);
    const after = await h.store.context.db.selectFrom('signing_keys').select('id').orderBy('generation').execute();
    expect(after.map((r) => r.id)).toEqual([made.kid, next.kid]);
  });
});

function basic(h: Harness): string {
  return `Basic ${Buffer.from(`${h.key.id}:${h.key.secret}`).toString('base64')}`;
}
