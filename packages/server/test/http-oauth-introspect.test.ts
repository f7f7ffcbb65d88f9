// POST /oauth/introspect (RFC 7662) and POST /oauth/revoke (RFC 7009) with opaque tokens, on
// SQLite and PostgreSQL; RFC 8414 metadata; and oauth4webapi, an independent client, driving the
// whole flow with client_secret_basic and client_secret_post.
import { identify } from '@keyward/core';
import { sql } from 'kysely';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/databases.js';
import {
  actor,
  basicAuth,
  closeSuiteServer,
  getToken,
  json,
  newAccount,
  newClient,
  post,
  secretsInLogs,
  startSuiteServer,
  type TestClient,
  whoami,
} from './support/oauth.js';
import { startTestServer, type TestServer } from './support/server.js';

function introspect(t: TestServer, caller: TestClient, token: string, extra: Record<string, string> = {}) {
  return post(t, '/oauth/introspect', { token, ...extra }, { authorization: basicAuth(caller.id, caller.secret) });
}
function revoke(t: TestServer, caller: TestClient, token: string, extra: Record<string, string> = {}) {
  return post(t, '/oauth/revoke', { token, ...extra }, { authorization: basicAuth(caller.id, caller.secret) });
}

describe.each(ENGINES)('POST /oauth/introspect and /oauth/revoke, opaque tokens (%s)', (engine) => {
  let t: TestServer;
  let client: TestClient;
  const secrets: string[] = [];

  beforeAll(async () => {
    ({ t, client } = await startSuiteServer(engine, {}, secrets));
  });
  afterAll(() => closeSuiteServer(t, secrets));

  async function token(c: TestClient = client, scope?: string): Promise<string> {
    const value = await getToken(t, c, scope === undefined ? {} : { scope });
    secrets.push(value);
    return value;
  }

  async function expectInactive(res: Response): Promise<void> {
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toBe('{"active":false}');
  }

  it('describes an active token of the caller', async () => {
    const value = await token(client, 'read:orders');
    const issuedAt = Math.floor(t.clock.t / 1000);
    const res = await introspect(t, client, value, { token_type_hint: 'access_token' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    const body = await json(res);
    expect(body).toEqual({
      active: true,
      scope: 'read:orders',
      client_id: client.id,
      sub: client.accountId,
      exp: issuedAt + 3600,
      iat: issuedAt,
      token_type: 'Bearer',
      iss: t.server.context.config.publicUrl,
      jti: expect.stringMatching(/^[0-9A-Za-z]{22}$/),
    });
    expect(value).toContain(body.jti);
    // Another key of the same account sees it too; any hint is only a hint.
    const sibling = await newClient(t, {}, client.accountId);
    expect((await json(await introspect(t, sibling, value, { token_type_hint: 'refresh_token' }))).active).toBe(true);
  });

  it('answers exactly {"active":false} for unknown, malformed, expired, revoked and non-access tokens', async () => {
    const { store } = t.server.context;
    const live = await token();
    const wrongSecret = `${live.slice(0, 28)}${'x'.repeat(live.length - 28)}`;
    const revoked = await token();
    await revoke(t, client, revoked);
    for (const value of [
      'kw_at_nonsense',
      'x',
      wrongSecret,
      revoked,
      client.token, // an API key token is not an access token
      client.secret,
      'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln', // a JWT, and this server issues opaque tokens
    ]) {
      await expectInactive(await introspect(t, client, value));
    }
    const expiring = await token();
    t.clock.t += 3600_000;
    await expectInactive(await introspect(t, client, expiring));
    // A key that can no longer use its tokens makes them inactive too.
    const holder = await newClient(t);
    const held = await token(holder);
    await store.keys.setEnabled(holder.id, false, actor);
    await expectInactive(await introspect(t, client, held));
  });

  it('hides tokens of another account, unless the caller holds keyward:admin or keyward:verify', async () => {
    const foreigner = await newClient(t);
    const theirs = await token(foreigner);
    await expectInactive(await introspect(t, client, theirs));
    for (const scope of ['keyward:verify', 'keyward:admin']) {
      const resourceServer = await newClient(t, { scopes: [scope] }, await newAccount(t, 'admin'));
      const body = await json(await introspect(t, resourceServer, theirs));
      expect(body).toMatchObject({ active: true, client_id: foreigner.id, sub: foreigner.accountId });
    }
  });

  it('authenticates the caller like the token endpoint', async () => {
    const value = await token();
    const noAuth = await post(t, '/oauth/introspect', { token: value });
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get('www-authenticate')).toBe('Basic realm="keyward", charset="UTF-8"');
    expect((await json(noAuth)).error).toBe('invalid_client');
    const postAuth = await post(t, '/oauth/introspect', {
      token: value,
      client_id: client.id,
      client_secret: client.secret,
    });
    expect((await json(postAuth)).active).toBe(true);
    const missing = await post(t, '/oauth/introspect', {}, { authorization: basicAuth(client.id, client.secret) });
    expect(missing.status).toBe(400);
    expect((await json(missing)).error).toBe('invalid_request');
    const asJson = await fetch(`${t.url}/oauth/introspect`, {
      method: 'POST',
      headers: { authorization: basicAuth(client.id, client.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ token: value }),
    });
    expect(asJson.status).toBe(400);
    expect((await json(asJson)).error).toBe('invalid_request');
    const twice = await post(t, '/oauth/introspect', `token=${value}&token=${value}`, {
      authorization: basicAuth(client.id, client.secret),
    });
    expect(twice.status).toBe(400);
    expect((await json(twice)).error).toBe('invalid_request');
  });

  it('revokes a token of the caller at once: 200, empty body; the verifier refuses it next', async () => {
    const value = await token();
    expect((await whoami(t, value)).status).toBe(200); // cached by the verifier now
    const res = await revoke(t, client, value, { token_type_hint: 'access_token' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toBe('');
    const after = await whoami(t, value);
    expect(after.status).toBe(401);
    expect((await json(after)).error.code).toBe('token_invalid');
    expect(await (await introspect(t, client, value)).text()).toBe('{"active":false}');
    // Again: nothing left to revoke, still 200.
    expect((await revoke(t, client, value)).status).toBe(200);
    // The revocation is audited once, as done by the client's key.
    const events = await t.server.context.store.audit.list({ objectId: identify(value)?.id });
    const revocations = events.filter((e) => e.action === 'token.revoke');
    expect(revocations).toHaveLength(1);
    expect(revocations[0]?.actor).toEqual({ type: 'key', id: client.id });
  });

  it("answers 200 for another client's token, an unknown one or garbage, and revokes nothing", async () => {
    const sibling = await newClient(t, {}, client.accountId);
    const mine = await token();
    const res = await revoke(t, sibling, mine);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await whoami(t, mine)).status).toBe(200);
    for (const value of ['garbage', 'kw_at_x', client.token]) expect((await revoke(t, client, value)).status).toBe(200);
    expect((await whoami(t, mine)).status).toBe(200);
    const noAuth = await post(t, '/oauth/revoke', { token: mine });
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get('www-authenticate')).toBe('Basic realm="keyward", charset="UTF-8"');
    const missing = await post(t, '/oauth/revoke', {}, { authorization: basicAuth(client.id, client.secret) });
    expect(missing.status).toBe(400);
    expect((await json(missing)).error).toBe('invalid_request');
  });

  it('fails closed with 503 when the store fails, never 200', async () => {
    const value = await token();
    const { db } = t.server.context.store.context;
    await sql`alter table access_tokens rename to access_tokens_away`.execute(db);
    try {
      for (const res of [await revoke(t, client, value), await introspect(t, client, value)]) {
        expect(res.status).toBe(503);
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect((await json(res)).error).toBe('temporarily_unavailable');
      }
    } finally {
      await sql`alter table access_tokens_away rename to access_tokens`.execute(db);
    }
    expect((await introspect(t, client, value).then(json)).active).toBe(true);
  });

  it('serves RFC 8414 metadata (no jwks_uri for opaque tokens) and no JWK set', async () => {
    const res = await fetch(`${t.url}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    const issuer = t.server.context.config.publicUrl;
    expect(await json(res)).toEqual({
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
    expect((await fetch(`${t.url}/.well-known/jwks.json`)).status).toBe(404);
  });
});

describe('oauth4webapi against the server (interop)', () => {
  let t: TestServer;
  const secrets: string[] = [];
  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(async () => {
    expect(secretsInLogs(t, secrets)).toEqual([]);
    await t?.close();
  });

  // oauth4webapi refuses http:// unless told; the server is on loopback.
  const insecure = { [oauth.allowInsecureRequests]: true } as const;

  for (const method of ['basic', 'post'] as const) {
    it(`discovers the server, gets, introspects and revokes a token (client_secret_${method})`, async () => {
      const issuer = new URL(t.server.context.config.publicUrl);
      const as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
      );
      expect(as.token_endpoint).toBe(`${t.url}/oauth/token`);
      const key = await newClient(t, { scopes: ['read:orders', 'write:orders'] });
      secrets.push(key.secret);
      const client: oauth.Client = { client_id: key.id };
      const auth = method === 'basic' ? oauth.ClientSecretBasic(key.secret) : oauth.ClientSecretPost(key.secret);

      const tokenResponse = await oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'read:orders' }, insecure),
      );
      secrets.push(tokenResponse.access_token);
      expect(tokenResponse).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'read:orders' });
      expect((await json(await whoami(t, tokenResponse.access_token))).principal.method).toBe('oauth2');

      const introspection = await oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, auth, tokenResponse.access_token, insecure),
      );
      expect(introspection).toMatchObject({ active: true, client_id: key.id, scope: 'read:orders' });

      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client, auth, tokenResponse.access_token, insecure),
      );
      expect((await whoami(t, tokenResponse.access_token)).status).toBe(401);
      const after = await oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, auth, tokenResponse.access_token, insecure),
      );
      expect(after).toEqual({ active: false });

      // Its error handling reads the RFC 6749 §5.2 shape.
      const wrong = method === 'basic' ? oauth.ClientSecretBasic(`${key.secret}x`) : oauth.ClientSecretPost('nope');
      const refused = oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(as, client, wrong, {}, insecure),
      );
      // A 401 with a challenge surfaces as the challenge (RFC 6749 §5.2: Basic), body in RFC 6749 shape.
      const challenge = await refused.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(challenge).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
      const e = challenge as oauth.WWWAuthenticateChallengeError;
      expect(e.status).toBe(401);
      expect(e.cause).toEqual([{ scheme: 'basic', parameters: { realm: 'keyward', charset: 'UTF-8' } }]);
      expect((await json(e.response)).error).toBe('invalid_client');
      const badScope = oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'admin' }, insecure),
      );
      await expect(badScope).rejects.toMatchObject({ error: 'invalid_scope', status: 400 });
    });
  }
});
