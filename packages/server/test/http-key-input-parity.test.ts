// The self-service API (/v1/keys) and the admin API (/v1/admin/keys) share one schema per
// resource and one set of limits (src/http/resources.ts, from the store's): the same bad input
// gets the same status and code on both, and the same resource looks the same on both. Bad
// inputs are sent to creation and update on /v1/keys and to update on /v1/admin/keys, on the
// same key, and nothing may change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account, IssuedKey } from '../src/store/index.js';
import { startTestServer, type TestServer } from './support/server.js';

const system = { type: 'system' as const };

interface Case {
  name: string;
  body?: unknown;
  raw?: string;
  status: number;
  code: string;
}

/** Bad key settings; `scopes`, expiry and metadata values answer the store's own codes. */
function badSettings(now: number): Case[] {
  const bad = (name: string, body: Record<string, unknown>, code: string, status = 400): Case => ({
    name,
    body,
    status,
    code,
  });
  return [
    bad('33 scopes', { scopes: Array.from({ length: 33 }, (_, i) => `s${i}`) }, 'scope_invalid'),
    bad('101 scopes', { scopes: Array.from({ length: 101 }, (_, i) => `s${i}`) }, 'scope_invalid'),
    bad('scope with a space', { scopes: ['read orders'] }, 'scope_invalid'),
    bad('scope with a backslash', { scopes: ['a\\b'] }, 'scope_invalid'),
    bad('empty scope', { scopes: [''] }, 'scope_invalid'),
    bad('65-character scope', { scopes: ['s'.repeat(65)] }, 'scope_invalid'),
    bad('scopes as a string', { scopes: 'read:x' }, 'invalid_input'),
    bad('a number as a scope', { scopes: [5] }, 'invalid_input'),
    bad('101-character name', { name: 'n'.repeat(101) }, 'invalid_input'),
    bad('empty name', { name: '' }, 'invalid_input'),
    bad('blank name', { name: '   ' }, 'invalid_input'),
    bad('unknown method', { methods: ['digest'] }, 'invalid_input'),
    bad('session is not a key method', { methods: ['session'] }, 'invalid_input'),
    bad('no methods', { methods: [] }, 'invalid_input'),
    bad('metadata over 4096 bytes', { metadata: { blob: 'x'.repeat(5000) } }, 'metadata_too_large'),
    bad(
      'metadata with many small members over 4096 bytes',
      {
        metadata: Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, i])),
      },
      'metadata_too_large',
    ),
    bad('metadata as an array', { metadata: [1] }, 'invalid_input'),
    bad('metadata as null', { metadata: null }, 'invalid_input'),
    bad('past expiresAt', { expiresAt: now - 1000 }, 'expiry_invalid'),
    bad('negative expiresAt', { expiresAt: -5 }, 'expiry_invalid'),
    bad('expiresAt as a string', { expiresAt: 'tomorrow' }, 'invalid_input'),
    bad('fractional expiresAt', { expiresAt: now + 1.5 }, 'invalid_input'),
    bad('zero expiresIn', { expiresIn: 0 }, 'expiry_invalid'),
    bad('expiresIn over ten years', { expiresIn: 11 * 365 * 86_400 }, 'expiry_invalid'),
    bad('expiresAt and expiresIn', { expiresAt: now + 60_000, expiresIn: 60 }, 'invalid_input'),
    bad('zero rate limit', { rateLimit: { limit: 0, windowSeconds: 60 } }, 'invalid_input'),
    bad('rate window over a day', { rateLimit: { limit: 1, windowSeconds: 86_401 } }, 'invalid_input'),
    bad('unknown field', { owner: 'someone' }, 'invalid_input'),
    {
      name: 'body over 64 KiB',
      raw: JSON.stringify({ metadata: { blob: 'x'.repeat(70 * 1024) } }),
      status: 413,
      code: 'body_too_large',
    },
  ];
}

