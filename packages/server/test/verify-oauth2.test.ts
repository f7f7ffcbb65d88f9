// OAuth 2.0 bearer access tokens (opaque kw_at_…): the common cases.
import { formatKeywardString, generateToken } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actor, type Harness, harness, rawParts, request } from './support/verifier.js';

describe('verify: oauth2', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ keySettings: { scopes: ['read:orders', 'write:orders'] } });
  });
  afterEach(async () => {
    await h.cleanup();
  });
  const bearer = (token: string, more = {}) => request({ headers: { authorization: `Bearer ${token}` }, ...more });

  async function issue(scopes: string[] = ['read:orders'], ttlMs = 3_600_000): Promise<string> {
    const issued = await h.store.tokens.issue({
      keyId: rawParts(h.key.token).id,
      accountId: h.key.key.accountId,
      scopes,
      ttlMs,
    });
    if (!issued.ok) throw new Error(issued.code);
    return issued.value.token;
  }

  it("accepts a live token with the token's scopes, not the key's", async () => {
    const token = await issue(['read:orders']);
    expect(await h.verifier.verify(bearer(token))).toEqual({
      ok: true,
      principal: { accountId: h.key.key.accountId, keyId: h.key.id, scopes: ['read:orders'], method: 'oauth2' },
    });
    expect(await h.verifier.verify(bearer(token), { scopes: ['write:orders'] })).toMatchObject({
      status: 403,
      code: 'insufficient_scope',
    });
  });

  it('unknown and wrong-secret tokens answer alike: token_invalid with error="invalid_token"', async () => {
    const token = await issue();
    const { id } = rawParts(token);
    const wrong = formatKeywardString('access_token', { id, secret: generateToken('access_token').secret });
    const a = await h.verifier.verify(bearer(wrong));
    expect(a).toMatchObject({
      status: 401,
      code: 'token_invalid',
      challenge: expect.arrayContaining(['Bearer realm="keyward", error="invalid_token"']),
    });
    expect(await h.verifier.verify(bearer(generateToken('access_token').token))).toEqual(a);
    expect(await h.verifier.verify(bearer('kw_at_truncated'))).toMatchObject({ code: 'malformed_token' });
  });

  it('expired, revoked (at once, though cached), revoked key, disabled account', async () => {
    const short = await issue(['read:orders'], 1000);
    h.clock.t += 1000;
    expect(await h.verifier.verify(bearer(short))).toMatchObject({ code: 'token_expired' });

    const token = await issue();
    expect((await h.verifier.verify(bearer(token))).ok).toBe(true);
    await h.store.tokens.revoke(rawParts(token).id);
    expect(await h.verifier.verify(bearer(token))).toMatchObject({ code: 'token_invalid' });

    const other = await issue();
    await h.store.accounts.setStatus('ada@example.com', 'disabled', actor);
    expect(await h.verifier.verify(bearer(other))).toMatchObject({ code: 'token_invalid' });
  });

  it('a token of a revoked key stops working with the key', async () => {
    const token = await issue();
    expect((await h.verifier.verify(bearer(token))).ok).toBe(true);
    await h.store.keys.revoke(h.key.id, actor);
    // Revoking the key revokes its tokens in the same transaction.
    expect(await h.verifier.verify(bearer(token))).toMatchObject({ code: 'token_invalid' });
  });

  it('a key not allowed to use OAuth 2.0: method_not_allowed', async () => {
    await h.store.keys.update(h.key.id, { methods: ['basic'] }, actor);
    expect(await h.verifier.verify(bearer(await issue()))).toMatchObject({ code: 'method_not_allowed' });
  });

  it('is refused over plain HTTP from a remote address, and never read from the query', async () => {
    const token = await issue();
    expect(await h.verifier.verify(bearer(token, { remoteAddress: '203.0.113.5' }))).toMatchObject({
      code: 'transport_insecure',
    });
    expect(await h.verifier.verify(request({ url: `/v1/orders?access_token=${token}` }))).toMatchObject({
      code: 'credentials_missing',
    });
  });

  it('refuses lifetimes over an hour at issue', async () => {
    expect(
      await h.store.tokens.issue({
        keyId: rawParts(h.key.token).id,
        accountId: h.key.key.accountId,
        scopes: [],
        ttlMs: 3_600_001,
      }),
    ).toMatchObject({ ok: false, code: 'invalid_input' });
  });

  it('never puts a token or secret in a refusal', async () => {
    const token = await issue();
    const { id } = rawParts(token);
    const wrong = formatKeywardString('access_token', { id, secret: generateToken('access_token').secret });
    const text = JSON.stringify([
      await h.verifier.verify(bearer(wrong)),
      await h.verifier.verify(bearer(token, { remoteAddress: '203.0.113.5' })),
    ]);
    expect(text).not.toContain(rawParts(token).secret);
    expect(text).not.toContain(rawParts(wrong).secret);
  });
});
