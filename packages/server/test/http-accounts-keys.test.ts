// Self-service API keys over HTTP, on SQLite and PostgreSQL: a logged-in account creates, lists,
// reads, changes, rotates and revokes its own keys; another account's key is a 404; reserved
// scopes are for admins; a secret shows once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, client, type Login, logText } from './support/accounts-api.js';
import { ENGINES } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const basic = (id: string, secret: string): Caller => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});

describe.each(ENGINES)('self-service keys over HTTP (%s)', (engine) => {
  let t: TestServer;
  let api: ReturnType<typeof client>;
  let ann: Login;
  let ben: Login;

  beforeAll(async () => {
    t = await startTestServer(engine, {}, { frozen: true });
    api = client(t);
    await api.register('ann@example.com');
    await api.register('ben@example.com');
    ann = await api.login('ann@example.com');
    ben = await api.login('ben@example.com', { signed: true });
  });
  afterAll(() => t?.close());

  it('creates a key whose secret shows once and works with Basic and as a bearer token', async () => {
    const created = await api.call('POST', '/v1/keys', {
      as: ann,
      body: {
        name: 'billing export',
        scopes: ['read:invoices', 'read:invoices', 'write:exports'],
        methods: ['basic', 'api-key'],
        expiresIn: 3600,
        metadata: { team: 'billing', tags: ['a', 'b'] },
        rateLimit: { limit: 100, windowSeconds: 60 },
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const { id, secret, token, key } = created.body;
    expect(id).toMatch(/^kw_kid_/);
    expect(secret).toMatch(/^kw_sk_/);
    expect(token).toMatch(/^kw_key_/);
    expect(key).toEqual({
      id,
      accountId: ann.accountId,
      name: 'billing export',
      scopes: ['read:invoices', 'write:exports'],
      methods: ['basic', 'api-key'],
      expiresAt: t.clock.t + 3600 * 1000,
      status: 'active',
      metadata: { team: 'billing', tags: ['a', 'b'] },
      rateLimit: { limit: 100, windowSeconds: 60 },
      createdAt: t.clock.t,
      updatedAt: t.clock.t,
      revokedAt: null,
      lastUsedAt: null,
      useCount: 0,
    });
    const who = await api.call('GET', '/v1/whoami', { as: basic(id, secret) });
    expect(who.status).toBe(200);
    expect(who.body.principal).toMatchObject({ accountId: ann.accountId, method: 'basic' });
    const bearer = await api.call('GET', '/v1/whoami', { as: { authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);

    // Never again: not in the list, not in the key, not in the log.
    const list = await api.call('GET', '/v1/keys', { as: ann });
    const one = await api.call('GET', `/v1/keys/${id}`, { as: ann });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(key);
    for (const answer of [list, one]) {
      expect(JSON.stringify(answer.body)).not.toContain(secret.slice(6));
      expect(JSON.stringify(answer.body)).not.toMatch(/kw_(sk|key)_/);
    }
    expect(logText(t)).not.toContain(secret.slice(6));
  });

  it('lists my keys only, oldest first, revoked ones on request', async () => {
    const mine = await api.call('POST', '/v1/keys', { as: ben, body: { name: 'ben one' } });
    t.clock.t += 1000;
    const second = await api.call('POST', '/v1/keys', {
      as: ben,
      body: { name: 'ben two', expiresAt: t.clock.t + 5000 },
    });
    expect(second.body.key.expiresAt).toBe(t.clock.t + 5000);
    await api.call('DELETE', `/v1/keys/${second.body.id}`, { as: ben });
    const list = await api.call('GET', '/v1/keys', { as: ben });
    expect(list.status).toBe(200);
    expect(list.body.keys.map((k: { name: string }) => k.name)).toEqual(['ben one']);
    const all = await api.call('GET', '/v1/keys?includeRevoked=true', { as: ben });
    expect(all.body.keys.map((k: { id: string; status: string }) => [k.id, k.status])).toEqual([
      [mine.body.id, 'active'],
      [second.body.id, 'revoked'],
    ]);
    const anns = await api.call('GET', '/v1/keys', { as: ann });
    expect(anns.body.keys.every((k: { accountId: string }) => k.accountId === ann.accountId)).toBe(true);
  });

  it('changes a key: settings, clearing with null, disabling and enabling', async () => {
    const created = await api.call('POST', '/v1/keys', {
      as: ann,
      body: { name: 'to change', methods: ['basic'], expiresIn: 60, rateLimit: { limit: 5, windowSeconds: 1 } },
    });
    const { id, secret } = created.body;
    const patched = await api.call('PATCH', `/v1/keys/${id}`, {
      as: ann,
      body: {
        name: 'changed',
        scopes: ['read:x'],
        methods: null,
        expiresAt: null,
        rateLimit: null,
        metadata: { a: 1 },
      },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      name: 'changed',
      scopes: ['read:x'],
      methods: null,
      expiresAt: null,
      rateLimit: null,
      metadata: { a: 1 },
      status: 'active',
    });
    const disabled = await api.call('PATCH', `/v1/keys/${id}`, { as: ann, body: { enabled: false } });
    expect(disabled.body.status).toBe('disabled');
    const refused = await api.call('GET', '/v1/whoami', { as: basic(id, secret) });
    expect([refused.status, refused.body.error.code]).toEqual([401, 'key_disabled']);
    const enabled = await api.call('PATCH', `/v1/keys/${id}`, { as: ann, body: { enabled: true, expiresIn: 120 } });
    expect(enabled.body).toMatchObject({ status: 'active', expiresAt: t.clock.t + 120_000 });
    expect((await api.call('GET', '/v1/whoami', { as: basic(id, secret) })).status).toBe(200);
  });

  it('rotates: the new secret shows once, the old one works through the grace period, then not', async () => {
    const created = await api.call('POST', '/v1/keys', { as: ann, body: { name: 'rotating' } });
    const { id, secret: oldSecret } = created.body;
    const rotated = await api.call('POST', `/v1/keys/${id}/rotate`, { as: ann, body: { graceSeconds: 600 } });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    expect(rotated.body).toMatchObject({ id, graceSeconds: 600, key: { id, status: 'active' } });
    const newSecret = rotated.body.secret;
    expect(newSecret).toMatch(/^kw_sk_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(rotated.body.token).toMatch(/^kw_key_/);
    expect((await api.call('GET', '/v1/whoami', { as: basic(id, newSecret) })).status).toBe(200);
    expect((await api.call('GET', '/v1/whoami', { as: basic(id, oldSecret) })).status).toBe(200);
    t.clock.t += 601_000;
    // The sessions' idle expiry must not end the test's sessions meanwhile.
    ann = await api.login('ann@example.com');
    ben = await api.login('ben@example.com', { signed: true });
    const late = await api.call('GET', '/v1/whoami', { as: basic(id, oldSecret) });
    expect([late.status, late.body.error.code]).toEqual([401, 'key_unknown']);
    expect((await api.call('GET', '/v1/whoami', { as: basic(id, newSecret) })).status).toBe(200);

    // Default grace: 24 hours; no body at all is fine.
    const again = await api.call('POST', `/v1/keys/${id}/rotate`, { as: ann });
    expect(again.status).toBe(200);
    expect(again.body.graceSeconds).toBe(86_400);
    expect((await api.call('GET', '/v1/whoami', { as: basic(id, newSecret) })).status).toBe(200);
    expect((await api.call('GET', '/v1/whoami', { as: basic(id, again.body.secret) })).status).toBe(200);
  });

  it('revokes: every method refuses the key with key_revoked, and a revoked key cannot change', async () => {
    const created = await api.call('POST', '/v1/keys', { as: ben, body: { name: 'doomed' } });
    const { id, secret, token } = created.body;
    expect((await api.call('GET', '/v1/whoami', { as: basic(id, secret) })).status).toBe(200);
    const revoked = await api.call('DELETE', `/v1/keys/${id}`, { as: ben });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, status: 'revoked', revokedAt: t.clock.t });
    const refused = await api.call('GET', '/v1/whoami', { as: basic(id, secret) });
    expect([refused.status, refused.body.error.code]).toEqual([401, 'key_revoked']);
    const bearer = await api.call('GET', '/v1/whoami', { as: { authorization: `Bearer ${token}` } });
    expect([bearer.status, bearer.body.error.code]).toEqual([401, 'key_revoked']);
    // Idempotent; still readable; no longer changeable or rotatable.
    expect((await api.call('DELETE', `/v1/keys/${id}`, { as: ben })).status).toBe(200);
    expect((await api.call('GET', `/v1/keys/${id}`, { as: ben })).body.status).toBe('revoked');
    for (const [method, path, body] of [
      ['PATCH', `/v1/keys/${id}`, { name: 'x' }],
      ['PATCH', `/v1/keys/${id}`, { enabled: false }],
      ['POST', `/v1/keys/${id}/rotate`, {}],
    ] as const) {
      const answer = await api.call(method, path, { as: ben, body });
      expect([answer.status, answer.body.error.code], `${method} ${path}`).toEqual([409, 'invalid_state']);
    }
  });

  it("answers another account's key exactly like a key that does not exist: 404 key_not_found", async () => {
    const created = await api.call('POST', '/v1/keys', { as: ben, body: { name: "ben's" } });
    const { id, secret } = created.body;
    const unknown = 'kw_kid_0000000000000000000000';
    for (const target of [id, unknown, 'not-a-key-id']) {
      for (const [method, path, body] of [
        ['GET', `/v1/keys/${target}`, undefined],
        ['PATCH', `/v1/keys/${target}`, { name: 'mine now' }],
        ['DELETE', `/v1/keys/${target}`, undefined],
        ['POST', `/v1/keys/${target}/rotate`, {}],
      ] as const) {
        const answer = await api.call(method, path, { as: ann, body });
        expect([answer.status, answer.body.error.code], `${method} ${path}`).toEqual([404, 'key_not_found']);
        expect(answer.body.error.message).toBe('No key has this id.');
      }
    }
    const still = await api.call('GET', `/v1/keys/${id}`, { as: ben });
    expect(still.body).toMatchObject({ name: "ben's", status: 'active' });
    expect((await api.call('GET', '/v1/whoami', { as: basic(id, secret) })).status).toBe(200);
  });

  it('keeps keyward: scopes for admin accounts', async () => {
    for (const scopes of [['keyward:admin'], ['read:x', 'keyward:verify'], ['KEYWARD:admin']]) {
      const answer = await api.call('POST', '/v1/keys', { as: ann, body: { name: 'sneaky', scopes } });
      expect([answer.status, answer.body.error.code], scopes.join(' ')).toEqual([403, 'forbidden']);
    }
    const plain = await api.call('POST', '/v1/keys', { as: ann, body: { name: 'plain' } });
    const patched = await api.call('PATCH', `/v1/keys/${plain.body.id}`, {
      as: ann,
      body: { scopes: ['keyward:admin'] },
    });
    expect([patched.status, patched.body.error.code]).toEqual([403, 'forbidden']);
    expect((await api.call('GET', `/v1/keys/${plain.body.id}`, { as: ann })).body.scopes).toEqual([]);

    const root = await api.admin('root@example.com');
    const adminKey = await api.call('POST', '/v1/keys', {
      as: root,
      body: { name: 'ops', scopes: ['keyward:admin', 'keyward:verify'] },
    });
    expect(adminKey.status).toBe(201);
    expect(adminKey.body.key.scopes).toEqual(['keyward:admin', 'keyward:verify']);

    // A scope an admin granted on a member's key may stay when the member changes the others.
    const { store } = t.server.context;
    const granted = await store.keys.update(plain.body.id, { scopes: ['keyward:verify'] }, { type: 'system' });
    expect(granted.ok).toBe(true);
    const kept = await api.call('PATCH', `/v1/keys/${plain.body.id}`, {
      as: ann,
      body: { scopes: ['keyward:verify', 'read:y'] },
    });
    expect(kept.status).toBe(200);
    expect(kept.body.scopes).toEqual(['keyward:verify', 'read:y']);
    const more = await api.call('PATCH', `/v1/keys/${plain.body.id}`, {
      as: ann,
      body: { scopes: ['keyward:verify', 'keyward:admin'] },
    });
    expect([more.status, more.body.error.code]).toEqual([403, 'forbidden']);
  });

  it('applies the store rules for keys with their codes', async () => {
    const cases: [unknown, number, string][] = [
      [{ name: '   ' }, 400, 'invalid_input'],
      [{ name: 'x', scopes: ['has space'] }, 400, 'scope_invalid'],
      [{ name: 'x', scopes: Array.from({ length: 33 }, (_, i) => `s${i}`) }, 400, 'scope_invalid'],
      [{ name: 'x', metadata: { blob: 'x'.repeat(5000) } }, 400, 'metadata_too_large'],
      [{ name: 'x', expiresAt: t.clock.t - 1 }, 400, 'expiry_invalid'],
      [{ name: 'x', expiresAt: t.clock.t + 10_000, expiresIn: 10 }, 400, 'invalid_input'],
      [{ name: 'x', methods: ['telepathy'] }, 400, 'invalid_input'],
      [{ name: 'x', methods: [] }, 400, 'invalid_input'],
      [{ name: 'x', rateLimit: { limit: 0, windowSeconds: 1 } }, 400, 'invalid_input'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await api.call('POST', '/v1/keys', { as: ann, body });
      expect([answer.status, answer.body.error.code], JSON.stringify(body).slice(0, 80)).toEqual([status, code]);
    }
  });
});
