// End to end over real sockets, on SQLite and on PostgreSQL: register → log in → create a key →
// call /v1/whoami with every method → rotate → revoke, each outcome exact.
import { randomBytes } from 'node:crypto';
import { signOAuth1 } from '@keyward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/databases.js';
import { jsonOf, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough passphrase';

describe.each(ENGINES)('end to end on %s', (engine) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(engine);
  }, 60_000);
  afterAll(() => t?.close());

  const json = async (path: string, init: { method?: string; body?: unknown; authorization?: string } = {}) => {
    const res = await fetch(`${t.url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.authorization === undefined ? {} : { authorization: init.authorization }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  const whoami = (authorization: string) => json('/v1/whoami', { authorization });
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const oauth1 = (consumerKey: string, consumerSecret: string, extra: { token?: string; tokenSecret?: string } = {}) =>
    signOAuth1({
      method: 'GET',
      url: `${t.url}/v1/whoami`,
      consumerKey,
      consumerSecret,
      ...extra,
      nonce: randomBytes(16).toString('hex'),
      timestamp: Math.floor(Date.now() / 1000),
    }).authorization;
  const tokenFor = async (id: string, secret: string) => {
    const res = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    return { status: res.status, body: await jsonOf(res) };
  };

  it('takes a newcomer from registration to every method, then through rotation and revocation', async () => {
    const email = `e2e-${engine}@example.com`;
    const registered = await json('/v1/accounts', { body: { email, password: PASSWORD } });
    expect(registered.status).toBe(201);
    const accountId: string = registered.body.id;
    expect(registered.body).toMatchObject({ email, role: 'member' });

    const login = await json('/v1/sessions', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(201);
    const session = `Bearer ${login.body.token}`;
    const signedLogin = await json('/v1/sessions', { body: { email, password: PASSWORD, signed: true } });
    expect(signedLogin.status).toBe(201);
    expect(signedLogin.body.accountId).toBe(accountId);

    const created = await json('/v1/keys', { authorization: session, body: { name: 'e2e', scopes: ['read:orders'] } });
    expect(created.status).toBe(201);
    const { id, secret, token } = created.body as { id: string; secret: string; token: string };
    const keyPrincipal = (method: string) => ({ accountId, keyId: id, scopes: ['read:orders'], method });

    const issued = await tokenFor(id, secret);
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'read:orders' });

    // Every method, one principal each.
    expect(await whoami(basic(id, secret))).toEqual({ status: 200, body: { principal: keyPrincipal('basic') } });
    expect(await whoami(`Bearer ${token}`)).toEqual({ status: 200, body: { principal: keyPrincipal('api-key') } });
    expect(await whoami(oauth1(id, secret))).toEqual({ status: 200, body: { principal: keyPrincipal('oauth1') } });
    expect(await whoami(`Bearer ${issued.body.access_token}`)).toEqual({
      status: 200,
      body: { principal: keyPrincipal('oauth2') },
    });
    const viaSession = await whoami(session);
    expect(viaSession.status).toBe(200);
    expect(viaSession.body.principal).toMatchObject({ accountId, method: 'session', scopes: [] });
    expect(viaSession.body.principal.sessionId).toBe(login.body.session.id);
    const viaSigned = await whoami(
      oauth1(accountId, '', { token: signedLogin.body.token, tokenSecret: signedLogin.body.secret }),
    );
    expect(viaSigned.status).toBe(200);
    expect(viaSigned.body.principal).toMatchObject({
      accountId,
      method: 'signed-session',
      sessionId: signedLogin.body.session.id,
    });

    // Rotation: the new secret works at once, the old one through the grace period.
    const rotated = await json(`/v1/keys/${id}/rotate`, { authorization: session, body: {} });
    expect(rotated.status).toBe(200);
    const newSecret: string = rotated.body.secret;
    expect(newSecret).not.toBe(secret);
    expect((await whoami(basic(id, newSecret))).status).toBe(200);
    expect((await whoami(basic(id, secret))).status).toBe(200);
    expect((await whoami(oauth1(id, newSecret))).status).toBe(200);

    // Revocation: every credential of the key stops at once; the sessions go on.
    const revoked = await json(`/v1/keys/${id}`, { method: 'DELETE', authorization: session });
    expect(revoked.status).toBe(200);
    for (const authorization of [basic(id, newSecret), basic(id, secret), oauth1(id, newSecret)]) {
      const refused = await whoami(authorization);
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('key_revoked');
    }
    const revokedToken = await whoami(`Bearer ${rotated.body.token}`);
    expect(revokedToken.body.error.code).toBe('key_revoked');
    const deadAccessToken = await whoami(`Bearer ${issued.body.access_token}`);
    expect(deadAccessToken.status).toBe(401);
    expect(['token_invalid', 'key_revoked']).toContain(deadAccessToken.body.error.code);
    expect((await tokenFor(id, newSecret)).body.error).toBe('invalid_client');
    expect((await whoami(session)).status).toBe(200);

    // Nothing secret reached the server's log.
    const log = t.logs.join('\n');
    for (const s of [secret, newSecret, token, issued.body.access_token, login.body.token, signedLogin.body.secret]) {
      expect(log).not.toContain(s);
    }
    expect(log).not.toContain(PASSWORD);
  });
});
