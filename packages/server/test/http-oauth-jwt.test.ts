// JWT access tokens (tokenFormat 'jwt'): EdDSA, RFC 9068 claims, verified with the served JWK set
// by jose as an independent resource server would, accepted by the server's own verifier, recorded
// by jti (introspection, revocation), signing keys sealed at rest and rotated with old keys kept
// published until their tokens expire; and two instances on one PostgreSQL agreeing on keys.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSecret } from '@keyward/core';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  type JSONWebKeySet,
  jwtVerify,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { createServer, type KeywardServer } from '../src/http/app.js';
import { openStore, type Store } from '../src/store/index.js';
import { Listing } from '../src/store/listing.js';
import { createPostgresDatabase, ENGINES } from './support/databases.js';
import {
  basicAuth,
  closeSuiteServer,
  getToken,
  json,
  newClient,
  oauthRows,
  post,
  startSuiteServer,
  type TestClient,
  whoami,
} from './support/oauth.js';
import { startTestServer, type TestServer } from './support/server.js';

const DAY = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

async function jwks(url: string): Promise<JSONWebKeySet> {
  const res = await fetch(`${url}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  return (await json(res)) as JSONWebKeySet;
}

function introspect(url: string, caller: TestClient, token: string) {
  return fetch(`${url}/oauth/introspect`, {
    method: 'POST',
    headers: {
      authorization: basicAuth(caller.id, caller.secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
}

describe.each(ENGINES)('JWT access tokens (%s)', (engine) => {
  let t: TestServer;
  let client: TestClient;
  const secrets: string[] = [];

  beforeAll(async () => {
    ({ t, client } = await startSuiteServer(engine, { tokenFormat: 'jwt' }, secrets));
  });
  afterAll(() => closeSuiteServer(t, secrets));

  async function token(c: TestClient = client, scope?: string): Promise<string> {
    const value = await getToken(t, c, scope === undefined ? {} : { scope });
    secrets.push(value);
    return value;
  }

  it('issues an EdDSA JWT with the RFC 9068 claims that jose verifies with the served JWK set', async () => {
    const issuer = t.server.context.config.publicUrl;
    const res = await post(
      t,
      '/oauth/token',
      { grant_type: 'client_credentials', scope: 'read:orders' },
      {
        authorization: basicAuth(client.id, client.secret),
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await json(res);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'read:orders' });
    const value: string = body.access_token;
    secrets.push(value);
    const header = decodeProtectedHeader(value);
    expect(header).toEqual({ alg: 'EdDSA', kid: expect.any(String), typ: 'at+jwt' });
    const set = await jwks(t.url);
    expect(set.keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: header.kid, alg: 'EdDSA', use: 'sig' },
    ]);
    const { payload } = await jwtVerify(value, createLocalJWKSet(set), {
      issuer,
      audience: issuer,
      algorithms: ['EdDSA'],
      typ: 'at+jwt',
      currentDate: new Date(t.clock.t),
    });
    const now = Math.floor(t.clock.t / 1000);
    expect(payload).toEqual({
      iss: issuer,
      sub: client.accountId,
      aud: issuer,
      iat: now,
      exp: now + 3600,
      jti: expect.stringMatching(/^[0-9A-Za-z]{22}$/),
      scope: 'read:orders',
      client_id: client.id,
    });
    // Recorded by its jti, so that it can be listed, introspected and revoked.
    const row = await t.server.context.store.tokens.lookup(payload.jti as string);
    expect(row).toMatchObject({ format: 'jwt', accountId: client.accountId, scopes: ['read:orders'], revokedAt: null });
    const listed = await new Listing(t.server.context.store.context).tokens({ accountId: client.accountId, limit: 10 });
    expect(listed.ok && listed.value.items.map((x) => x.id)).toContain(payload.jti);

    const me = await whoami(t, value);
    expect(me.status).toBe(200);
    expect((await json(me)).principal).toEqual({
      accountId: client.accountId,
      keyId: client.id,
      scopes: ['read:orders'],
      method: 'oauth2',
    });
  });

  it('publishes jwks_uri in the metadata and serves the JWK set with public keys only', async () => {
    const metadata = await json(await fetch(`${t.url}/.well-known/oauth-authorization-server`));
    expect(metadata.jwks_uri).toBe(`${t.server.context.config.publicUrl}/.well-known/jwks.json`);
    const res = await fetch(`${t.url}/.well-known/jwks.json`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    for (const key of ((await json(res)) as JSONWebKeySet).keys) expect(key).not.toHaveProperty('d');
  });

  it('keeps the private key sealed at rest, bound to its kid', async () => {
    const { store } = t.server.context;
    const rows = await store.context.db.selectFrom('signing_keys').selectAll().execute();
    expect(rows).toHaveLength(1);
    const row = rows[0] as (typeof rows)[number];
    expect(JSON.parse(row.public_jwk)).not.toHaveProperty('d');
    const { keyring } = store.context;
    const opened = openSecret(row.sealed_private_key, keyring.masterKeys, `signing-key:${row.id}`);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(row.sealed_private_key).not.toContain(opened.value);
    expect(openSecret(row.sealed_private_key, keyring.masterKeys, 'signing-key:another').ok).toBe(false);
    expect(JSON.stringify(row)).not.toContain(opened.value.slice(-43));
  });

  it('introspects a JWT, and revokes it by jti with immediate effect in the verifier', async () => {
    const value = await token();
    const { jti, exp, iat } = decodeJwt(value);
    const active = await json(await introspect(t.url, client, value));
    expect(active).toEqual({
      active: true,
      scope: 'read:orders write:orders',
      client_id: client.id,
      sub: client.accountId,
      exp,
      iat,
      token_type: 'Bearer',
      iss: t.server.context.config.publicUrl,
      aud: t.server.context.config.publicUrl,
      jti,
    });
    expect((await whoami(t, value)).status).toBe(200); // the verifier has cached "not revoked" for this jti
    const other = await newClient(t, {}, client.accountId);
    const notMine = await post(
      t,
      '/oauth/revoke',
      { token: value },
      { authorization: basicAuth(other.id, other.secret) },
    );
    expect(notMine.status).toBe(200);
    expect((await whoami(t, value)).status).toBe(200);
    const revoked = await post(
      t,
      '/oauth/revoke',
      { token: value },
      { authorization: basicAuth(client.id, client.secret) },
    );
    expect(revoked.status).toBe(200);
    expect(await revoked.text()).toBe('');
    const refused = await whoami(t, value);
    expect(refused.status).toBe(401);
    expect((await json(refused)).error.code).toBe('token_invalid');
    expect(await (await introspect(t.url, client, value)).text()).toBe('{"active":false}');
    expect((await t.server.context.store.tokens.lookup(jti as string))?.revokedAt).not.toBeNull();
  });

  it('treats forged, tampered, foreign-key and expired JWTs as inactive', async () => {
    const value = await token();
    const [h, p, s] = value.split('.') as [string, string, string];
    const claims = decodeJwt(value);
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')}.${s}`;
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const foreign = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: decodeProtectedHeader(value).kid as string, typ: 'at+jwt' })
      .sign(privateKey);
    const unsigned = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${p}.`;
    for (const bad of [tampered, foreign, unsigned, `${h}.${p}.${s.slice(0, -4)}AAAA`]) {
      expect(await (await introspect(t.url, client, bad)).text()).toBe('{"active":false}');
      expect((await whoami(t, bad)).status).toBe(401);
    }
    t.clock.t += HOUR;
    expect(await (await introspect(t.url, client, value)).text()).toBe('{"active":false}');
    const expired = await whoami(t, value);
    expect(expired.status).toBe(401);
    expect((await json(expired)).error.code).toBe('token_expired');
  });

  it('rotates the signing key after 30 days and keeps the old one published until its tokens expired', async () => {
    const { store } = t.server.context;
    const first = await token();
    const k1 = decodeProtectedHeader(first).kid;
    const k1Row = await store.context.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('id', '=', k1 as string)
      .executeTakeFirstOrThrow();
    expect(k1Row.sign_until - k1Row.created_at).toBe(30 * DAY);
    expect(k1Row.publish_until - k1Row.sign_until).toBe(HOUR);

    // Ten minutes before the end of its period, k1 still signs: this token outlives the period.
    t.clock.t = k1Row.sign_until - 10 * 60 * 1000;
    const late = await token();
    expect(decodeProtectedHeader(late).kid).toBe(k1);

    t.clock.t = k1Row.sign_until + 1000;
    const fresh = await token();
    const k2 = decodeProtectedHeader(fresh).kid;
    expect(k2).not.toBe(k1);
    const both = await jwks(t.url);
    expect(both.keys.map((k) => k.kid)).toEqual([k2, k1]);
    // The late token still verifies, offline with the JWK set and at the server.
    const issuer = t.server.context.config.publicUrl;
    const verify = (jwt: string, set: JSONWebKeySet) =>
      jwtVerify(jwt, createLocalJWKSet(set), { issuer, audience: issuer, currentDate: new Date(t.clock.t) });
    await expect(verify(late, both)).resolves.toBeDefined();
    await expect(verify(fresh, both)).resolves.toBeDefined();
    expect((await whoami(t, late)).status).toBe(200);
    expect((await whoami(t, fresh)).status).toBe(200);

    // Once every token k1 signed has expired, k1 is withdrawn.
    t.clock.t = k1Row.publish_until;
    expect((await jwks(t.url)).keys.map((k) => k.kid)).toEqual([k2]);
    expect((await whoami(t, late)).status).toBe(401);

    // The next rotation forgets k1 entirely.
    t.clock.t += 30 * DAY;
    const third = await token();
    const k3 = decodeProtectedHeader(third).kid;
    expect(new Set([k1, k2, k3]).size).toBe(3);
    const kids = (await store.context.db.selectFrom('signing_keys').select('id').execute()).map((r) => r.id);
    expect(kids).not.toContain(k1);
    expect(kids).toContain(k3);
  });

  it('makes the first key on demand, once, under concurrent requests', async () => {
    const fresh = await startTestServer(engine, { tokenFormat: 'jwt' });
    try {
      expect((await oauthRows(fresh.server.context.store)).signing_keys).toBe(0);
      const c = await newClient(fresh);
      const tokens = await Promise.all(Array.from({ length: 8 }, () => getToken(fresh, c)));
      secrets.push(c.secret, ...tokens);
      expect(new Set(tokens.map((x) => decodeProtectedHeader(x).kid)).size).toBe(1);
      expect((await oauthRows(fresh.server.context.store)).signing_keys).toBe(1);
      expect((await jwks(fresh.url)).keys).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });

  it('fails closed with 503 when no signing key can be had, and records no token', async () => {
    const fresh = await startTestServer(engine, { tokenFormat: 'jwt' });
    try {
      const c = await newClient(fresh);
      secrets.push(c.secret);
      const { sql } = await import('kysely');
      const { db } = fresh.server.context.store.context;
      await sql`alter table signing_keys rename to signing_keys_away`.execute(db);
      const res = await post(
        fresh,
        '/oauth/token',
        { grant_type: 'client_credentials' },
        {
          authorization: basicAuth(c.id, c.secret),
        },
      );
      expect(res.status).toBe(503);
      expect((await json(res)).error).toBe('temporarily_unavailable');
      expect((await fetch(`${fresh.url}/.well-known/jwks.json`)).status).toBe(503);
      await sql`alter table signing_keys_away rename to signing_keys`.execute(db);
      expect((await oauthRows(fresh.server.context.store)).access_tokens).toBe(0);
    } finally {
      await fresh.close();
    }
  });
});

describe('two instances on one PostgreSQL agree on signing keys', () => {
  interface Instance {
    url: string;
    server: KeywardServer;
    store: Store;
    logs: string[];
  }
  const PUBLIC_URL = 'https://auth.example.test';
  const clock = { t: Date.now() };
  const dir = mkdtempSync(join(tmpdir(), 'keyward-two-'));
  let drop: (() => Promise<void>) | undefined;
  const instances: Instance[] = [];
  const secrets: string[] = [];

  async function start(url: string): Promise<Instance> {
    const store = await openStore({ dataDir: dir, databaseUrl: url, clock: { now: () => clock.t }, usageFlushMs: 0 });
    const logs: string[] = [];
    const config = loadConfig({
      env: {},
      cwd: dir,
      overrides: { dataDir: dir, host: '127.0.0.1', port: 0, publicUrl: PUBLIC_URL, tokenFormat: 'jwt' },
    });
    const server = await createServer(config, {
      store,
      clock: { now: () => clock.t },
      logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } },
    });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const address = server.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const instance = { url: `http://127.0.0.1:${port}`, server, store, logs };
    instances.push(instance);
    return instance;
  }

  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    const pg = await createPostgresDatabase();
    drop = pg.drop;
    a = await start(pg.url);
    b = await start(pg.url);
  });
  afterAll(async () => {
    const logs = instances.flatMap((i) => i.logs).join('\n');
    expect(secrets.filter((s) => logs.includes(s))).toEqual([]);
    for (const i of instances) {
      await i.server.close();
      await i.store.close();
    }
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  async function tokenFrom(instance: Instance, c: { id: string; secret: string }): Promise<string> {
    const res = await fetch(`${instance.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(c.id, c.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    const value = ((await json(res)) as { access_token: string }).access_token;
    secrets.push(value);
    return value;
  }

  it('makes one key under concurrent first requests to both, and each accepts the other one’s tokens', async () => {
    const created = await a.store.accounts.create(
      { email: 'two@example.com', password: 'correct horse battery staple' },
      { type: 'cli' },
    );
    if (!created.ok) throw new Error(created.code);
    const key = await a.store.keys.create(created.value.id, { name: 'two', scopes: ['read:orders'] }, { type: 'cli' });
    if (!key.ok) throw new Error(key.code);
    const c = key.value;
    secrets.push(c.secret);
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => tokenFrom(i % 2 === 0 ? a : b, c)));
    expect(new Set(tokens.map((x) => decodeProtectedHeader(x).kid)).size).toBe(1);
    const rows = await a.store.context.db.selectFrom('signing_keys').select('id').execute();
    expect(rows).toHaveLength(1);
    for (const [issuer, verifier] of [
      [a, b],
      [b, a],
    ] as const) {
      const value = await tokenFrom(issuer, c);
      const me = await fetch(`${verifier.url}/v1/whoami`, { headers: { authorization: `Bearer ${value}` } });
      expect(me.status).toBe(200);
    }
    expect((await jwks(a.url)).keys).toEqual((await jwks(b.url)).keys);

    // A key made by A at rotation is found by B, which signs with it too.
    clock.t += 30 * DAY + 1000;
    const fromA = await tokenFrom(a, c);
    const me = await fetch(`${b.url}/v1/whoami`, { headers: { authorization: `Bearer ${fromA}` } });
    expect(me.status).toBe(200);
    const fromB = await tokenFrom(b, c);
    expect(decodeProtectedHeader(fromB).kid).toBe(decodeProtectedHeader(fromA).kid);
    expect((await jwks(b.url)).keys.map((k) => k.kid)[0]).toBe(decodeProtectedHeader(fromA).kid);

    // A token revoked through A is refused by B (B had not seen it) and inactive at B's introspection.
    const revokedByA = await tokenFrom(a, c);
    const revoke = await fetch(`${a.url}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: basicAuth(c.id, c.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: revokedByA }).toString(),
    });
    expect(revoke.status).toBe(200);
    const refused = await fetch(`${b.url}/v1/whoami`, { headers: { authorization: `Bearer ${revokedByA}` } });
    expect(refused.status).toBe(401);
    const introspection = await fetch(`${b.url}/oauth/introspect`, {
      method: 'POST',
      headers: { authorization: basicAuth(c.id, c.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: revokedByA }).toString(),
    });
    expect(await introspection.text()).toBe('{"active":false}');
  });
});
