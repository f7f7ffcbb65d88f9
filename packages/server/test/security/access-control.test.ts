// Attack suite, cases that held on 5713fb4 (issue 16): access control over real HTTP. One
// account's session or key cannot read, change, rotate, revoke or list another account's keys,
// sessions or tokens (IDOR); bodies cannot assign what the server decides (role, owner, status,
// ids, counters); `keyward:` scopes are an admin's to grant; members and plain keys get nothing
// from the admin API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, client, counts, type Login } from '../support/accounts-api.js';
import { basicAuth, getToken, post } from '../support/oauth.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { UNLIMITED } from './attack-kit.js';

const PASSWORD = 'attack suite passphrase 7f3a9c e4d1';

let t: TestServer;
let api: ReturnType<typeof client>;
let ann: Login;
let ben: Login;
let annKey: { id: string; secret: string; token: string };
let benKey: { id: string; secret: string; token: string };
const basic = (k: { id: string; secret: string }): Caller => ({
  authorization: `Basic ${Buffer.from(`${k.id}:${k.secret}`).toString('base64')}`,
});

beforeAll(async () => {
  t = await startTestServer('sqlite', UNLIMITED);
  api = client(t);
  await api.register('ann@example.com', PASSWORD);
  await api.register('ben@example.com', PASSWORD);
  ann = await api.login('ann@example.com', { password: PASSWORD });
  ben = await api.login('ben@example.com', { password: PASSWORD, signed: true });
  const a = await api.call('POST', '/v1/keys', { as: ann, body: { name: 'ann key', scopes: ['read:orders'] } });
  const b = await api.call('POST', '/v1/keys', { as: ben, body: { name: 'ben key', scopes: ['read:orders'] } });
  expect([a.status, b.status]).toEqual([201, 201]);
  annKey = a.body;
  benKey = b.body;
});
afterAll(async () => {
  await t?.close();
});