describe('one key schema for the self-service and the admin API', () => {
  let t: TestServer;
  let admin: Account;
  let adminSession: string;
  let member: Account;
  let memberSession: string;
  let target: IssuedKey;

  async function account(email: string, role: 'admin' | 'member'): Promise<Account> {
    const made = await t.server.context.store.accounts.create(
      { email, password: 'correct horse battery', role },
      system,
    );
    if (!made.ok) throw new Error(made.code);
    return made.value;
  }
  async function session(accountId: string): Promise<string> {
    const made = await t.server.context.store.sessions.create({ accountId, clientIp: '127.0.0.1' });
    if (!made.ok) throw new Error(made.code);
    return `Bearer ${made.value.token}`;
  }
  async function key(accountId: string, name: string): Promise<IssuedKey> {
    const made = await t.server.context.store.keys.create(accountId, { name }, system);
    if (!made.ok) throw new Error(made.code);
    return made.value;
  }

  async function call(
    method: string,
    path: string,
    auth: string,
    options: { body?: unknown; raw?: string } = {},
    // biome-ignore lint/suspicious/noExplicitAny: JSON responses of many shapes, checked by the assertions
  ): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { authorization: auth };
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.url}${path}`, { method, headers, body });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  }

  /** The same case on every endpoint that takes key settings; each answer as `[status, code]`. */
  async function answers(c: Case): Promise<Record<string, [number, string]>> {
    const options = c.raw === undefined ? { body: c.body } : { raw: c.raw };
    // Creation needs a name; a case about the name brings its own.
    const create =
      c.raw === undefined
        ? { body: { name: 'new', ...(c.body as object) } }
        : { raw: c.raw.replace('{', '{"name":"new",') };
    const results = {
      'POST /v1/keys': await call('POST', '/v1/keys', adminSession, create),
      'PATCH /v1/keys/:id': await call('PATCH', `/v1/keys/${target.id}`, adminSession, options),
      'PATCH /v1/admin/keys/:keyId': await call('PATCH', `/v1/admin/keys/${target.id}`, adminSession, options),
    };
    return Object.fromEntries(
      Object.entries(results).map(([where, r]) => [where, [r.status, r.body?.error?.code] as [number, string]]),
    );
  }

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    admin = await account('parity-admin@example.com', 'admin');
    adminSession = await session(admin.id);
    member = await account('parity-member@example.com', 'member');
    memberSession = await session(member.id);
    // The admin's own key: both APIs may change it, so only the input decides the answer.
    target = await key(admin.id, 'target');
  });
  afterAll(() => t?.close());

  it('answers the same bad key settings with the same status and code on both APIs', async () => {
    const before = await t.server.context.store.keys.get(target.id);
    const keysBefore = (await t.server.context.store.keys.list({ accountId: admin.id })).length;
    for (const c of badSettings(Date.now())) {
      const got = await answers(c);
      expect(got, c.name).toEqual({
        'POST /v1/keys': [c.status, c.code],
        'PATCH /v1/keys/:id': [c.status, c.code],
        'PATCH /v1/admin/keys/:keyId': [c.status, c.code],
      });
    }
    expect(await t.server.context.store.keys.get(target.id)).toEqual(before);
    expect((await t.server.context.store.keys.list({ accountId: admin.id })).length).toBe(keysBefore);
  });

  it('refuses the same bad rotation bodies alike', async () => {
    for (const [name, body] of [
      ['negative grace', { graceSeconds: -1 }],
      ['grace over 30 days', { graceSeconds: 31 * 86_400 }],
      ['string grace', { graceSeconds: '60' }],
      ['unknown field', { grace: 60 }],
    ] as const) {
      const self = await call('POST', `/v1/keys/${target.id}/rotate`, adminSession, { body });
      const admin = await call('POST', `/v1/admin/keys/${target.id}/rotate`, adminSession, { body });
      expect([self.status, self.body.error.code], name).toEqual([400, 'invalid_input']);
      expect([admin.status, admin.body.error.code], name).toEqual([400, 'invalid_input']);
    }
  });

  it("refuses Keyward's own scopes on a member's key alike, whoever asks", async () => {
    const memberKey = await key(member.id, 'member key');
    for (const scopes of [['keyward:admin'], ['read:x', 'keyward:verify'], ['KEYWARD:admin']]) {
      const self = await call('PATCH', `/v1/keys/${memberKey.id}`, memberSession, { body: { scopes } });
      const admin = await call('PATCH', `/v1/admin/keys/${memberKey.id}`, adminSession, { body: { scopes } });
      expect([self.status, self.body.error.code], scopes.join(' ')).toEqual([403, 'forbidden']);
      expect([admin.status, admin.body.error.code], scopes.join(' ')).toEqual([403, 'forbidden']);
    }
    const created = await call('POST', '/v1/keys', memberSession, { body: { name: 'x', scopes: ['keyward:admin'] } });
    expect([created.status, created.body.error.code]).toEqual([403, 'forbidden']);
  });

  it('applies the same valid update the same way, and shows a key and a session alike', async () => {
    const a = await key(admin.id, 'a');
    const b = await key(admin.id, 'b');
    const update = {
      name: 'renamed',
      scopes: ['read:x', 'read:x', 'write:y'],
      methods: ['basic', 'oauth1', 'basic'],
      expiresIn: 3600,
      metadata: { team: 'ops' },
      rateLimit: { limit: 10, windowSeconds: 60 },
      enabled: false,
    };
    const self = await call('PATCH', `/v1/keys/${a.id}`, adminSession, { body: update });
    const viaAdmin = await call('PATCH', `/v1/admin/keys/${b.id}`, adminSession, { body: update });
    expect(self.status).toBe(200);
    expect(viaAdmin.status).toBe(200);
    const comparable = ({ id: _id, createdAt: _c, updatedAt: _u, expiresAt, ...rest }: Record<string, unknown>) => ({
      ...rest,
      expires: typeof expiresAt === 'number',
    });
    expect(comparable(viaAdmin.body.key)).toEqual(comparable(self.body));
    expect(self.body).toMatchObject({
      scopes: ['read:x', 'write:y'],
      methods: ['basic', 'oauth1'],
      status: 'disabled',
    });

    // One key, one view.
    const mine = await call('GET', `/v1/keys/${a.id}`, adminSession);
    const theirs = await call('GET', `/v1/admin/keys/${a.id}`, adminSession);
    expect(theirs.body.key).toEqual(mine.body);

    // One session, one view: the admin's own session, current on both.
    const current = await call('GET', '/v1/sessions/current', adminSession);
    const listed = await call('GET', `/v1/admin/accounts/${admin.id}/sessions`, adminSession);
    expect(current.body).toMatchObject({ accountId: admin.id, active: true, current: true, revokedAt: null });
    expect(listed.body.sessions).toContainEqual(current.body);

    // One account, one view.
    const me = await call('GET', '/v1/account', adminSession);
    const got = await call('GET', `/v1/admin/accounts/${admin.id}`, adminSession);
    expect(got.body.account).toEqual(me.body);
  });
});
