// 2-legged OAuth 1.0a: the common cases plus replay, timestamps, proxies, bodies, PLAINTEXT.
import { generateApiKey } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actor, type Harness, harness, rawParts, request, signed } from './support/verifier.js';

const WINDOW = 300;

describe('verify: oauth1', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('accepts a signed request and names the principal', async () => {
    expect(await h.verifier.verify(signed(h.key, h.clock))).toEqual({
      ok: true,
      principal: { accountId: h.key.key.accountId, keyId: h.key.id, scopes: ['read:orders'], method: 'oauth1' },
    });
    expect((await h.verifier.verify(signed(h.key, h.clock, { signatureMethod: 'HMAC-SHA1' }))).ok).toBe(true);
  });

  it('missing and malformed: 401 credentials_missing, 400 for a broken header or missing parameter', async () => {
    expect(await h.verifier.verify(request({ url: '/v1/orders?x=1' }))).toMatchObject({
      status: 401,
      code: 'credentials_missing',
    });
    expect(
      await h.verifier.verify(request({ headers: { authorization: 'OAuth oauth_nonce=unquoted' } })),
    ).toMatchObject({
      status: 400,
      code: 'malformed_header',
    });
    const req = signed(h.key, h.clock);
    const auth = String(req.headers.authorization).replace(/oauth_nonce="[^"]*", /, '');
    expect(await h.verifier.verify({ ...req, headers: { authorization: auth } })).toMatchObject({
      status: 400,
      code: 'parameter_missing',
    });
  });

  it('unknown consumer key and wrong secret answer alike: signature_invalid', async () => {
    const other = await h.newKey();
    const wrongSecret = await h.verifier.verify(signed({ id: h.key.id, secret: other.secret }, h.clock));
    const stranger = generateApiKey();
    const unknownKey = await h.verifier.verify(signed({ id: stranger.keyId, secret: stranger.keySecret }, h.clock));
    expect(wrongSecret).toMatchObject({ status: 401, code: 'signature_invalid' });
    expect(unknownKey).toEqual(wrongSecret);
  });

  it('revoked, disabled account, expired and wrong scope are refused after the signature verified', async () => {
    await h.store.accounts.setStatus('ada@example.com', 'disabled', actor);
    expect(await h.verifier.verify(signed(h.key, h.clock))).toMatchObject({ code: 'account_disabled' });
    await h.store.accounts.setStatus('ada@example.com', 'active', actor);
    expect(await h.verifier.verify(signed(h.key, h.clock), { scopes: ['write:orders'] })).toMatchObject({
      status: 403,
      code: 'insufficient_scope',
    });
    const expiring = await h.newKey({ expiresAt: h.clock.t + 1000 });
    h.clock.t += 1000;
    expect(await h.verifier.verify(signed(expiring, h.clock))).toMatchObject({ code: 'key_expired' });
    await h.store.keys.revoke(h.key.id, actor);
    expect(await h.verifier.verify(signed(h.key, h.clock))).toMatchObject({ code: 'key_revoked' });
  });

  it('rotation: signatures with the old secret verify during the grace period only', async () => {
    const rotated = await h.store.keys.rotate(h.key.id, { graceMs: 60_000 }, actor);
    if (!rotated.ok) throw new Error(rotated.code);
    expect((await h.verifier.verify(signed(h.key, h.clock))).ok).toBe(true);
    expect((await h.verifier.verify(signed(rotated.value, h.clock))).ok).toBe(true);
    h.clock.t += 60_000;
    expect(await h.verifier.verify(signed(h.key, h.clock))).toMatchObject({ code: 'signature_invalid' });
    expect((await h.verifier.verify(signed(rotated.value, h.clock))).ok).toBe(true);
  });

  describe('replay protection', () => {
    it('refuses a replayed nonce, with the same or another timestamp', async () => {
      const first = signed(h.key, h.clock, { nonce: 'n-1' });
      expect((await h.verifier.verify(first)).ok).toBe(true);
      expect(await h.verifier.verify(first)).toMatchObject({
        status: 401,
        code: 'nonce_reused',
        challenge: expect.arrayContaining(['OAuth realm="keyward", oauth_problem="nonce_used"']),
      });
      const later = signed(h.key, h.clock, { nonce: 'n-1', timestamp: Math.floor(h.clock.t / 1000) + 5 });
      expect(await h.verifier.verify(later)).toMatchObject({ code: 'nonce_reused' });
    });

    it('accepts the same nonce under another key', async () => {
      const other = await h.newKey();
      expect((await h.verifier.verify(signed(h.key, h.clock, { nonce: 'shared' }))).ok).toBe(true);
      expect((await h.verifier.verify(signed(other, h.clock, { nonce: 'shared' }))).ok).toBe(true);
    });

    it('records a nonce only after the signature verified', async () => {
      const other = await h.newKey();
      const forged = signed({ id: h.key.id, secret: other.secret }, h.clock, { nonce: 'mine' });
      expect(await h.verifier.verify(forged)).toMatchObject({ code: 'signature_invalid' });
      expect((await h.verifier.verify(signed(h.key, h.clock, { nonce: 'mine' }))).ok).toBe(true);
    });
  });

  describe('timestamps', () => {
    const at = (offset: number) => signed(h.key, h.clock, { timestamp: Math.floor(h.clock.t / 1000) + offset });

    it('accepts the window edges and refuses one second beyond, telling the server time', async () => {
      expect((await h.verifier.verify(at(WINDOW))).ok).toBe(true);
      expect((await h.verifier.verify(at(-WINDOW))).ok).toBe(true);
      const now = Math.floor(h.clock.t / 1000);
      for (const offset of [WINDOW + 1, -WINDOW - 1]) {
        expect(await h.verifier.verify(at(offset))).toMatchObject({
          status: 401,
          code: 'timestamp_refused',
          headers: { Date: new Date(h.clock.t).toUTCString() },
          challenge: expect.arrayContaining([
            `OAuth realm="keyward", oauth_problem="timestamp_refused", oauth_acceptable_timestamps="${now - WINDOW}-${now + WINDOW}"`,
          ]),
        });
      }
    });

    it('refuses millisecond timestamps as malformed', async () => {
      expect(await h.verifier.verify(signed(h.key, h.clock, { timestamp: h.clock.t }))).toMatchObject({
        status: 400,
        code: 'parameter_rejected',
      });
    });
  });

  it('signs against the configured origin: a spoofed X-Forwarded-Host changes nothing', async () => {
    const spoofed = signed(h.key, h.clock, { origin: 'https://evil.example' });
    const withHeader = {
      ...spoofed,
      headers: { ...spoofed.headers, 'x-forwarded-host': 'evil.example', host: 'evil.example' },
    };
    expect(await h.verifier.verify(withHeader)).toMatchObject({ code: 'signature_invalid' });
    const behindProxy = h.rebuild({ trustProxy: ['127.0.0.1'] });
    expect(await behindProxy.verify(withHeader)).toMatchObject({ code: 'signature_invalid' });
    const honest = signed(h.key, h.clock);
    expect(
      (await h.verifier.verify({ ...honest, headers: { ...honest.headers, 'x-forwarded-host': 'evil.example' } })).ok,
    ).toBe(true);
  });

  describe('bodies', () => {
    const form = 'item=widget&qty=3';
    const json = JSON.stringify({ item: 'widget', qty: 3 });

    it('a form body is signed: tampering breaks the signature', async () => {
      const req = signed(h.key, h.clock, {
        method: 'POST',
        body: form,
        contentType: 'application/x-www-form-urlencoded',
      });
      expect((await h.rebuild().verify(req)).ok).toBe(true);
      expect(await h.rebuild().verify({ ...req, body: 'item=widget&qty=300' })).toMatchObject({
        code: 'signature_invalid',
      });
    });

    it('a JSON body with a body hash: tampering is caught', async () => {
      const req = signed(h.key, h.clock, {
        method: 'POST',
        body: json,
        contentType: 'application/json',
        bodyHash: true,
      });
      expect((await h.rebuild().verify(req)).ok).toBe(true);
      expect(await h.rebuild().verify({ ...req, body: json.replace('3', '300') })).toMatchObject({
        status: 401,
        code: 'body_hash_invalid',
      });
    });

    it('a JSON body without a body hash is not covered, unless the route requires one', async () => {
      const req = signed(h.key, h.clock, { method: 'POST', body: json, contentType: 'application/json' });
      // RFC 5849 signs only form bodies: without oauth_body_hash the JSON is not protected.
      expect((await h.rebuild().verify({ ...req, body: json.replace('3', '300') })).ok).toBe(true);
      expect(await h.rebuild().verify(req, { requireBodyHash: true })).toMatchObject({
        status: 400,
        code: 'body_hash_missing',
      });
    });
  });

  it('PLAINTEXT: off by default, and over TLS only when enabled (loopback is no exception)', async () => {
    const plain = signed(h.key, h.clock, { signatureMethod: 'PLAINTEXT' });
    expect(await h.verifier.verify(plain)).toMatchObject({ status: 400, code: 'signature_method_rejected' });
    const withPlaintext = h.rebuild({ plaintext: true });
    expect(await withPlaintext.verify(plain)).toMatchObject({ status: 403, code: 'transport_insecure' });
    expect(
      (await withPlaintext.verify({ ...signed(h.key, h.clock, { signatureMethod: 'PLAINTEXT' }), secure: true })).ok,
    ).toBe(true);
  });

  it('an oauth_token that is no live signed session is refused like a bad signature', async () => {
    expect(await h.verifier.verify(signed(h.key, h.clock, { token: 'kw_st_x', tokenSecret: 's' }))).toMatchObject({
      status: 401,
      code: 'signature_invalid',
    });
  });

  it('never puts a secret in a refusal', async () => {
    const other = await h.newKey();
    const outcomes = [
      await h.verifier.verify(signed({ id: h.key.id, secret: other.secret }, h.clock)),
      await h.verifier.verify(signed(h.key, h.clock, { timestamp: 1 })),
    ];
    const text = JSON.stringify(outcomes);
    for (const s of [h.key.secret, rawParts(h.key.token).secret, other.secret]) expect(text).not.toContain(s);
  });
});

describe.each([
  ['memory', 'sqlite', false],
  ['SQL on SQLite', 'sqlite', true],
  ['SQL on PostgreSQL', 'postgres', true],
] as const)('1,000 concurrent copies of one signed request, %s nonce store', (_label, engine, sqlNonces) => {
  it('exactly one is accepted', async () => {
    const h = await harness({ engine, sqlNonces });
    try {
      const req = signed(h.key, h.clock);
      const outcomes = await Promise.all(Array.from({ length: 1000 }, () => h.verifier.verify(req)));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      const refused = outcomes.filter((o) => !o.ok);
      expect(new Set(refused.map((o) => (o.ok ? '' : o.code)))).toEqual(new Set(['nonce_reused']));
    } finally {
      await h.cleanup();
    }
  });
});
