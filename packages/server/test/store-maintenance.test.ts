// The hourly maintenance of a running server, on SQLite and PostgreSQL: access tokens and sessions
// that ended more than ENDED_RETENTION_MS ago are deleted, live and recently ended ones stay; a
// purged token introspects as exactly {"active":false} and is refused; a failing run is counted
// and logged; close() stops the chore; the first run comes five minutes after start. Timers are
// faked (the clock is the test's).
import { identify } from '@keyward/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Store } from '../src/store/index.js';
import { ENDED_RETENTION_MS, purgeEnded } from '../src/store/maintenance.js';
import { ENGINES } from './support/databases.js';
import {
  basicAuth,
  closeSuiteServer,
  getToken,
  json,
  newClient,
  post,
  secretsInLogs,
  startSuiteServer,
  type TestClient,
  whoami,
} from './support/oauth.js';
import { startTestServer, type TestServer } from './support/server.js';

const HOUR = 60 * 60 * 1000;
const FAKE: Parameters<typeof vi.useFakeTimers>[0] = { toFake: ['setInterval', 'clearInterval'] };

async function storeErrors(t: TestServer, source: string): Promise<number> {
  const metric = await t.server.context.metrics.storeErrors.get();
  return metric.values.find((v) => v.labels.source === source)?.value ?? 0;
}

async function session(store: Store, accountId: string, idleMs?: number) {
  const made = await store.sessions.create({
    accountId,
    clientIp: '127.0.0.1',
    ...(idleMs === undefined ? {} : { idleMs }),
  });
  if (!made.ok) throw new Error(made.code);
  return made.value;
}

