// Accounts and sessions over HTTP, on SQLite and PostgreSQL: register, log in (plain and signed),
// call /v1/whoami with the session, list and end sessions, log out, change the password.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKeyId } from '../src/store/index.js';
import { client, logText, PASSWORD } from './support/accounts-api.js';
import { ENGINES } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

describe.each(ENGINES)('accounts and sessions over HTTP (%s)', (engine) => {
  let t: TestServer;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestServer(engine);
    api = client(t);
  });
  afterAll(() => t?.close());

  it('registers a member account and never shows its password', async () => {
    const answer = await api.call('POST', '/v1/accounts', {
      body: { email: '  Ada@Example.com ', password: PASSWORD, displayName: 'Ada' },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      id: expect.stringMatching(/^acc_/),
      email: 'ada@example.com',
      role: 'member',
      displayName: 'Ada',
      status: 'active',
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
    });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(JSON.stringify(answer.body)).not.toContain(PASSWORD);
    const again = await api.call('POST', '/v1/accounts', { body: { email: 'ada@example.com', password: PASSWORD } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('email_taken');
  });

  it('applies the store rules: password_rejected and invalid_input', async () => {
    const common = await api.call('POST', '/v1/accounts', {
      body: { email: 'p@example.com', password: 'password123' },
    });
    expect([common.status, common.body.error.code]).toEqual([400, 'password_rejected']);
    const short = await api.call('POST', '/v1/accounts', { body: { email: 'p@example.com', password: 'short' } });
    expect([short.status, short.body.error.code]).toEqual([400, 'password_rejected']);
    const email = await api.call('POST', '/v1/accounts', { body: { email: 'not-an-email', password: PASSWORD } });
    expect([email.status, email.body.error.code]).toEqual([400, 'invalid_input']);
    const name = await api.call('POST', '/v1/accounts', {
      body: { email: 'p@example.com', password: PASSWORD, displayName: '   ' },
    });
    expect([name.status, name.body.error.code]).toEqual([400, 'invalid_input']);
    const role = await api.call('POST', '/v1/accounts', {
      body: { email: 'p@example.com', password: PASSWORD, role: 'admin' },
    });
    expect([role.status, role.body.error.code]).toEqual([400, 'invalid_input']);
  });

  it('logs in with a plain session that works as a bearer token on /v1/whoami', async () => {
    const account = await api.register('bob@example.com');
    const before = t.server.context.clock.now();
    const login = await api.call('POST', '/v1/sessions', { body: { email: 'BOB@example.com', password: PASSWORD } });
    expect(login.status).toBe(201);
    expect(login.headers.get('cache-control')).toBe('no-store');
    const { token, accountId, session } = login.body;
    expect(token).toMatch(/^kw_st_/);
    expect(login.body.secret).toBeUndefined();
    expect(accountId).toBe(account.id);
    const { sessionIdleSeconds, sessionAbsoluteSeconds } = t.server.context.config;
    expect(session).toMatchObject({ signed: false, clientIp: '127.0.0.1', current: true });
    expect(session.expiresAt - session.createdAt).toBe(sessionAbsoluteSeconds * 1000);
    expect(session.idleExpiresAt - session.createdAt).toBe(sessionIdleSeconds * 1000);
    expect(session.createdAt).toBeGreaterThanOrEqual(before);

    const who = await api.call('GET', '/v1/whoami', { as: { token, accountId } });
    expect(who.status).toBe(200);
    expect(who.body.principal).toEqual({ accountId, sessionId: session.id, scopes: [], method: 'session' });

    const current = await api.call('GET', '/v1/sessions/current', { as: { token, accountId } });
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ id: session.id, signed: false, current: true });
    expect(JSON.stringify(current.body)).not.toContain(token);

    const me = await api.call('GET', '/v1/account', { as: { token, accountId } });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: account.id, email: 'bob@example.com', role: 'member' });
  });

  it('logs in with a signed session: every request signed as OAuth 1.0a, the token alone refused', async () => {
    const account = await api.register('carol@example.com');
    const login = await api.login('carol@example.com', { signed: true });
    expect(login.secret).toMatch(/^kw_ss_/);
    expect(login.session.signed).toBe(true);
    const who = await api.call('GET', '/v1/whoami', { as: login });
    expect(who.status).toBe(200);
    expect(who.body.principal).toEqual({
      accountId: account.id,
      sessionId: login.session.id,
      scopes: [],
      method: 'signed-session',
    });
    // The session routes take a signed session as well.
    const current = await api.call('GET', '/v1/sessions/current', { as: login });
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ id: login.session.id, signed: true });
    expect(JSON.stringify(current.body)).not.toContain(login.secret);
    // The token without a signature proves nothing.
    const bare = await api.call('GET', '/v1/whoami', { as: { token: login.token, accountId: account.id } });
    expect(bare.status).toBe(401);
    expect(bare.body.error.code).toBe('session_invalid');
    // A wrong session secret is refused.
    const forged = await api.call('GET', '/v1/whoami', {
      as: { ...login, secret: `${login.secret?.slice(0, -2)}xx` },
    });
    expect(forged.status).toBe(401);
  });

  it('lists my live sessions, ends my other ones and keeps this one, then logs out', async () => {
    await api.register('dan@example.com');
    const first = await api.login('dan@example.com');
    const second = await api.login('dan@example.com', { signed: true });
    const third = await api.login('dan@example.com');
    // Someone else's session is not mine to see or end.
    await api.register('eve@example.com');
    const eve = await api.login('eve@example.com');

    const list = await api.call('GET', '/v1/sessions', { as: second });
    expect(list.status).toBe(200);
    expect(list.body.sessions.map((s: { id: string }) => s.id).sort()).toEqual(
      [first.session.id, second.session.id, third.session.id].sort(),
    );
    expect(list.body.sessions.filter((s: { current: boolean }) => s.current)).toEqual([
      expect.objectContaining({ id: second.session.id, signed: true }),
    ]);
    const text = JSON.stringify(list.body);
    for (const secret of [first.token, second.token, second.secret, third.token]) expect(text).not.toContain(secret);

    const notMine = await api.call('DELETE', `/v1/sessions/${eve.session.id}`, { as: first });
    expect([notMine.status, notMine.body.error.code]).toEqual([404, 'not_found']);
    expect((await api.call('GET', '/v1/whoami', { as: eve })).status).toBe(200);
    const one = await api.call('DELETE', `/v1/sessions/${third.session.id}`, { as: first });
    expect(one.status).toBe(204);
    expect((await api.call('GET', '/v1/whoami', { as: third })).status).toBe(401);

    const others = await api.call('DELETE', '/v1/sessions', { as: second });
    expect(others.status).toBe(200);
    expect(others.body).toEqual({ ended: 1 });
    const refused = await api.call('GET', '/v1/whoami', { as: first });
    expect([refused.status, refused.body.error.code]).toEqual([401, 'session_invalid']);
    expect((await api.call('GET', '/v1/whoami', { as: second })).status).toBe(200);
    expect((await api.call('GET', '/v1/whoami', { as: eve })).status).toBe(200);
    const after = await api.call('GET', '/v1/sessions', { as: second });
    expect(after.body.sessions.map((s: { id: string }) => s.id)).toEqual([second.session.id]);

    const logout = await api.call('DELETE', '/v1/sessions/current', { as: second });
    expect(logout.status).toBe(204);
    expect(logout.body).toBeUndefined();
    const gone = await api.call('GET', '/v1/whoami', { as: second });
    expect([gone.status, gone.body.error.code]).toEqual([401, 'session_invalid']);
    expect((await api.call('GET', '/v1/sessions/current', { as: second })).status).toBe(401);

    const audit = await t.server.context.store.audit.list({ limit: 500 });
    const actions = audit.map((e) => e.action);
    expect(actions).toContain('session.create');
    expect(actions).toContain('session.revoke');
    expect(actions).toContain('session.revoke_others');
  });

  it('needs a session: no credentials is 401, an API key is 403', async () => {
    const account = await api.register('frank@example.com');
    const key = await t.server.context.store.keys.create(account.id, { name: 'k' }, { type: 'system' });
    if (!key.ok) throw new Error(key.code);
    const basic = { authorization: `Basic ${Buffer.from(`${key.value.id}:${key.value.secret}`).toString('base64')}` };
    for (const [method, path] of [
      ['GET', '/v1/sessions/current'],
      ['DELETE', '/v1/sessions/current'],
      ['GET', '/v1/sessions'],
      ['DELETE', '/v1/sessions'],
      ['GET', '/v1/account'],
      ['GET', '/v1/keys'],
    ] as const) {
      const none = await api.call(method, path);
      expect([none.status, none.body.error.code], `${method} ${path}`).toEqual([401, 'credentials_missing']);
      expect(none.headers.get('www-authenticate')).not.toBeNull();
      const withKey = await api.call(method, path, { as: basic });
      expect([withKey.status, withKey.body.error.code], `${method} ${path}`).toEqual([403, 'forbidden']);
    }
    const change = await api.call('POST', '/v1/account/password', {
      as: basic,
      body: { currentPassword: PASSWORD, newPassword: 'another good passphrase' },
    });
    expect([change.status, change.body.error.code]).toEqual([403, 'forbidden']);
  });

  it('changes the password: other sessions and access tokens end, this session and API keys stay', async () => {
    const account = await api.register('grace@example.com');
    const here = await api.login('grace@example.com');
    const there = await api.login('grace@example.com', { signed: true });
    const { store } = t.server.context;
    const key = await store.keys.create(account.id, { name: 'ci' }, { type: 'system' });
    if (!key.ok) throw new Error(key.code);
    const rawKeyId = parseKeyId(key.value.id) as string;
    const issued = await store.tokens.issue({ keyId: rawKeyId, accountId: account.id, scopes: [], ttlMs: 60_000 });
    if (!issued.ok) throw new Error(issued.code);
    const bearer = { authorization: `Bearer ${issued.value.token}` };
    // Verified once, so the verifier holds the token in its cache: the change must drop it.
    expect((await api.call('GET', '/v1/whoami', { as: bearer })).status).toBe(200);

    const wrong = await api.call('POST', '/v1/account/password', {
      as: here,
      body: { currentPassword: 'not my password at all', newPassword: 'a new good passphrase' },
    });
    expect([wrong.status, wrong.body.error.code]).toEqual([403, 'password_incorrect']);
    expect((await api.call('GET', '/v1/whoami', { as: there })).status).toBe(200);
    const weak = await api.call('POST', '/v1/account/password', {
      as: here,
      body: { currentPassword: PASSWORD, newPassword: 'password' },
    });
    expect([weak.status, weak.body.error.code]).toEqual([400, 'password_rejected']);

    const changed = await api.call('POST', '/v1/account/password', {
      as: here,
      body: { currentPassword: PASSWORD, newPassword: 'a new good passphrase' },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ sessionsEnded: 1, tokensRevoked: 1 });
    expect((await api.call('GET', '/v1/whoami', { as: here })).status).toBe(200);
    const ended = await api.call('GET', '/v1/whoami', { as: there });
    expect([ended.status, ended.body.error.code]).toEqual([401, 'session_invalid']);
    const token = await api.call('GET', '/v1/whoami', { as: bearer });
    expect([token.status, token.body.error.code]).toEqual([401, 'token_invalid']);
    const basic = { authorization: `Basic ${Buffer.from(`${key.value.id}:${key.value.secret}`).toString('base64')}` };
    expect((await api.call('GET', '/v1/whoami', { as: basic })).status).toBe(200);

    const old = await api.call('POST', '/v1/sessions', { body: { email: 'grace@example.com', password: PASSWORD } });
    expect([old.status, old.body.error.code]).toEqual([401, 'login_failed']);
    await api.login('grace@example.com', { password: 'a new good passphrase' });
    const events = await store.audit.list({ objectId: account.id });
    expect(events.map((e) => e.action)).toContain('account.password');
    expect(logText(t)).not.toContain('a new good passphrase');
  });

  it('keeps passwords, tokens and secrets out of the log', () => {
    const text = logText(t);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toMatch(/kw_(?:sk|key|at|st|ss)_[0-9A-Za-z]{40,}/);
    expect(text).toContain('login');
  });
});
