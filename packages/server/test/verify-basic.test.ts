// HTTP Basic with key id and secret: the common security cases, transport, limits, cache.
import { generateApiKey } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actor, basic, type Harness, harness, rawParts, request } from './support/verifier.js';

const HOUR = 3_600_000;

describe('verify: basic', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const withAuth = (authorization: string, more = {}) => request({ headers: { authorization }, ...more });

  it('accepts the key id and secret and names the principal', async () => {
    const outcome = await h.verifier.verify(withAuth(basic(h.key.id, h.key.secret)));
    expect(outcome).toEqual({
      ok: true,
      principal: { accountId: h.key.key.accountId, keyId: h.key.id, scopes: ['read:orders'], method: 'basic' },
    });
  });

  it('missing credentials: 401 with a challenge for every enabled scheme', async () => {
    expect(await h.verifier.verify(request())).toMatchObject({
      ok: false,
      status: 401,
      code: 'credentials_missing',
      challenge: ['Basic realm="keyward", charset="UTF-8"', 'Bearer realm="keyward"', 'OAuth realm="keyward"'],
    });
  });

  it('malformed header: 400; strings that are not Keyward credentials: 401 malformed_token', async () => {
    expect(await h.verifier.verify(withAuth('Basic !!!!'))).toMatchObject({ status: 400, code: 'malformed_header' });
    expect(await h.verifier.verify(withAuth(basic('admin', 'hunter2')))).toMatchObject({
      status: 401,
      code: 'malformed_token',
    });
  });

  it('unknown id and wrong secret answer exactly alike', async () => {
    const other = await h.newKey();
    const wrongSecret = await h.verifier.verify(withAuth(basic(h.key.id, other.secret)));
    const unknownId = await h.verifier.verify(withAuth(basic(generateApiKey().keyId, h.key.secret)));
    expect(wrongSecret).toMatchObject({ ok: false, status: 401, code: 'key_unknown' });
    // Same status, code, message and challenge: nothing tells the two apart.
    expect(unknownId).toEqual(wrongSecret);
  });

  it('revoked, disabled key, disabled account, expired: refused with their codes after the secret matched', async () => {
    const auth = withAuth(basic(h.key.id, h.key.secret));
    await h.store.keys.setEnabled(h.key.id, false, actor);
    expect(await h.verifier.verify(auth)).toMatchObject({ code: 'key_disabled', status: 401 });
    await h.store.keys.setEnabled(h.key.id, true, actor);
    await h.store.accounts.setStatus('ada@example.com', 'disabled', actor);
    expect(await h.verifier.verify(auth)).toMatchObject({ code: 'account_disabled' });
    await h.store.accounts.setStatus('ada@example.com', 'active', actor);
    expect((await h.verifier.verify(auth)).ok).toBe(true);
    await h.store.keys.revoke(h.key.id, actor);
    expect(await h.verifier.verify(auth)).toMatchObject({ code: 'key_revoked' });

    const expiring = await h.newKey({ expiresAt: h.clock.t + HOUR });
    const auth2 = withAuth(basic(expiring.id, expiring.secret));
    expect((await h.verifier.verify(auth2)).ok).toBe(true);
    h.clock.t += HOUR;
    expect(await h.verifier.verify(auth2)).toMatchObject({ code: 'key_expired' });
  });

  it('rotation: the old secret works during the grace period, not after', async () => {
    const rotated = await h.store.keys.rotate(h.key.id, { graceMs: 60_000 }, actor);
    if (!rotated.ok) throw new Error(rotated.code);
    expect((await h.verifier.verify(withAuth(basic(h.key.id, h.key.secret)))).ok).toBe(true);
    expect((await h.verifier.verify(withAuth(basic(h.key.id, rotated.value.secret)))).ok).toBe(true);
    h.clock.t += 60_000;
    expect(await h.verifier.verify(withAuth(basic(h.key.id, h.key.secret)))).toMatchObject({ code: 'key_unknown' });
    expect((await h.verifier.verify(withAuth(basic(h.key.id, rotated.value.secret)))).ok).toBe(true);
  });

  it('revocation takes effect at once, even with the key cached', async () => {
    const auth = withAuth(basic(h.key.id, h.key.secret));
    expect((await h.verifier.verify(auth)).ok).toBe(true);
    await h.store.keys.revoke(h.key.id, actor);
    expect(await h.verifier.verify(auth)).toMatchObject({ code: 'key_revoked' });
  });

  it('serves a cached key without reading the database', async () => {
    const auth = withAuth(basic(h.key.id, h.key.secret));
    expect((await h.verifier.verify(auth)).ok).toBe(true);
    const { db } = h.store.context;
    const original = db.selectFrom.bind(db);
    let reads = 0;
    db.selectFrom = ((...args: Parameters<typeof original>) => {
      reads++;
      return original(...args);
    }) as typeof db.selectFrom;
    try {
      for (let i = 0; i < 5; i++) expect((await h.verifier.verify(auth)).ok).toBe(true);
      expect(reads).toBe(0);
    } finally {
      db.selectFrom = original;
    }
  });

  it('a scope the key lacks: 403 insufficient_scope', async () => {
    const auth = withAuth(basic(h.key.id, h.key.secret));
    expect((await h.verifier.verify(auth, { scopes: ['read:orders'] })).ok).toBe(true);
    expect(await h.verifier.verify(auth, { scopes: ['read:orders', 'write:orders'] })).toMatchObject({
      ok: false,
      status: 403,
      code: 'insufficient_scope',
    });
  });

  it('a key not allowed to use Basic: method_not_allowed', async () => {
    const k = await h.newKey({ methods: ['oauth1'] });
    expect(await h.verifier.verify(withAuth(basic(k.id, k.secret)))).toMatchObject({ code: 'method_not_allowed' });
  });

  it('over plain HTTP only from loopback or behind a trusted proxy that says https', async () => {
    const auth = basic(h.key.id, h.key.secret);
    const remote = { remoteAddress: '203.0.113.9' };
    expect(await h.verifier.verify(withAuth(auth, remote))).toMatchObject({ status: 403, code: 'transport_insecure' });
    expect((await h.verifier.verify(withAuth(auth, { ...remote, secure: true }))).ok).toBe(true);
    // A forwarding header from an untrusted peer is ignored.
    const forwarded = { authorization: auth, 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1' };
    expect(await h.verifier.verify(request({ headers: forwarded, ...remote }))).toMatchObject({
      code: 'transport_insecure',
    });
    const behindProxy = h.rebuild({ trustProxy: ['10.0.0.0/8'] });
    expect((await behindProxy.verify(request({ headers: forwarded, remoteAddress: '10.1.2.3' }))).ok).toBe(true);
    expect(
      await behindProxy.verify(
        request({ headers: { ...forwarded, 'x-forwarded-proto': 'http' }, remoteAddress: '10.1.2.3' }),
      ),
    ).toMatchObject({ code: 'transport_insecure' });
  });

  it('limits failed attempts per key id and address, then per address, with Retry-After; never the right secret', async () => {
    const v = h.rebuild({
      failuresPerKey: { limit: 3, windowSeconds: 60 },
      failuresPerIp: { limit: 5, windowSeconds: 60 },
    });
    const other = await h.newKey();
    for (let i = 0; i < 3; i++)
      expect(await v.verify(withAuth(basic(h.key.id, other.secret)))).toMatchObject({ code: 'key_unknown' });
    // A wrong secret over the per-(key, address) limit is 429...
    expect(await v.verify(withAuth(basic(h.key.id, other.secret)))).toMatchObject({
      status: 429,
      code: 'rate_limited',
      retryAfter: 60,
    });
    // ...the right one is admitted all the same: failures never refuse it.
    expect((await v.verify(withAuth(basic(h.key.id, h.key.secret)))).ok).toBe(true);
    // The fifth failure of the address (another key) is its last 401; past it, any wrong
    // secret, for any key, is 429.
    expect(await v.verify(withAuth(basic(other.id, h.key.secret)))).toMatchObject({ code: 'key_unknown' });
    expect(await v.verify(withAuth(basic(other.id, h.key.secret)))).toMatchObject({
      status: 429,
      code: 'rate_limited',
    });
    expect((await v.verify(withAuth(basic(other.id, other.secret)))).ok).toBe(true);
    h.clock.t += 60_000;
    expect(await v.verify(withAuth(basic(other.id, h.key.secret)))).toMatchObject({ code: 'key_unknown' });
  });

  it("applies the key's own rate limit", async () => {
    const k = await h.newKey({ rateLimit: { limit: 2, windowSeconds: 10 } });
    const auth = withAuth(basic(k.id, k.secret));
    expect((await h.verifier.verify(auth)).ok).toBe(true);
    expect((await h.verifier.verify(auth)).ok).toBe(true);
    expect(await h.verifier.verify(auth)).toMatchObject({ status: 429, code: 'rate_limited' });
  });

  it('counts usage in batches', async () => {
    const auth = withAuth(basic(h.key.id, h.key.secret));
    for (let i = 0; i < 3; i++) await h.verifier.verify(auth);
    await h.store.usage.flush();
    expect(await h.store.keys.get(h.key.id)).toMatchObject({ useCount: 3 });
  });

  it('fails closed with 503 when the store is down', async () => {
    await h.store.context.db.destroy();
    const other = await h.rebuild().verify(withAuth(basic(h.key.id, h.key.secret)));
    expect(other).toMatchObject({ ok: false, status: 503, code: 'store_unavailable' });
  });

  it('never puts a secret in a refusal', async () => {
    const outcomes = [
      // The last character changed, whatever it was: a wrong secret every time.
      await h.verifier.verify(
        withAuth(basic(h.key.id, h.key.secret.slice(0, -1) + (h.key.secret.endsWith('x') ? 'y' : 'x'))),
      ),
      await h.verifier.verify(withAuth(basic(h.key.id, (await h.newKey()).secret))),
      await h.verifier.verify(withAuth(basic(h.key.id, h.key.secret), { remoteAddress: '198.51.100.1' })),
    ];
    expect(outcomes.map((o) => o.ok)).toEqual([false, false, false]);
    const text = JSON.stringify(outcomes);
    expect(text).not.toContain(rawParts(h.key.token).secret);
  });
});
