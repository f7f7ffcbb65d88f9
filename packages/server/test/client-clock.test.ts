// Clock skew: the server's clock is frozen and moved an hour either way; the client's stays real.
// Keyward refuses the timestamp (401 timestamp_refused, its acceptable range in the OAuth
// challenge, its time in Date) and the client corrects its clock and succeeds after one retry.
import { createClient, signRequest } from '@keyward/client';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { countingFetch, startWithKey, type Whoami } from './support/client-fixture.js';

const f = await startWithKey({}, { frozen: true });
afterAll(() => f.t.close());
const { t, key } = f;
const HOUR = 60 * 60 * 1000;

beforeEach(() => {
  t.clock.t = Date.now();
});

describe.each([
  ['ahead', +HOUR],
  ['behind', -HOUR],
])('a server clock an hour %s', (_, skew) => {
  it('answers a stale timestamp the way the client relies on', async () => {
    t.clock.t = Date.now() + skew;
    // Signed with the local clock and sent without the client, to look at the refusal itself.
    const url = new URL(`${t.url}/v1/whoami`);
    const signed = signRequest(
      { consumerKey: key.id, consumerSecret: key.secret },
      { method: 'GET', url, timestamp: Math.floor(Date.now() / 1000) },
    );
    const refused = await fetch(url, { headers: { authorization: signed.authorization } });
    expect(refused.status).toBe(401);
    const serverSeconds = Math.floor(t.clock.t / 1000);
    expect(refused.headers.get('www-authenticate')).toContain(
      `OAuth realm="keyward", oauth_problem="timestamp_refused", oauth_acceptable_timestamps="${serverSeconds - 300}-${serverSeconds + 300}"`,
    );
    expect(Date.parse(refused.headers.get('date') ?? '')).toBe(serverSeconds * 1000);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('timestamp_refused');
  });

  it('oauth1: succeeds after one retry and keeps the correction', async () => {
    t.clock.t = Date.now() + skew;
    const counting = countingFetch();
    const api = createClient({
      baseUrl: t.url,
      auth: { type: 'oauth1', consumerKey: key.id, consumerSecret: key.secret },
      fetch: counting.fetch,
    });
    expect((await api.get<Whoami>('/v1/whoami')).principal.method).toBe('oauth1');
    expect(counting.sent).toHaveLength(2);
    expect(Math.abs(api.clockOffsetMs - skew)).toBeLessThan(2000);
    expect(await api.post<Whoami>('/v1/whoami', { after: 'correction' })).toMatchObject({
      body: { after: 'correction' },
    });
    expect(counting.sent).toHaveLength(3);
  });

  it('signed session: succeeds after one retry', async () => {
    t.clock.t = Date.now() + skew;
    // Created on the server's (moved) clock, so the session itself is fresh.
    const issued = await t.server.context.store.sessions.create({
      accountId: f.accountId,
      clientIp: '127.0.0.1',
      signed: true,
    });
    if (!issued.ok || issued.value.secret === undefined) throw new Error('no signed session');
    const counting = countingFetch();
    const api = createClient({
      baseUrl: t.url,
      auth: {
        type: 'signed-session',
        consumerKey: f.accountId,
        token: issued.value.token,
        secret: issued.value.secret,
      },
      fetch: counting.fetch,
    });
    const form = await api('/v1/whoami', { method: 'POST', body: new URLSearchParams({ a: '1' }) });
    expect(form.status).toBe(200);
    expect(counting.sent).toHaveLength(2);
  });
});

it('follows the server when its clock moves again', async () => {
  const counting = countingFetch();
  const api = createClient({
    baseUrl: t.url,
    auth: { type: 'oauth1', consumerKey: key.id, consumerSecret: key.secret },
    fetch: counting.fetch,
  });
  t.clock.t = Date.now() + HOUR;
  await api.get('/v1/whoami');
  t.clock.t = Date.now() - HOUR;
  await api.get('/v1/whoami');
  expect(counting.sent).toHaveLength(4);
  expect(Math.abs(api.clockOffsetMs + HOUR)).toBeLessThan(2000);
});
