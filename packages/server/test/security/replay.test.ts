// Attack suite, cases that held on 5713fb4 (issue 16): OAuth 1.0a replay, sequential and 200
// concurrent copies of one signed request, on both engines, for keys and signed sessions; and
// the timestamp rules (window both ways, digits only, seconds not milliseconds).
import { signOAuth1 } from '@keyward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client as accountsClient } from '../support/accounts-api.js';
import { ENGINES } from '../support/databases.js';
import { newClient, type TestClient } from '../support/oauth.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type Answer, call, code, nonce, oauthHeader, protocolParams, seconds } from './attack-kit.js';

/** A replay is refused as such, or (once the key's failures add up) limited: never accepted. */
const REFUSED_REPLAY = ['nonce_reused', 'rate_limited'];

describe.each(ENGINES)('replay (%s)', (engine) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(engine);
  });
  afterAll(async () => {
    await t?.close();
  });

  const whoami = (authorization: string) => call(t, '/v1/whoami?page=2', { headers: { authorization } });

  it('accepts a signed request once; the same bytes again are nonce_reused, also with a new timestamp', async () => {
    const key = await newClient(t);
    const n = nonce();
    const header = oauthHeader(t, key, 'GET', '/v1/whoami', {
      oauth: protocolParams(t, key, { oauth_nonce: n }),
      others: [['page', '2']],
    });
    const first = await whoami(header);
    expect(first.status).toBe(200);
    expect(first.body.principal).toMatchObject({ keyId: key.id, method: 'oauth1' });
    const again = await whoami(header);
    expect([again.status, code(again)]).toEqual([401, 'nonce_reused']);
    // Same nonce, re-signed with another timestamp: still the nonce of this key.
    const moved = oauthHeader(t, key, 'GET', '/v1/whoami', {
      oauth: protocolParams(t, key, { oauth_nonce: n, oauth_timestamp: String(seconds(t) - 1) }),
      others: [['page', '2']],
    });
    expect(code(await whoami(moved))).toBe('nonce_reused');
    // A nonce belongs to its key: another key may use the same one.
    const other = await newClient(t);
    const otherHeader = oauthHeader(t, other, 'GET', '/v1/whoami', {
      oauth: protocolParams(t, other, { oauth_nonce: n }),
      others: [['page', '2']],
    });
    expect((await whoami(otherHeader)).status).toBe(200);
  });

  it('200 concurrent copies of one signed request: exactly one 200', async () => {
    const key = await newClient(t);
    const header = oauthHeader(t, key, 'GET', '/v1/whoami', { others: [['page', '2']] });
    const answers = await Promise.all(Array.from({ length: 200 }, () => whoami(header)));
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(1);
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused).toHaveLength(199);
    for (const a of refused) expect(REFUSED_REPLAY, `${a.status} ${a.text}`).toContain(code(a));
    expect(refused.filter((a) => code(a) === 'nonce_reused').length).toBeGreaterThan(0);
  });

  it('a signed request that failed its signature does not burn the nonce', async () => {
    const key = await newClient(t);
    const n = nonce();
    const wrong = oauthHeader(t, { id: key.id, secret: `${key.secret}x` }, 'GET', '/v1/whoami', {
      oauth: protocolParams(t, key, { oauth_nonce: n }),
      others: [['page', '2']],
    });
    expect(code(await whoami(wrong))).toBe('signature_invalid');
    const right = oauthHeader(t, key, 'GET', '/v1/whoami', {
      oauth: protocolParams(t, key, { oauth_nonce: n }),
      others: [['page', '2']],
    });
    expect((await whoami(right)).status).toBe(200);
  });

  it('signed sessions: a replayed request is refused, concurrently too', async () => {
    const api = accountsClient(t);
    const email = `replay-${engine}-${Date.now()}@example.com`;
    await api.register(email);
    const login = await api.login(email, { signed: true });
    expect(login.secret).toBeDefined();
    const signature = signOAuth1({
      method: 'GET',
      url: `${t.url}/v1/keys`,
      consumerKey: login.accountId,
      consumerSecret: '',
      token: login.token,
      tokenSecret: login.secret,
      nonce: nonce(),
      timestamp: seconds(t),
    });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => call(t, '/v1/keys', { headers: { authorization: signature.authorization } })),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) expect(REFUSED_REPLAY).toContain(code(a));
  });
});

describe('timestamps', () => {
  let t: TestServer;
  let key: TestClient;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { timestampWindowSeconds: 300 }, { frozen: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function at(timestamp: string): Promise<Answer> {
    // A new key each time, so that failures of one case never limit the next.
    key = await newClient(t);
    const header = oauthHeader(t, key, 'GET', '/v1/whoami', {
      oauth: protocolParams(t, key, { oauth_timestamp: timestamp }),
    });
    return call(t, '/v1/whoami', { headers: { authorization: header } });
  }

  it('accepts the edges of the window and refuses beyond them, both ways, with the server time', async () => {
    const now = seconds(t);
    expect((await at(String(now))).status).toBe(200);
    expect((await at(String(now - 299))).status).toBe(200);
    expect((await at(String(now + 299))).status).toBe(200);
    for (const ts of [now - 301, now + 301, now - 86_400, 0, 1]) {
      const answer = await at(String(ts));
      expect([answer.status, code(answer)], String(ts)).toEqual([401, 'timestamp_refused']);
    }
  });

  it('refuses milliseconds instead of seconds', async () => {
    const answer = await at(String(t.server.context.clock.now()));
    expect(answer.status).not.toBe(200);
    expect([400, 401]).toContain(answer.status);
    expect(['timestamp_refused', 'parameter_rejected']).toContain(code(answer));
  });

  it('refuses anything but digits: signs, spaces, exponents, decimals, hex, empty, huge', async () => {
    const now = seconds(t);
    for (const ts of [
      `+${now}`,
      `-${now}`,
      ` ${now}`,
      `${now} `,
      `${now}.0`,
      `${now / 1000}e3`,
      `0x${now.toString(16)}`,
      `${now}abc`,
      '',
      '99999999999999999999999999',
      `٣${now}`,
    ]) {
      const answer = await at(ts);
      expect(answer.status, JSON.stringify(ts)).not.toBe(200);
      expect([400, 401], JSON.stringify(ts)).toContain(answer.status);
      expect(['timestamp_refused', 'parameter_rejected', 'parameter_missing'], JSON.stringify(ts)).toContain(
        code(answer),
      );
    }
  });

  it('moves with the clock: a request signed now is refused 301 s later, even with an unused nonce', async () => {
    key = await newClient(t);
    const header = oauthHeader(t, key, 'GET', '/v1/whoami');
    t.clock.t += 301_000;
    const late = await call(t, '/v1/whoami', { headers: { authorization: header } });
    expect([late.status, code(late)]).toEqual([401, 'timestamp_refused']);
  });
});