describe('IDOR: one account cannot reach another', () => {
  it("ann's session cannot read, change, rotate or revoke ben's key, and changes nothing trying", async () => {
    const before = await counts(t);
    for (const [method, path, body] of [
      ['GET', `/v1/keys/${benKey.id}`, undefined],
      ['PATCH', `/v1/keys/${benKey.id}`, { name: 'mine', scopes: ['write:orders'] }],
      ['PATCH', `/v1/keys/${benKey.id}`, { enabled: false }],
      ['DELETE', `/v1/keys/${benKey.id}`, undefined],
      ['POST', `/v1/keys/${benKey.id}/rotate`, {}],
    ] as const) {
      const answer = await api.call(method, path, { as: ann, body });
      expect([answer.status, answer.body?.error?.code], `${method} ${path}`).toEqual([404, 'key_not_found']);
      expect(JSON.stringify(answer.body)).not.toContain('ben key');
    }
    expect(await counts(t)).toEqual(before);
    const still = await api.call('GET', '/v1/whoami', { as: basic(benKey) });
    expect(still.status).toBe(200);
    expect(still.body.principal.accountId).toBe(ben.accountId);
  });

  it('lists show only my own keys and sessions', async () => {
    const keys = await api.call('GET', '/v1/keys', { as: ann });
    expect(keys.status).toBe(200);
    const listed = JSON.stringify(keys.body);
    expect(listed).toContain(annKey.id);
    expect(listed).not.toContain(benKey.id);
    const sessions = await api.call('GET', '/v1/sessions', { as: ann });
    expect(sessions.status).toBe(200);
    for (const s of sessions.body.sessions) expect(s.accountId).toBe(ann.accountId);
    expect(JSON.stringify(sessions.body)).not.toContain(ben.session.id);
    // Query parameters naming another account are not filters the server honours.
    const sneaky = await api.call('GET', `/v1/keys?accountId=${ben.accountId}`, { as: ann });
    expect(JSON.stringify(sneaky.body)).not.toContain(benKey.id);
  });

  it("ann cannot end ben's session by id; ben's session keeps working", async () => {
    const answer = await api.call('DELETE', `/v1/sessions/${ben.session.id}`, { as: ann });
    expect(answer.status).toBe(404);
    const benNow = await api.call('GET', '/v1/sessions/current', { as: ben });
    expect(benNow.status).toBe(200);
    expect(benNow.body.id ?? benNow.body.session?.id).toBe(ben.session.id);
    // Ending "my other sessions" ends none of ben's.
    const others = await api.call('DELETE', '/v1/sessions', { as: ann });
    expect(others.status).toBe(200);
    expect((await api.call('GET', '/v1/sessions/current', { as: ben })).status).toBe(200);
  });

  it("ann's key cannot revoke or introspect ben's access token", async () => {
    const benToken = await getToken(t, benKey);
    const revoke = await post(
      t,
      '/oauth/revoke',
      { token: benToken },
      { authorization: basicAuth(annKey.id, annKey.secret) },
    );
    expect(revoke.status).toBe(200);
    const intro = await post(
      t,
      '/oauth/introspect',
      { token: benToken },
      { authorization: basicAuth(annKey.id, annKey.secret) },
    );
    expect(await intro.json()).toEqual({ active: false });
    const still = await api.call('GET', '/v1/whoami', { as: { authorization: `Bearer ${benToken}` } });
    expect(still.status).toBe(200);
    expect(still.body.principal.accountId).toBe(ben.accountId);
  });

  it('a key is not a session: it cannot list, make or change keys or sessions', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/keys', undefined],
      ['POST', '/v1/keys', { name: 'from a key' }],
      ['GET', `/v1/keys/${annKey.id}`, undefined],
      ['DELETE', `/v1/keys/${annKey.id}`, undefined],
      ['GET', '/v1/sessions', undefined],
      ['POST', '/v1/account/password', { currentPassword: PASSWORD, newPassword: 'another passphrase 1234 abcd' }],
    ] as const) {
      const answer = await api.call(method, path, { as: basic(annKey), body });
      expect([401, 403], `${method} ${path}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
    }
    expect((await api.call('GET', `/v1/keys/${annKey.id}`, { as: ann })).body.status).toBe('active');
  });

  it('members, their keys and verify keys get nothing from the admin API', async () => {
    const root = await api.admin('root@example.com');
    const verifyKey = await api.call('POST', '/v1/keys', {
      as: root,
      body: { name: 'verify only', scopes: ['keyward:verify'] },
    });
    expect(verifyKey.status).toBe(201);
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/admin/accounts'],
      ['GET', `/v1/admin/accounts/${ben.accountId}`],
      ['DELETE', `/v1/admin/accounts/${ben.accountId}`],
      ['GET', `/v1/admin/accounts/${ben.accountId}/keys`],
      ['GET', `/v1/admin/accounts/${ben.accountId}/sessions`],
      ['GET', `/v1/admin/accounts/${ben.accountId}/tokens`],
      ['GET', `/v1/admin/keys/${benKey.id}`],
      ['PATCH', `/v1/admin/keys/${benKey.id}`, { name: 'x' }],
      ['POST', `/v1/admin/keys/${benKey.id}/revoke`, {}],
      ['POST', `/v1/admin/keys/${benKey.id}/rotate`, {}],
      ['GET', `/v1/admin/keys/${benKey.id}/tokens`],
      ['GET', `/v1/admin/keys/${benKey.id}/usage`],
      ['DELETE', `/v1/admin/sessions/${ben.session.id}`],
      ['GET', '/v1/admin/audit'],
    ];
    const before = await counts(t);
    for (const as of [ann, basic(annKey), basic(verifyKey.body)] as Caller[]) {
      for (const [method, path, body] of routes) {
        const answer = await api.call(method, path, { as, body });
        expect([answer.status, answer.body?.error?.code], `${method} ${path}`).toEqual([403, 'insufficient_scope']);
      }
    }
    const { audit_events: _a, ...rest } = await counts(t);
    const { audit_events: _b, ...was } = before;
    expect(rest).toEqual(was);
    expect((await api.call('GET', '/v1/whoami', { as: basic(benKey) })).status).toBe(200);
  });
});

describe('mass assignment', () => {
  it('registration cannot choose role, status, id or timestamps', async () => {
    for (const extra of [
      { role: 'admin' },
      { status: 'disabled' },
      { id: 'acc_chosen' },
      { createdAt: 0 },
      { passwordHash: 'x' },
      { constructor: { prototype: { role: 'admin' } } },
    ]) {
      const email = `mass-${Math.random().toString(36).slice(2)}@example.com`;
      const answer = await api.call('POST', '/v1/accounts', { body: { email, password: PASSWORD, ...extra } });
      if (answer.status === 201) {
        expect(answer.body.role, JSON.stringify(extra)).toBe('member');
        expect(answer.body.status).toBe('active');
        expect(answer.body.id).not.toBe('acc_chosen');
      } else {
        expect(answer.status, JSON.stringify(extra)).toBe(400);
      }
      const account = await t.server.context.store.accounts.find(email);
      if (account !== undefined) expect(account.role).toBe('member');
    }
    const proto = await api.call('POST', '/v1/accounts', {
      raw: {
        text: `{"email":"proto-${Date.now()}@example.com","password":"${PASSWORD}","__proto__":{"role":"admin"}}`,
        type: 'application/json',
      },
    });
    expect([400, 201]).toContain(proto.status);
    if (proto.status === 201) expect(proto.body.role).toBe('member');
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });

  it('a key body cannot name its owner, id, status, counters or secret; a PATCH cannot move a key', async () => {
    for (const extra of [
      { accountId: ben.accountId },
      { id: 'kw_kid_chosen000000000000000' },
      { secret: 'kw_sk_chosen' },
      { useCount: 1_000_000 },
      { revokedAt: null, status: 'active', createdAt: 0 },
    ]) {
      const answer = await api.call('POST', '/v1/keys', { as: ann, body: { name: 'mass', ...extra } });
      if (answer.status === 201) {
        expect(answer.body.key.accountId).toBe(ann.accountId);
        expect(answer.body.id).not.toBe('kw_kid_chosen000000000000000');
        expect(answer.body.secret).not.toBe('kw_sk_chosen');
        expect(answer.body.key.useCount).toBe(0);
      } else {
        expect([answer.status, answer.body.error.code], JSON.stringify(extra)).toEqual([400, 'invalid_input']);
      }
    }
    for (const extra of [{ accountId: ben.accountId }, { id: benKey.id }, { useCount: 9 }, { secret: 'x' }]) {
      const answer = await api.call('PATCH', `/v1/keys/${annKey.id}`, { as: ann, body: { name: 'moved', ...extra } });
      expect(answer.status, JSON.stringify(extra)).toBe(400);
    }
    const mine = await api.call('GET', `/v1/keys/${annKey.id}`, { as: ann });
    expect(mine.body).toMatchObject({ accountId: ann.accountId, name: 'ann key', useCount: expect.any(Number) });
    const benList = await api.call('GET', '/v1/keys', { as: ben });
    expect(JSON.stringify(benList.body)).not.toContain(annKey.id);
  });

  it('login cannot ask for a longer session or another account', async () => {
    const answer = await api.call('POST', '/v1/sessions', {
      body: { email: 'ann@example.com', password: PASSWORD, accountId: ben.accountId, expiresAt: 9e15 },
    });
    expect(answer.status).toBe(400);
  });
});

describe('reserved keyward: scopes', () => {
  it('a member cannot put a keyward: scope on a key, in any case or disguise', async () => {
    for (const scopes of [['keyward:admin'], ['KeyWard:Admin'], ['read', 'keyward:verify'], ['keyward:']]) {
      const answer = await api.call('POST', '/v1/keys', { as: ann, body: { name: 'x', scopes } });
      expect(answer.status, scopes.join(' ')).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    }
    const patch = await api.call('PATCH', `/v1/keys/${annKey.id}`, { as: ann, body: { scopes: ['keyward:admin'] } });
    expect([patch.status, patch.body.error.code]).toEqual([403, 'forbidden']);
  });

  it('the token endpoint never grants a scope the key lacks, keyward: or other', async () => {
    for (const scope of ['keyward:admin', 'keyward:verify', 'read:orders keyward:admin', 'write:orders']) {
      const res = await post(
        t,
        '/oauth/token',
        { grant_type: 'client_credentials', scope },
        { authorization: basicAuth(annKey.id, annKey.secret) },
      );
      expect(res.status, scope).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_scope');
    }
    const token = await getToken(t, annKey, { scope: 'read:orders' });
    const verify = await api.call('POST', '/v1/verify', {
      as: { authorization: `Bearer ${token}` },
      body: { method: 'GET', url: '/', headers: {}, remoteAddress: '127.0.0.1' },
    });
    expect([verify.status, verify.body.error.code]).toEqual([403, 'insufficient_scope']);
  });
});
