// JWT access tokens (EdDSA, RFC 9068 claims): signature, issuer, audience, expiry, algorithm,
// the key behind client_id, and revocation by jti.
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError, type Verifier } from '../src/verify/index.js';
import { actor, type Harness, harness, rawParts, request } from './support/verifier.js';

const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'https://api.example.com';
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

describe('verify: oauth2 JWT access tokens', () => {
  let h: Harness;
  let verifier: Verifier;
  let privateKey: PrivateKey;
  let otherKey: PrivateKey;
  beforeEach(async () => {
    h = await harness({ keySettings: { scopes: ['read:orders', 'write:orders'] } });
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    verifier = h.rebuild({ jwt: { issuer: ISSUER, audience: AUDIENCE, keys: { keys: [jwk] } } });
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const bearer = (token: string) => request({ headers: { authorization: `Bearer ${token}` } });
  const now = () => Math.floor(h.clock.t / 1000);

  function token(claims: Record<string, unknown> = {}, options: { key?: PrivateKey; kid?: string; ttl?: number } = {}) {
    return new SignJWT({ scope: 'read:orders', client_id: h.key.id, ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: options.kid ?? 'k1', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject((claims.sub as string | undefined) ?? h.key.key.accountId)
      .setIssuedAt(now())
      .setExpirationTime(now() + (options.ttl ?? 600))
      .setJti((claims.jti as string | undefined) ?? 'Q9x2Jt7ePMLrTa0vYw3bKk')
      .sign(options.key ?? privateKey);
  }

  it('accepts a valid token with its own scopes', async () => {
    expect(await verifier.verify(bearer(await token()))).toEqual({
      ok: true,
      principal: { accountId: h.key.key.accountId, keyId: h.key.id, scopes: ['read:orders'], method: 'oauth2' },
    });
    expect(await verifier.verify(bearer(await token()), { scopes: ['write:orders'] })).toMatchObject({
      status: 403,
      code: 'insufficient_scope',
    });
  });

  it('refuses a wrong issuer, audience, signing key, subject or missing client_id: token_invalid', async () => {
    const bad = [
      await new SignJWT({ client_id: h.key.id })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
        .setIssuer('https://evil.example')
        .setAudience(AUDIENCE)
        .setIssuedAt(now())
        .setExpirationTime(now() + 60)
        .setJti('a')
        .sign(privateKey),
      await new SignJWT({ client_id: h.key.id })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience('https://other.example')
        .setIssuedAt(now())
        .setExpirationTime(now() + 60)
        .setJti('a')
        .sign(privateKey),
      await token({}, { key: otherKey }),
      await token({ sub: 'acc_someoneelse' }),
      await token({ client_id: 'not-a-key' }),
    ];
    for (const t of bad) {
      expect(await verifier.verify(bearer(t))).toMatchObject({
        status: 401,
        code: 'token_invalid',
        challenge: expect.arrayContaining(['Bearer realm="keyward", error="invalid_token"']),
      });
    }
  });

  it('takes only access tokens: typ at+jwt and the RFC 9068 §2.2 claims, sub included (§4)', async () => {
    const signed = (typ: string | undefined, sub: string | undefined) => {
      const jwt = new SignJWT({ scope: 'read:orders', client_id: h.key.id })
        .setProtectedHeader(typ === undefined ? { alg: 'EdDSA', kid: 'k1' } : { alg: 'EdDSA', kid: 'k1', typ })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(now())
        .setExpirationTime(now() + 60)
        .setJti('Q9x2Jt7ePMLrTa0vYw3bKk');
      return (sub === undefined ? jwt : jwt.setSubject(sub)).sign(privateKey);
    };
    const accountId = h.key.key.accountId;
    // Same key, same claims, but not an access token (an ID token, say): refused.
    expect(await verifier.verify(bearer(await signed(undefined, accountId)))).toMatchObject({ code: 'token_invalid' });
    expect(await verifier.verify(bearer(await signed('JWT', accountId)))).toMatchObject({ code: 'token_invalid' });
    expect(await verifier.verify(bearer(await signed('at+jwt', undefined)))).toMatchObject({ code: 'token_invalid' });
    // RFC 9068 §4 compares the media type: the full form is the same type.
    expect((await verifier.verify(bearer(await signed('application/at+jwt', accountId)))).ok).toBe(true);
  });

  it('refuses alg none and HMAC tokens (RFC 8725 §3.1)', async () => {
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, client_id: h.key.id, jti: 'x', iat: now(), exp: now() + 60 })).toString('base64url')}.`;
    expect(await verifier.verify(bearer(`${unsigned}AAAA`))).toMatchObject({ code: 'token_invalid' });
    const hs = await new SignJWT({ client_id: h.key.id })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now())
      .setExpirationTime(now() + 60)
      .setJti('h')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    expect(await verifier.verify(bearer(hs))).toMatchObject({ code: 'token_invalid' });
  });

  it('an expired token: token_expired', async () => {
    const t = await token({}, { ttl: 60 });
    h.clock.t += 61_000;
    expect(await verifier.verify(bearer(t))).toMatchObject({ status: 401, code: 'token_expired' });
  });

  it('stops at once when its key is revoked or its account disabled', async () => {
    const t = await token();
    expect((await verifier.verify(bearer(t))).ok).toBe(true);
    await h.store.accounts.setStatus('ada@example.com', 'disabled', actor);
    expect(await verifier.verify(bearer(t))).toMatchObject({ code: 'account_disabled' });
    await h.store.accounts.setStatus('ada@example.com', 'active', actor);
    await h.store.keys.revoke(h.key.id, actor);
    expect(await verifier.verify(bearer(t))).toMatchObject({ code: 'key_revoked' });
  });

  it('is refused once the token its jti names is revoked', async () => {
    const issued = await h.store.tokens.issue({
      keyId: rawParts(h.key.token).id,
      accountId: h.key.key.accountId,
      scopes: ['read:orders'],
      ttlMs: 600_000,
    });
    if (!issued.ok) throw new Error(issued.code);
    const jti = issued.value.accessToken.id;
    const t = await token({ jti });
    expect((await verifier.verify(bearer(t))).ok).toBe(true);
    await h.store.tokens.revoke(jti);
    expect(await verifier.verify(bearer(t))).toMatchObject({ code: 'token_invalid' });
  });

  it('is refused at once when its account is disabled after a "not revoked" was cached', async () => {
    const issued = await h.store.tokens.issue({
      keyId: rawParts(h.key.token).id,
      accountId: h.key.key.accountId,
      scopes: [],
      ttlMs: 600_000,
    });
    if (!issued.ok) throw new Error(issued.code);
    const jti = issued.value.accessToken.id;
    const t = await token({ jti });
    expect((await verifier.verify(bearer(t))).ok).toBe(true);
    // Revoked behind the repository's back (as a bulk change does), then announced for the account.
    await h.store.context.db
      .updateTable('access_tokens')
      .set({ revoked_at: h.clock.t })
      .where('id', '=', jti)
      .execute();
    h.store.context.invalidations.publish({ kind: 'account', id: h.key.key.accountId });
    expect(await verifier.verify(bearer(t))).toMatchObject({ code: 'token_invalid' });
  });

  it('fails closed (503) when the signing keys cannot be read', async () => {
    const broken = h.rebuild({
      jwt: {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: async () => {
          throw new StoreUnavailableError('database is down');
        },
      },
      onError: () => {},
    });
    expect(await broken.verify(bearer(await token()))).toMatchObject({ status: 503, code: 'store_unavailable' });
  });

  it('reports a fault in the key resolver as one (the call rejects), not as a store that is down', async () => {
    const faulty = h.rebuild({
      jwt: {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: async () => {
          throw new TypeError('a bug');
        },
      },
      onError: () => {},
    });
    await expect(faulty.verify(bearer(await token()))).rejects.toThrow('a bug');
  });

  it('without a JWT configuration, a JWT is not a token Keyward knows', async () => {
    expect(await h.verifier.verify(bearer(await token()))).toMatchObject({ code: 'malformed_token' });
  });
});
