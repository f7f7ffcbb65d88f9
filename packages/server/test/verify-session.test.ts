// Session tokens and signed sessions: IP binding, expiry, signatures, replay.
import { signOAuth1 } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IssuedSession } from '../src/store/index.js';
import { actor, type Harness, harness, ORIGIN, rawParts, request } from './support/verifier.js';

const IP = '127.0.0.1';

describe('verify: session and signed-session', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  async function session(signed = false, more: { idleMs?: number; absoluteMs?: number } = {}): Promise<IssuedSession> {
    const s = await h.store.sessions.create({ accountId: h.key.key.accountId, clientIp: IP, signed, ...more });
    if (!s.ok) throw new Error(s.code);
    return s.value;
  }
  const bearer = (token: string, more = {}) => request({ headers: { authorization: `Bearer ${token}` }, ...more });

  /** A request signed with a signed session: consumer key = account id, token secret = session secret. */
  function signedWith(s: IssuedSession, init: { nonce?: string; secret?: string; remoteAddress?: string } = {}) {
    const sig = signOAuth1({
      method: 'GET',
      url: `${ORIGIN}/v1/me`,
      consumerKey: s.session.accountId,
      consumerSecret: '',
      token: s.token,
      tokenSecret: init.secret ?? s.secret,
      nonce: init.nonce ?? `n-${Math.random()}`,
      timestamp: Math.floor(h.clock.t / 1000),
    });
    return request({
      url: '/v1/me',
      headers: { authorization: sig.authorization },
      remoteAddress: init.remoteAddress ?? IP,
    });
  }

  describe('session tokens', () => {
    it('accept the token from the address it was issued to', async () => {
      const s = await session();
      expect(await h.verifier.verify(bearer(s.token))).toEqual({
        ok: true,
        principal: { accountId: h.key.key.accountId, sessionId: s.session.id, scopes: [], method: 'session' },
      });
    });

    it('an admin account session carries keyward:admin', async () => {
      const admin = await h.store.accounts.create(
        { email: 'root@example.com', password: 'correct horse battery', role: 'admin' },
        actor,
      );
      if (!admin.ok) throw new Error(admin.code);
      const s = await h.store.sessions.create({ accountId: admin.value.id, clientIp: IP });
      if (!s.ok) throw new Error(s.code);
      expect(await h.verifier.verify(bearer(s.value.token))).toMatchObject({
        ok: true,
        principal: { scopes: ['keyward:admin'] },
      });
    });

    it('from a new address: revoked by default; or rejected; or allowed, as configured', async () => {
      const s = await session();
      const elsewhere = { remoteAddress: '203.0.113.50', secure: true };
      expect(await h.rebuild({ sessionIpPolicy: 'reject' }).verify(bearer(s.token, elsewhere))).toMatchObject({
        code: 'session_ip_mismatch',
      });
      expect((await h.verifier.verify(bearer(s.token))).ok).toBe(true);
      expect((await h.rebuild({ sessionIpPolicy: 'allow' }).verify(bearer(s.token, elsewhere))).ok).toBe(true);
      expect(await h.verifier.verify(bearer(s.token, elsewhere))).toMatchObject({
        status: 401,
        code: 'session_ip_mismatch',
      });
      // The default policy ended the session: the rightful address is refused now too.
      expect(await h.verifier.verify(bearer(s.token))).toMatchObject({ code: 'session_invalid' });
    });

    it('idle and absolute expiry; use slides the idle expiry', async () => {
      const s = await session(false, { idleMs: 120_000, absoluteMs: 600_000 });
      h.clock.t += 100_000;
      expect((await h.verifier.verify(bearer(s.token))).ok).toBe(true);
      h.clock.t += 100_000; // 200 s after start, 100 s after the last use
      expect((await h.rebuild({ sessionIdleMs: 120_000 }).verify(bearer(s.token))).ok).toBe(true);
      h.clock.t += 121_000;
      expect(await h.verifier.verify(bearer(s.token))).toMatchObject({ code: 'session_expired' });

      const t = await session(false, { idleMs: 600_000, absoluteMs: 600_000 });
      h.clock.t += 600_000;
      expect(await h.verifier.verify(bearer(t.token))).toMatchObject({ code: 'session_expired' });
    });

    it('unknown, wrong-secret and revoked sessions; disabled account', async () => {
      const s = await session();
      const other = await session();
      const { id } = rawParts(s.token);
      const forged = `kw_st_${id}${rawParts(other.token).secret}`;
      // A forged token fails its checksum before any lookup.
      expect(await h.verifier.verify(bearer(forged))).toMatchObject({ code: 'session_invalid' });
      await h.store.sessions.revoke(other.session.id);
      expect(await h.verifier.verify(bearer(other.token))).toMatchObject({ code: 'session_invalid' });
      await h.store.accounts.setStatus('ada@example.com', 'disabled', actor);
      expect(await h.verifier.verify(bearer(s.token))).toMatchObject({ code: 'session_invalid' });
    });

    it('a signed session token alone is refused: it must sign', async () => {
      const s = await session(true);
      expect(await h.verifier.verify(bearer(s.token))).toMatchObject({ code: 'session_invalid' });
    });
  });

  describe('signed sessions', () => {
    it('verify a request signed with the session secret, once', async () => {
      const s = await session(true);
      const req = signedWith(s, { nonce: 'once' });
      expect(await h.verifier.verify(req)).toEqual({
        ok: true,
        principal: { accountId: h.key.key.accountId, sessionId: s.session.id, scopes: [], method: 'signed-session' },
      });
      expect(await h.verifier.verify(req)).toMatchObject({ code: 'nonce_reused' });
    });

    it('a wrong secret, an unsigned session or a foreign account: signature_invalid', async () => {
      const s = await session(true);
      const plain = await session(false);
      expect(await h.verifier.verify(signedWith(s, { secret: 'kw_ss_wrong' }))).toMatchObject({
        code: 'signature_invalid',
      });
      expect(await h.verifier.verify(signedWith({ ...plain, secret: 'whatever' }))).toMatchObject({
        code: 'signature_invalid',
      });
      const foreign = { ...s, session: { ...s.session, accountId: 'acc_someoneelse' } };
      expect(await h.verifier.verify(signedWith(foreign))).toMatchObject({ code: 'signature_invalid' });
      // By default a bad signature does not end the session.
      expect((await h.verifier.verify(signedWith(s))).ok).toBe(true);
    });

    it('a bad signature voids the session when configured', async () => {
      const s = await session(true);
      const strict = h.rebuild({ voidSessionOnBadSignature: true });
      expect(await strict.verify(signedWith(s, { secret: 'kw_ss_wrong' }))).toMatchObject({
        code: 'signature_invalid',
      });
      expect(await strict.verify(signedWith(s))).toMatchObject({ code: 'session_invalid' });
    });

    it('are bound to the issuing address too', async () => {
      const s = await session(true);
      expect(await h.verifier.verify(signedWith(s, { remoteAddress: '198.51.100.9' }))).toMatchObject({
        code: 'session_ip_mismatch',
      });
    });

    it('never put the session secret in a refusal', async () => {
      const s = await session(true);
      const text = JSON.stringify([
        await h.verifier.verify(signedWith(s, { secret: 'kw_ss_wrong' })),
        await h.verifier.verify(bearer(s.token)),
      ]);
      expect(text).not.toContain(s.secret ?? '');
      expect(text).not.toContain(rawParts(s.token).secret);
    });
  });
});
