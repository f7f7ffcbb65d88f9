// The admin API on both engines: who may call it, and every endpoint's happy path and refusals,
// over real sockets. Accounts, keys, sessions and tokens are made through the store, so that
// these tests depend on no other endpoint than the one under test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SCOPE } from '../src/http/context.js';
import { type Account, type IssuedKey, parseKeyId } from '../src/store/index.js';
import { ENGINES } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const SECRET = /kw_(?:sk|key|at|st|ss)_[0-9A-Za-z]{40,}/;
const system = { type: 'system' as const };

const basic = (key: IssuedKey) => `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}`;

describe.each(ENGINES)('admin API on %s', (engine) => {
  let t: TestServer;
  let admin: Account;
  let adminKey: IssuedKey;
  let adminSession: string;
  let member: Account;
  let memberKey: IssuedKey;
  let memberSession: string;

  async function account(email: string, role: 'admin' | 'member' = 'member'): Promise<Account> {
    const made = await t.server.context.store.accounts.create(
      { email, password: 'correct horse battery', role },
      system,
    );
    if (!made.ok) throw new Error(made.code);
    return made.value;
  }
  async function key(accountId: string, scopes: string[] = [], name = 'k'): Promise<IssuedKey> {
    const made = await t.server.context.store.keys.create(accountId, { name, scopes }, system);
    if (!made.ok) throw new Error(made.code);
    return made.value;
  }
  async function session(accountId: string): Promise<string> {
    const made = await t.server.context.store.sessions.create({ accountId, clientIp: '127.0.0.1' });
    if (!made.ok) throw new Error(made.code);
    return `Bearer ${made.value.token}`;
  }

  async function call(
    method: string,
    path: string,
    options: { auth?: string; body?: unknown; raw?: string; type?: string } = {},
    // biome-ignore lint/suspicious/noExplicitAny: JSON responses of many shapes, checked by the assertions
  ): Promise<{ status: number; body: any; headers: Headers; text: string }> {
    const headers: Record<string, string> = {};
    if (options.auth !== undefined) headers.authorization = options.auth;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = options.type ?? 'application/json';
    const res = await fetch(`${t.url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, headers: res.headers, text };
  }
  const asAdmin = (method: string, path: string, options: { body?: unknown; raw?: string; type?: string } = {}) =>
    call(method, path, { auth: basic(adminKey), ...options });

  beforeAll(async () => {
    t = await startTestServer(engine);
    admin = await account('root@example.com', 'admin');
    adminKey = await key(admin.id, [ADMIN_SCOPE], 'admin key');
    adminSession = await session(admin.id);
    member = await account('member@example.com');
    memberKey = await key(member.id, [], 'member key');
    memberSession = await session(member.id);
  });
  afterAll(async () => {
    // Nothing secret reached the server's log, whatever the tests did.
    const leaked = t?.logs.filter((line) => SECRET.test(line)) ?? [];
    await t?.close();
    expect(leaked).toEqual([]);
  });

  describe('who may call it', () => {
    it('lets an admin in through an admin key and through an admin session', async () => {
      expect((await call('GET', '/v1/admin/accounts', { auth: basic(adminKey) })).status).toBe(200);
      expect((await call('GET', '/v1/admin/accounts', { auth: `Bearer ${adminKey.token}` })).status).toBe(200);
      expect((await call('GET', '/v1/admin/accounts', { auth: adminSession })).status).toBe(200);
    });

    it('answers 401 without credentials, 403 to members and to keys without the admin scope', async () => {
      const none = await call('GET', '/v1/admin/accounts');
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('credentials_missing');
      expect(none.headers.get('www-authenticate')).not.toBeNull();
      // Without the admin scope: 403 insufficient_scope, as any scope check answers.
      for (const auth of [memberSession, basic(memberKey)]) {
        const res = await call('GET', '/v1/admin/accounts', { auth });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('insufficient_scope');
      }
      const session = await call('GET', '/v1/admin/accounts', { auth: memberSession });
      expect(session.headers.get('www-authenticate')).toBe(
        'Bearer realm="keyward", error="insufficient_scope", scope="keyward:admin"',
      );
      // An admin's key without the scope; and a member's key that somehow holds it, which has
      // the scope but not the account: 403 forbidden.
      const plain = await key(admin.id, [], 'no scope');
      const smuggled = await key(member.id, [ADMIN_SCOPE], 'smuggled');
      for (const [k, code] of [
        [plain, 'insufficient_scope'],
        [smuggled, 'forbidden'],
      ] as const) {
        const res = await call('GET', '/v1/admin/accounts', { auth: basic(k) });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe(code);
      }
    });

    it('checks who calls before it looks at the input (403, not 400, to a member sending junk)', async () => {
      const res = await call('PATCH', `/v1/admin/keys/${memberKey.id}`, { auth: basic(memberKey), body: { nope: 1 } });
      expect(res.status).toBe(403);
    });
  });

  describe('accounts', () => {
    it('lists with search and cursor pagination, oldest first', async () => {
      for (let i = 0; i < 5; i++) await account(`page-${i}@list.example`);
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const q: string = `?search=list.example&limit=2${after === null ? '' : `&after=${after}`}`;
        const res = await asAdmin('GET', `/v1/admin/accounts${q}`);
        expect(res.status).toBe(200);
        expect(res.body.accounts.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.accounts.map((a: Account) => a.email));
        after = res.body.next;
        pages++;
      } while (after !== null && pages < 10);
      expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `page-${i}@list.example`));
      expect(pages).toBe(3);
      const all = await asAdmin('GET', '/v1/admin/accounts');
      expect(all.body.accounts.map((a: Account) => a.email)).toEqual(expect.arrayContaining(['root@example.com']));
      expect(all.text).not.toMatch(/password|hash/i);
    });

    it('refuses bad listing input with 400 and a code', async () => {
      for (const q of [
        'limit=0',
        'limit=201',
        'limit=abc',
        'limit=1&limit=2',
        'nope=1',
        'after=acc_unknownunknownunknown1',
        'search=',
      ]) {
        const res = await asAdmin('GET', `/v1/admin/accounts?${q}`);
        expect(res.status, q).toBe(400);
        expect(res.body.error.code, q).toBe('invalid_input');
      }
    });

    it('gets an account by id or email, 404 otherwise', async () => {
      expect((await asAdmin('GET', `/v1/admin/accounts/${member.id}`)).body.account).toEqual(member);
      expect((await asAdmin('GET', '/v1/admin/accounts/member@example.com')).body.account.id).toBe(member.id);
      const missing = await asAdmin('GET', '/v1/admin/accounts/acc_nobody');
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('account_not_found');
    });

    it('disables an account (its keys stop at once) and enables it again', async () => {
      const who = await account('toggle@example.com');
      const k = await key(who.id);
      expect((await call('GET', '/v1/whoami', { auth: basic(k) })).status).toBe(200);
      const off = await asAdmin('POST', `/v1/admin/accounts/${who.id}/disable`);
      expect(off.status).toBe(200);
      expect(off.body.account.status).toBe('disabled');
      expect((await call('GET', '/v1/whoami', { auth: basic(k) })).status).toBe(401);
      const on = await asAdmin('POST', `/v1/admin/accounts/${who.id}/enable`);
      expect(on.body.account.status).toBe('active');
      expect((await call('GET', '/v1/whoami', { auth: basic(k) })).status).toBe(200);
      expect((await asAdmin('POST', '/v1/admin/accounts/acc_nobody/disable')).status).toBe(404);
    });

    it('refuses to let an admin disable or delete itself', async () => {
      for (const [method, path] of [
        ['POST', `/v1/admin/accounts/${admin.id}/disable`],
        ['DELETE', `/v1/admin/accounts/${admin.id}`],
      ] as const) {
        const res = await call(method, path, { auth: adminSession });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
      expect((await asAdmin('GET', `/v1/admin/accounts/${admin.id}`)).body.account.status).toBe('active');
    });

    it('deletes an account with everything it owns in one go, keeping the audit trail', async () => {
      const { store } = t.server.context;
      const doomed = await account('doomed@example.com');
      const k = await key(doomed.id);
      const s = await session(doomed.id);
      const issued = await store.tokens.issue({
        keyId: parseKeyId(k.id) as string,
        accountId: doomed.id,
        scopes: [],
        ttlMs: 60_000,
      });
      if (!issued.ok) throw new Error(issued.code);
      expect((await call('GET', '/v1/whoami', { auth: basic(k) })).status).toBe(200);
      expect((await call('GET', '/v1/whoami', { auth: `Bearer ${issued.value.token}` })).status).toBe(200);

      const res = await asAdmin('DELETE', `/v1/admin/accounts/${doomed.id}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ account: doomed, removed: { keys: 1, sessions: 1, tokens: 1 } });
      for (const auth of [basic(k), s, `Bearer ${issued.value.token}`])
        expect((await call('GET', '/v1/whoami', { auth })).status).toBe(401);
      expect((await asAdmin('GET', `/v1/admin/accounts/${doomed.id}`)).status).toBe(404);
      expect((await asAdmin('DELETE', `/v1/admin/accounts/${doomed.id}`)).status).toBe(404);
      const events = await asAdmin('GET', `/v1/admin/audit?object=${doomed.id}`);
      expect(events.body.events.map((e: { action: string }) => e.action)).toEqual(['account.delete', 'account.create']);
      expect(events.body.events[0].actor).toEqual({ type: 'key', id: adminKey.id });
      // The email address is free again.
      expect(
        (await store.accounts.create({ email: 'doomed@example.com', password: 'correct horse battery' }, system)).ok,
      ).toBe(true);
    });
  });

  describe('keys', () => {
    it("lists an account's keys and gets one, never with a secret", async () => {
      const list = await asAdmin('GET', `/v1/admin/accounts/${member.id}/keys`);
      expect(list.status).toBe(200);
      expect(list.body.keys.map((k: { id: string }) => k.id)).toContain(memberKey.id);
      expect(list.text).not.toMatch(SECRET);
      const one = await asAdmin('GET', `/v1/admin/keys/${memberKey.id}`);
      expect(one.body.key).toMatchObject({ id: memberKey.id, accountId: member.id, name: 'member key' });
      expect((await asAdmin('GET', '/v1/admin/keys/kw_kid_nope')).body.error.code).toBe('key_not_found');
      expect((await asAdmin('GET', '/v1/admin/accounts/acc_nobody/keys')).status).toBe(404);
    });

    it('updates a key, and keeps reserved scopes for admin accounts', async () => {
      const k = await key(member.id, [], 'to update');
      const res = await asAdmin('PATCH', `/v1/admin/keys/${k.id}`, {
        body: {
          name: 'renamed',
          scopes: ['read:orders'],
          metadata: { team: 'a' },
          rateLimit: { limit: 5, windowSeconds: 60 },
        },
      });
      expect(res.status).toBe(200);
      expect(res.body.key).toMatchObject({
        name: 'renamed',
        scopes: ['read:orders'],
        metadata: { team: 'a' },
        rateLimit: { limit: 5, windowSeconds: 60 },
      });
      // A member's key cannot be given Keyward's own scopes, in any case, by anyone: 403, as when
      // the member asks on /v1/keys.
      for (const scope of ['keyward:verify', 'KEYWARD:admin']) {
        const reserved = await asAdmin('PATCH', `/v1/admin/keys/${k.id}`, { body: { scopes: [scope] } });
        expect([reserved.status, reserved.body.error.code], scope).toEqual([403, 'forbidden']);
      }
      // An admin account's key can.
      const own = await key(admin.id, [], 'admin-owned');
      const granted = await asAdmin('PATCH', `/v1/admin/keys/${own.id}`, { body: { scopes: ['keyward:verify'] } });
      expect(granted.body.key.scopes).toEqual(['keyward:verify']);
      const past = await asAdmin('PATCH', `/v1/admin/keys/${k.id}`, { body: { expiresAt: 1 } });
      expect(past.body.error.code).toBe('expiry_invalid');
    });

    it('refuses bad bodies with 4xx and a code, and changes nothing', async () => {
      const k = await key(member.id, [], 'untouched');
      const path = `/v1/admin/keys/${k.id}`;
      const cases: [string, { raw: string; type?: string }, number, string][] = [
        ['text/plain', { raw: 'name=x', type: 'text/plain' }, 415, 'media_type_unsupported'],
        ['form', { raw: 'name=x', type: 'application/x-www-form-urlencoded' }, 415, 'media_type_unsupported'],
        ['not JSON', { raw: '{"name":' }, 400, 'invalid_input'],
        ['empty', { raw: '' }, 400, 'invalid_input'],
        ['duplicated field', { raw: '{"name":"a","name":"b"}' }, 400, 'invalid_input'],
        ['escaped duplicate', { raw: '{"name":"a","n\\u0061me":"b"}' }, 400, 'invalid_input'],
        ['__proto__', { raw: '{"metadata":{"__proto__":{"x":1}}}' }, 400, 'invalid_input'],
        ['constructor.prototype', { raw: '{"metadata":{"constructor":{"prototype":{}}}}' }, 400, 'invalid_input'],
        ['array for a string', { raw: '{"name":["a"]}' }, 400, 'invalid_input'],
        ['number for a string', { raw: '{"name":5}' }, 400, 'invalid_input'],
        ['unknown field', { raw: '{"name":"a","owner":"x"}' }, 400, 'invalid_input'],
        ['no field', { raw: '{}' }, 400, 'invalid_input'],
        ['not an object', { raw: '["name"]' }, 400, 'invalid_input'],
        ['oversized', { raw: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) }, 413, 'body_too_large'],
      ];
      for (const [label, body, status, code] of cases) {
        const res = await asAdmin('PATCH', path, body);
        expect(res.status, label).toBe(status);
        expect(res.body?.error?.code, label).toBe(code);
      }
      const after = await asAdmin('GET', path);
      expect(after.body.key.name).toBe('untouched');
      expect(after.body.key.updatedAt).toBe(after.body.key.createdAt);
    });

    it('disables, enables and revokes a key; the key follows at once', async () => {
      const k = await key(member.id, [], 'lifecycle');
      const off = await asAdmin('POST', `/v1/admin/keys/${k.id}/disable`);
      expect(off.body.key.status).toBe('disabled');
      expect((await call('GET', '/v1/whoami', { auth: basic(k) })).status).toBe(401);
      expect((await asAdmin('POST', `/v1/admin/keys/${k.id}/enable`)).body.key.status).toBe('active');
      expect((await call('GET', '/v1/whoami', { auth: basic(k) })).status).toBe(200);
      const revoked = await asAdmin('POST', `/v1/admin/keys/${k.id}/revoke`);
      expect(revoked.body.key.status).toBe('revoked');
      expect((await call('GET', '/v1/whoami', { auth: basic(k) })).status).toBe(401);
      expect((await asAdmin('POST', `/v1/admin/keys/${k.id}/revoke`)).status).toBe(200);
      const again = await asAdmin('POST', `/v1/admin/keys/${k.id}/enable`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('invalid_state');
      expect((await asAdmin('POST', '/v1/admin/keys/kw_kid_nope/disable')).status).toBe(404);
    });

    it('rotates a key: the new secret is shown once, the old one keeps its grace', async () => {
      const k = await key(member.id, [], 'rotating');
      const res = await asAdmin('POST', `/v1/admin/keys/${k.id}/rotate`, { body: { graceSeconds: 0 } });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body.id).toBe(k.id);
      expect(res.body.secret).not.toBe(k.secret);
      expect((await call('GET', '/v1/whoami', { auth: basic(k) })).status).toBe(401);
      expect((await call('GET', '/v1/whoami', { auth: basic({ ...k, secret: res.body.secret }) })).status).toBe(200);
      expect((await call('GET', '/v1/whoami', { auth: `Bearer ${res.body.token}` })).status).toBe(200);
      const graced = await asAdmin('POST', `/v1/admin/keys/${k.id}/rotate`, { body: {} });
      expect(graced.status).toBe(200);
      // No body at all means the defaults too.
      expect((await asAdmin('POST', `/v1/admin/keys/${k.id}/rotate`)).status).toBe(200);
      expect((await call('GET', '/v1/whoami', { auth: basic({ ...k, secret: res.body.secret }) })).status).toBe(200);
      expect((await asAdmin('POST', `/v1/admin/keys/${k.id}/rotate`, { body: { graceSeconds: -1 } })).status).toBe(400);
      expect((await asAdmin('POST', `/v1/admin/keys/${k.id}/rotate`, { body: { graceSeconds: '1' } })).status).toBe(
        400,
      );
    });
  });

  describe('sessions and access tokens', () => {
    it("lists an account's sessions and ends one", async () => {
      const who = await account('sessions@example.com');
      const first = await session(who.id);
      const second = await session(who.id);
      const list = await asAdmin('GET', `/v1/admin/accounts/${who.id}/sessions?limit=1`);
      expect(list.status).toBe(200);
      expect(list.body.sessions).toHaveLength(1);
      expect(list.body.next).not.toBeNull();
      const rest = await asAdmin('GET', `/v1/admin/accounts/${who.id}/sessions?limit=1&after=${list.body.next}`);
      expect(rest.body.sessions).toHaveLength(1);
      expect(rest.body.next).toBeNull();
      const all = await asAdmin('GET', `/v1/admin/accounts/${who.id}/sessions`);
      expect(all.text).not.toMatch(SECRET);
      const ids: string[] = all.body.sessions.map((s: { id: string }) => s.id);
      expect(ids).toHaveLength(2);
      // End the session behind `first`: find it by trying each id.
      const firstId = ids.find((id) => first.includes(id)) as string;
      const ended = await asAdmin('DELETE', `/v1/admin/sessions/${firstId}`);
      expect(ended.status).toBe(200);
      expect(ended.body.session).toMatchObject({ id: firstId, active: false });
      expect((await call('GET', '/v1/whoami', { auth: first })).status).toBe(401);
      expect((await call('GET', '/v1/whoami', { auth: second })).status).toBe(200);
      const active = await asAdmin('GET', `/v1/admin/accounts/${who.id}/sessions?active=true`);
      expect(active.body.sessions.map((s: { id: string }) => s.id)).not.toContain(firstId);
      expect((await asAdmin('DELETE', `/v1/admin/sessions/${firstId}`)).status).toBe(200);
      expect((await asAdmin('DELETE', '/v1/admin/sessions/nope')).body.error.code).toBe('not_found');
      expect((await asAdmin('DELETE', '/v1/admin/sessions/bad%20id')).status).toBe(400);
      const audit = await asAdmin('GET', `/v1/admin/audit?action=session.revoke&object=${firstId}`);
      expect(audit.body.events).toHaveLength(1);
    });

    it('lists access tokens by account and by key, and revokes one', async () => {
      const { store } = t.server.context;
      const who = await account('tokens@example.com');
      const k = await key(who.id);
      const raw = parseKeyId(k.id) as string;
      const tokens: string[] = [];
      for (let i = 0; i < 3; i++) {
        const issued = await store.tokens.issue({ keyId: raw, accountId: who.id, scopes: [], ttlMs: 600_000 });
        if (!issued.ok) throw new Error(issued.code);
        tokens.push(issued.value.token);
      }
      const byAccount = await asAdmin('GET', `/v1/admin/accounts/${who.id}/tokens`);
      expect(byAccount.status).toBe(200);
      expect(byAccount.body.tokens).toHaveLength(3);
      expect(byAccount.text).not.toMatch(SECRET);
      const byKey = await asAdmin('GET', `/v1/admin/keys/${k.id}/tokens?limit=2`);
      expect(byKey.body.tokens).toHaveLength(2);
      expect(byKey.body.tokens[0].keyId).toBe(k.id);
      const next = await asAdmin('GET', `/v1/admin/keys/${k.id}/tokens?limit=2&after=${byKey.body.next}`);
      expect(next.body.tokens).toHaveLength(1);
      const target = tokens[0] as string;
      const id = byAccount.body.tokens.map((x: { id: string }) => x.id).find((x: string) => target.includes(x));
      expect((await call('GET', '/v1/whoami', { auth: `Bearer ${target}` })).status).toBe(200);
      const revoked = await asAdmin('DELETE', `/v1/admin/tokens/${id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body.token).toMatchObject({ id, active: false });
      expect((await call('GET', '/v1/whoami', { auth: `Bearer ${target}` })).status).toBe(401);
      expect((await call('GET', '/v1/whoami', { auth: `Bearer ${tokens[1]}` })).status).toBe(200);
      const active = await asAdmin('GET', `/v1/admin/accounts/${who.id}/tokens?active=true`);
      expect(active.body.tokens).toHaveLength(2);
      // Audited once, by the admin, in the revocation's transaction (a second revoke changes nothing).
      expect((await asAdmin('DELETE', `/v1/admin/tokens/${id}`)).status).toBe(200);
      const audit = await asAdmin('GET', `/v1/admin/audit?action=token.revoke&object=${id}`);
      expect(audit.body.events).toHaveLength(1);
      expect(audit.body.events[0].actor.type).not.toBe('system');
      expect((await asAdmin('DELETE', '/v1/admin/tokens/nope')).status).toBe(404);
      expect((await asAdmin('GET', '/v1/admin/keys/kw_kid_nope/tokens')).status).toBe(404);
    });

    it('resumes a listing whose cursor row was purged meanwhile, and refuses a cursor it never gave', async () => {
      const { store } = t.server.context;
      const who = await account('purged-cursor@example.com');
      const raw = parseKeyId((await key(who.id)).id) as string;
      for (let i = 0; i < 3; i++) {
        const issued = await store.tokens.issue({ keyId: raw, accountId: who.id, scopes: [], ttlMs: 600_000 });
        if (!issued.ok) throw new Error(issued.code);
      }
      const first = await asAdmin('GET', `/v1/admin/accounts/${who.id}/tokens?limit=2`);
      const firstIds: string[] = first.body.tokens.map((x: { id: string }) => x.id);
      // The hourly purge deletes a row like this one a week after it ended.
      await store.context.db
        .deleteFrom('access_tokens')
        .where('id', '=', firstIds[1] as string)
        .execute();
      const rest = await asAdmin('GET', `/v1/admin/accounts/${who.id}/tokens?limit=2&after=${first.body.next}`);
      expect(rest.status).toBe(200);
      expect(rest.body.tokens).toHaveLength(1);
      expect(firstIds).not.toContain(rest.body.tokens[0].id);
      expect(rest.body.next).toBeNull();

      for (const bad of ['nope', '_x', 'zzzzzzzzzzzz_x', firstIds[0] as string]) {
        for (const path of [`/v1/admin/accounts/${who.id}/tokens`, `/v1/admin/accounts/${who.id}/sessions`]) {
          const res = await asAdmin('GET', `${path}?after=${bad}`);
          expect(res.status, `${path} ${bad}`).toBe(400);
          expect(res.body.error.code).toBe('invalid_input');
        }
      }
    });
  });

  describe('audit log', () => {
    it('filters by actor, object, action (exact and family) and time, newest first, with a cursor', async () => {
      const start = Date.now();
      const who = await account('audited@example.com');
      const k = await key(who.id, [], 'audited');
      await asAdmin('POST', `/v1/admin/keys/${k.id}/disable`);
      await asAdmin('POST', `/v1/admin/keys/${k.id}/enable`);
      await call('POST', `/v1/admin/keys/${k.id}/revoke`, { auth: adminSession });

      const byObject = await asAdmin('GET', `/v1/admin/audit?object=${k.id}`);
      expect(byObject.body.events.map((e: { action: string }) => e.action)).toEqual([
        'key.revoke',
        'key.enable',
        'key.disable',
        'key.create',
      ]);
      const bySession = await asAdmin('GET', `/v1/admin/audit?object=${k.id}&actor=${admin.id}`);
      expect(bySession.body.events.map((e: { action: string }) => e.action)).toEqual(['key.revoke']);
      expect(bySession.body.events[0].actor).toEqual({ type: 'account', id: admin.id });
      const byKeyActor = await asAdmin('GET', `/v1/admin/audit?object=${k.id}&actor=${adminKey.id}&actorType=key`);
      expect(byKeyActor.body.events).toHaveLength(2);
      const exact = await asAdmin('GET', `/v1/admin/audit?object=${k.id}&action=key.enable`);
      expect(exact.body.events.map((e: { action: string }) => e.action)).toEqual(['key.enable']);
      const family = await asAdmin('GET', `/v1/admin/audit?action=account.*&from=${start}`);
      expect(family.body.events.map((e: { action: string }) => e.action)).toEqual(['account.create']);
      const future = await asAdmin('GET', `/v1/admin/audit?from=${Date.now() + 60_000}`);
      expect(future.body.events).toEqual([]);
      const before = await asAdmin('GET', `/v1/admin/audit?object=${k.id}&to=${start}`);
      expect(before.body.events).toEqual([]);

      // Pages of one, following `next`, give the same events in the same order.
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `/v1/admin/audit?object=${k.id}&limit=1${cursor === null ? '' : `&before=${cursor}`}`;
        const page = await asAdmin('GET', q);
        paged.push(...page.body.events.map((e: { id: string }) => e.id));
        cursor = page.body.next;
      } while (cursor !== null && paged.length < 10);
      expect(paged).toEqual(byObject.body.events.map((e: { id: string }) => e.id));
    });

    it('refuses bad filters', async () => {
      for (const q of [
        'from=-1',
        'from=abc',
        'from=10&to=5',
        'action=DROP TABLE',
        'actorType=robot',
        'limit=1000',
        'x=1',
      ]) {
        const res = await asAdmin('GET', `/v1/admin/audit?${q}`);
        expect(res.status, q).toBe(400);
        expect(res.body.error.code, q).toBe('invalid_input');
      }
    });
  });

  describe('usage', () => {
    it("counts a key's verified requests per hour", async () => {
      const who = await account('usage@example.com');
      const k = await key(who.id, [], 'busy');
      for (let i = 0; i < 3; i++) expect((await call('GET', '/v1/whoami', { auth: basic(k) })).status).toBe(200);
      await t.server.context.store.outcomes.flush();
      const res = await asAdmin('GET', `/v1/admin/keys/${k.id}/usage`);
      expect(res.status).toBe(200);
      expect(res.body.keyId).toBe(k.id);
      const hour = Date.now() - (Date.now() % 3_600_000);
      expect(res.body.to - res.body.from).toBe(24 * 3_600_000);
      // Only hours with requests, by method, outcome and code.
      expect(res.body.hours).toEqual([{ hour, method: 'basic', outcome: 'accepted', code: null, count: 3 }]);
      const earlier = await asAdmin('GET', `/v1/admin/keys/${k.id}/usage?from=${hour - 7_200_000}&to=${hour}`);
      expect(earlier.body).toEqual({ keyId: k.id, from: hour - 7_200_000, to: hour, hours: [] });
      for (const q of ['from=7200000&to=3600000', `from=0&to=${hour}`, 'from=x']) {
        const bad = await asAdmin('GET', `/v1/admin/keys/${k.id}/usage?${q}`);
        expect(bad.status, q).toBe(400);
      }
      expect((await asAdmin('GET', '/v1/admin/keys/kw_kid_nope/usage')).status).toBe(404);
    });
  });
});
