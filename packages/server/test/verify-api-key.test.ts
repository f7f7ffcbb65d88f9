// API key tokens as Authorization: Bearer (and X-API-Key when enabled): the common cases.
import { formatKeywardString, generateApiKey } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actor, type Harness, harness, rawParts, request } from './support/verifier.js';

describe('verify: api-key', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.cleanup();
  });
  const bearer = (token: string, more = {}) => request({ headers: { authorization: `Bearer ${token}` }, ...more });

  it('accepts the token and names the principal', async () => {
    expect(await h.verifier.verify(bearer(h.key.token))).toEqual({
      ok: true,
      principal: { accountId: h.key.key.accountId, keyId: h.key.id, scopes: ['read:orders'], method: 'api-key' },
    });
  });

  it('malformed: 400 for bad syntax, 401 malformed_token with a Bearer error for a foreign token', async () => {
    expect(await h.verifier.verify(bearer('a b'))).toMatchObject({ status: 400, code: 'malformed_header' });
    expect(await h.verifier.verify(bearer('ghp_notours'))).toMatchObject({
      status: 401,
      code: 'malformed_token',
      challenge: expect.arrayContaining(['Bearer realm="keyward", error="invalid_token"']),
    });
    const truncated = h.key.token.slice(0, -1);
    expect(await h.verifier.verify(bearer(truncated))).toMatchObject({ code: 'malformed_token' });
  });

  it('unknown id and wrong secret answer alike', async () => {
    const { id } = rawParts(h.key.token);
    const wrong = formatKeywardString('api_key', { id, secret: rawParts(generateApiKey().token).secret });
    const unknown = generateApiKey().token;
    const a = await h.verifier.verify(bearer(wrong));
    expect(a).toMatchObject({ status: 401, code: 'key_unknown' });
    expect(await h.verifier.verify(bearer(unknown))).toEqual(a);
  });

  it('revoked, disabled account, expired, rotated-old-after-grace, wrong scope', async () => {
    expect(await h.verifier.verify(bearer(h.key.token), { scopes: ['admin'] })).toMatchObject({
      status: 403,
      code: 'insufficient_scope',
    });
    const rotated = await h.store.keys.rotate(h.key.id, { graceMs: 1000 }, actor);
    if (!rotated.ok) throw new Error(rotated.code);
    h.clock.t += 1000;
    expect(await h.verifier.verify(bearer(h.key.token))).toMatchObject({ code: 'key_unknown' });
    const token = rotated.value.token;
    expect((await h.verifier.verify(bearer(token))).ok).toBe(true);
    await h.store.accounts.setStatus('ada@example.com', 'disabled', actor);
    expect(await h.verifier.verify(bearer(token))).toMatchObject({ code: 'account_disabled' });
    await h.store.accounts.setStatus('ada@example.com', 'active', actor);
    await h.store.keys.revoke(h.key.id, actor);
    expect(await h.verifier.verify(bearer(token))).toMatchObject({ code: 'key_revoked' });
    const expiring = await h.newKey({ expiresAt: h.clock.t + 5 });
    h.clock.t += 5;
    expect(await h.verifier.verify(bearer(expiring.token))).toMatchObject({ code: 'key_expired' });
  });

  it('is refused over plain HTTP from a remote address', async () => {
    expect(await h.verifier.verify(bearer(h.key.token, { remoteAddress: '192.0.2.10' }))).toMatchObject({
      status: 403,
      code: 'transport_insecure',
    });
    expect((await h.verifier.verify(bearer(h.key.token, { remoteAddress: '192.0.2.10', secure: true }))).ok).toBe(true);
  });

  it('is never read from the query string; X-API-Key only when enabled', async () => {
    expect(
      await h.verifier.verify(request({ url: `/v1/orders?api_key=${h.key.token}&access_token=${h.key.token}` })),
    ).toMatchObject({
      code: 'credentials_missing',
    });
    const header = request({ headers: { 'x-api-key': h.key.token } });
    expect(await h.verifier.verify(header)).toMatchObject({ code: 'credentials_missing' });
    expect((await h.rebuild({ apiKeyHeader: true }).verify(header)).ok).toBe(true);
  });

  it('a key limited to other methods: method_not_allowed', async () => {
    const k = await h.newKey({ methods: ['basic'] });
    expect(await h.verifier.verify(bearer(k.token))).toMatchObject({ code: 'method_not_allowed' });
  });

  it('a disabled method is refused as scheme_unsupported', async () => {
    const v = h.rebuild({ methods: ['basic'] });
    expect(await v.verify(bearer(h.key.token))).toMatchObject({ status: 401, code: 'scheme_unsupported' });
  });

  it('never puts a secret in a refusal', async () => {
    const { id } = rawParts(h.key.token);
    const wrong = formatKeywardString('api_key', { id, secret: rawParts(generateApiKey().token).secret });
    const text = JSON.stringify([
      await h.verifier.verify(bearer(wrong)),
      await h.verifier.verify(bearer(h.key.token, { remoteAddress: '192.0.2.1' })),
    ]);
    expect(text).not.toContain(rawParts(h.key.token).secret);
    expect(text).not.toContain(rawParts(wrong).secret);
  });
});
