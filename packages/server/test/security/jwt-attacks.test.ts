// Attack suite, cases that held on 5713fb4 (issue 16): JWT access tokens (tokenFormat 'jwt')
// forged the classic ways, over real HTTP: `alg: none`, HS256 keyed with the server's public
// key (every form of it), other algorithms, embedded keys (jwk, jku, x5u), and `kid` games
// (unknown, path traversal, injection, the server's kid on a foreign key). Each is a 401 at
// /v1/whoami and inactive at /oauth/introspect, never a 5xx.
import { createHmac, createPublicKey } from 'node:crypto';
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, getToken, newClient, type TestClient } from '../support/oauth.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { call, code, UNLIMITED } from './attack-kit.js';

let t: TestServer;
let client: TestClient;
let real: string;
let claims: JWTPayload;
let kid: string;
let jwk: JSONWebKeySet['keys'][number];

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function hs256(header: Record<string, unknown>, payload: JWTPayload, key: Buffer | string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

beforeAll(async () => {
  t = await startTestServer('sqlite', { ...UNLIMITED, tokenFormat: 'jwt' });
  client = await newClient(t);
  real = await getToken(t, client);
  claims = decodeJwt(real);
  kid = decodeProtectedHeader(real).kid as string;
  const set = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  jwk = set.keys.find((k) => k.kid === kid) as JSONWebKeySet['keys'][number];
});
afterAll(async () => {
  await t?.close();
});

/** The forged token is refused at the resource and inactive at introspection. */
async function refused(token: string, label: string): Promise<void> {
  const who = await call(t, '/v1/whoami', { headers: { authorization: `Bearer ${token}` } });
  expect(who.status, `${label}: ${who.text}`).toBe(401);
  expect(who.headers.get('www-authenticate'), label).toMatch(/Bearer/);
  expect(code(who), label).toBeDefined();
  const intro = await call(t, '/oauth/introspect', {
    method: 'POST',
    headers: {
      authorization: basicAuth(client.id, client.secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(intro.status, label).toBe(200);
  expect(intro.body, label).toEqual({ active: false });
}

describe('JWT forgeries', () => {
  it('the real token works (the baseline the forgeries copy)', async () => {
    const who = await call(t, '/v1/whoami', { headers: { authorization: `Bearer ${real}` } });
    expect(who.status).toBe(200);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid });
  });

  it('refuses alg none, in every spelling, with and without a signature', async () => {
    const payload = b64({ ...claims, scope: 'read:orders write:orders keyward:admin' });
    const sig = real.split('.')[2] as string;
    for (const alg of ['none', 'None', 'NONE', 'nOnE', '']) {
      const header = b64({ alg, typ: 'at+jwt', kid });
      await refused(`${header}.${payload}.`, `alg ${alg}`);
      await refused(`${header}.${payload}.${sig}`, `alg ${alg} + real signature`);
    }
    await refused(`${b64({ typ: 'at+jwt', kid })}.${payload}.`, 'no alg');
  });

  it('refuses HS256 keyed with the public key: raw bytes, base64url, JWK JSON, PEM, DER', async () => {
    const x = jwk.x as string;
    const pub = createPublicKey({ key: { ...jwk, kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    const pem = pub.export({ type: 'spki', format: 'pem' }) as string;
    const der = pub.export({ type: 'spki', format: 'der' });
    const keys: [string, Buffer | string][] = [
      ['raw', Buffer.from(x, 'base64url')],
      ['x', x],
      ['jwk json', JSON.stringify(jwk)],
      ['pem', pem],
      ['der', der],
    ];
    for (const [label, key] of keys) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        await refused(hs256({ alg, typ: 'at+jwt', kid }, claims, key), `${alg} with ${label}`);
      }
    }
  });

  it('refuses other algorithms and embedded keys (jwk, jku, x5u) signed by the attacker', async () => {
    const rsa = await generateKeyPair('RS256');
    const es = await generateKeyPair('ES256');
    const ed = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const mine = await exportJWK(ed.publicKey);
    const sign = (header: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0], payload: JWTPayload = claims) =>
      new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key);
    await refused(await sign({ alg: 'RS256', kid }, rsa.privateKey), 'RS256');
    await refused(await sign({ alg: 'ES256', kid }, es.privateKey), 'ES256');
    await refused(await sign({ alg: 'EdDSA', kid, typ: 'at+jwt', jwk: mine }, ed.privateKey), 'embedded jwk');
    await refused(
      await sign({ alg: 'EdDSA', kid, typ: 'at+jwt', jku: 'https://evil.example/jwks.json' }, ed.privateKey),
      'jku',
    );
    await refused(
      await sign({ alg: 'EdDSA', kid, typ: 'at+jwt', x5u: 'https://evil.example/cert.pem' }, ed.privateKey),
      'x5u',
    );
  });

  it('kid games: unknown, traversal, injection, and the server kid on a foreign key', async () => {
    const ed = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const escalated = { ...claims, scope: 'read:orders keyward:admin', sub: 'someone-else' };
    for (const k of [
      kid,
      'unknown',
      '',
      '../../../../etc/passwd',
      '..%2F..%2Fsigning_keys',
      "' OR '1'='1",
      `${kid}' --`,
      `${kid}\u0000`,
      'k'.repeat(3000),
    ]) {
      const forged = await new SignJWT(escalated)
        .setProtectedHeader({ alg: 'EdDSA', kid: k, typ: 'at+jwt' })
        .sign(ed.privateKey);
      await refused(forged, `kid ${JSON.stringify(k).slice(0, 40)}`);
    }
    for (const k of [42, null, ['a'], { $ne: null }]) {
      const header = b64({ alg: 'EdDSA', kid: k, typ: 'at+jwt' });
      await refused(`${header}.${b64(claims)}.${real.split('.')[2]}`, `kid ${JSON.stringify(k)}`);
    }
  });

  it('the real signature over changed claims, or another header, does not verify', async () => {
    const [h, , s] = real.split('.') as [string, string, string];
    for (const change of [
      { scope: 'keyward:admin' },
      { sub: 'another-account' },
      { client_id: 'kw_kid_000000000000000000000000' },
      { exp: (claims.exp ?? 0) + 86_400 },
    ]) {
      await refused(`${h}.${b64({ ...claims, ...change })}.${s}`, JSON.stringify(change));
    }
    await refused(
      `${b64({ ...decodeProtectedHeader(real), typ: 'JWT' })}.${real.split('.')[1]}.${s}`,
      'header changed',
    );
    await refused(`${real}.`, 'extra segment');
    await refused(real.split('.').slice(0, 2).join('.'), 'two segments');
  });
});