describe.each(ENGINES)('maintenance of ended tokens and sessions (%s)', (engine) => {
  let t: TestServer;
  let client: TestClient;
  const secrets: string[] = [];

  beforeAll(async () => {
    vi.useFakeTimers(FAKE);
    ({ t, client } = await startSuiteServer(engine, {}, secrets));
  });
  afterAll(async () => {
    await closeSuiteServer(t, secrets);
    vi.useRealTimers();
  });

  const rawId = (token: string) => identify(token)?.id as string;

  it('deletes, hourly, what ended more than the retention ago; keeps live and recently ended rows', async () => {
    const { store } = t.server.context;
    const start = t.clock.t;
    const oldToken = await getToken(t, client); // expires at start + 1 h
    const oldRevokedSession = await session(store, client.accountId);
    await store.sessions.revoke(oldRevokedSession.session.id);
    const oldIdleSession = await session(store, client.accountId, 60_000);
    secrets.push(oldToken, oldRevokedSession.token, oldIdleSession.token);

    // A week later: ended an hour before the run, so within the retention.
    t.clock.t = start + ENDED_RETENTION_MS;
    const recentToken = await getToken(t, client);
    const recentRevokedToken = await getToken(t, client);
    expect((await post(t, '/oauth/revoke', { token: recentRevokedToken }, auth(client))).status).toBe(200);
    const recentSession = await session(store, client.accountId);
    await store.sessions.revoke(recentSession.session.id);
    secrets.push(recentToken, recentRevokedToken, recentSession.token);

    t.clock.t = start + ENDED_RETENTION_MS + HOUR + 1000;
    const liveToken = await getToken(t, client);
    const liveSession = await session(store, client.accountId);
    secrets.push(liveToken, liveSession.token);

    await vi.advanceTimersByTimeAsync(HOUR);
    await vi.waitFor(async () => expect(await store.tokens.lookup(rawId(oldToken))).toBeUndefined());
    await vi.waitFor(() => expect(t.logs.join('\n')).toContain('purged ended access tokens and sessions'));

    expect(await store.sessions.get(oldRevokedSession.session.id)).toBeUndefined();
    expect(await store.sessions.get(oldIdleSession.session.id)).toBeUndefined();
    for (const token of [recentToken, recentRevokedToken, liveToken]) {
      expect((await store.tokens.lookup(rawId(token)))?.id).toBe(rawId(token));
    }
    for (const s of [recentSession, liveSession])
      expect((await store.sessions.get(s.session.id))?.id).toBe(s.session.id);

    // A purged token is no token: introspection says exactly {"active":false}, the verifier refuses
    // it (as unknown now, no longer as expired).
    const introspected = await post(t, '/oauth/introspect', { token: oldToken }, auth(client));
    expect([introspected.status, await introspected.text()]).toEqual([200, '{"active":false}']);
    const refused = await whoami(t, oldToken);
    expect([refused.status, (await json(refused)).error.code]).toEqual([401, 'token_invalid']);
    // So is a purged session; the live token and session still work.
    const ended = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: `Bearer ${oldIdleSession.token}` } });
    expect(ended.status).toBe(401);
    expect((await whoami(t, liveToken)).status).toBe(200);
    expect((await whoami(t, liveSession.token)).status).toBe(200);
    expect(await storeErrors(t, 'maintenance')).toBe(0);
  });

  it('counts and logs a failed run, and runs again the next hour', async () => {
    const { store } = t.server.context;
    const db = store.context.db;
    const expiring = await getToken(t, client);
    secrets.push(expiring);
    await sql`alter table access_tokens rename to access_tokens_away`.execute(db);
    try {
      await vi.advanceTimersByTimeAsync(HOUR);
      await vi.waitFor(async () => expect(await storeErrors(t, 'maintenance')).toBe(1));
      expect(t.logs.join('\n')).toContain('maintenance failed');
    } finally {
      await sql`alter table access_tokens_away rename to access_tokens`.execute(db);
    }
    t.clock.t += ENDED_RETENTION_MS + HOUR + 1000;
    await vi.advanceTimersByTimeAsync(HOUR);
    await vi.waitFor(async () => expect(await store.tokens.lookup(rawId(expiring))).toBeUndefined());
    expect(await storeErrors(t, 'maintenance')).toBe(1);
  });

  it('purgeEnded takes the retention it is given', async () => {
    const { store } = t.server.context;
    await purgeEnded(store, t.clock.t, 0); // what earlier tests left
    const token = await getToken(t, client);
    secrets.push(token);
    t.clock.t += HOUR + 1000;
    expect(await purgeEnded(store, t.clock.t, 2000)).toEqual({ tokens: 0, sessions: 0 });
    expect(await purgeEnded(store, t.clock.t, 500)).toEqual({ tokens: 1, sessions: 0 });
    expect(await store.tokens.lookup(rawId(token))).toBeUndefined();
  });
});

describe('the maintenance timer', () => {
  it('is started with the server and stopped by close(), with the nonce sweep and lease', async () => {
    vi.useFakeTimers(FAKE);
    try {
      const before = vi.getTimerCount();
      const t = await startTestServer('sqlite');
      // Maintenance, the nonce sweep, and the embedded nonce store's lease renewal.
      expect(vi.getTimerCount()).toBe(before + 3);
      await t.close();
      expect(vi.getTimerCount()).toBe(before);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the first maintenance run', () => {
  it('comes five minutes after start, so that servers restarted more often than hourly purge too', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const t = await startTestServer('sqlite', {}, { frozen: true });
    try {
      const client = await newClient(t);
      const token = await getToken(t, client);
      t.clock.t += ENDED_RETENTION_MS + HOUR + 1000;
      await vi.advanceTimersByTimeAsync(4 * 60_000);
      expect((await t.server.context.store.tokens.lookup(identify(token)?.id as string))?.id).toBeDefined();
      await vi.advanceTimersByTimeAsync(60_000);
      await vi.waitFor(async () =>
        expect(await t.server.context.store.tokens.lookup(identify(token)?.id as string)).toBeUndefined(),
      );
      expect(secretsInLogs(t, [client.secret, client.token, token])).toEqual([]);
    } finally {
      await t.close();
      vi.useRealTimers();
    }
  });
});

function auth(client: TestClient): Record<string, string> {
  return { authorization: basicAuth(client.id, client.secret) };
}
