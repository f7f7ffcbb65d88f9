// Login and registration security over HTTP: failures that do not tell accounts apart (status,
// body, cost), attempt limits with Retry-After, closed registration, the transport rule for
// passwords, and sessions bound to the client address a trusted proxy reports.
import { afterEach, describe, expect, it } from 'vitest';
import { client, counts, PASSWORD } from './support/accounts-api.js';
import { startTestServer, type TestServer } from './support/server.js';

const MANY = { limit: 10_000, windowSeconds: 60 };

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The error body without its request id, which differs on every answer by design. */
function shape(answer: { status: number; body: { error: { code: string; message: string } } }) {
  return { status: answer.status, code: answer.body.error.code, message: answer.body.error.message };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

describe('login failures tell nothing', () => {
  it('answers unknown email, wrong password and disabled account alike: status, body, headers and cost', async () => {
    // No login delay: the repeated wrong password would otherwise wait up to 4 s a round.
    t = await startTestServer('sqlite', { limits: { loginsPerIp: MANY, loginsPerAccount: MANY }, loginDelayMaxMs: 0 });
    const api = client(t);
    const { store } = t.server.context;
    await api.register('known@example.com');
    const disabled = await api.register('disabled@example.com');
    await store.accounts.setStatus(disabled.id, 'disabled', { type: 'system' });

    const attempts = {
      unknown: { email: 'nobody@example.com', password: PASSWORD },
      wrongPassword: { email: 'known@example.com', password: 'not the password at all' },
      // The right password of a disabled account: the one case that could tell it exists.
      disabled: { email: 'disabled@example.com', password: PASSWORD },
    };
    const answers = await Promise.all(
      Object.values(attempts).map((body) => api.call('POST', '/v1/sessions', { body })),
    );
    for (const answer of answers) {
      expect(shape(answer)).toEqual(shape(answers[0] as (typeof answers)[0]));
      expect(answer.headers.get('cache-control')).toBe('no-store');
      // RFC 7235 §3.1: a 401 names a challenge; here, the session token a login gives.
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="keyward"');
    }
    expect(shape(answers[0] as (typeof answers)[0])).toEqual({
      status: 401,
      code: 'login_failed',
      message: 'The email or password is wrong, or the account cannot log in (which one is not said).',
    });

    // Cost: every case costs one argon2id verification. Measured in CPU time of this process
    // (argon2 runs on its threads, which count), not wall time, which a busy neighbour on a
    // shared machine stretches. Interleaved rounds, medians compared with a generous bound:
    // this guards against a skipped hash, an order of magnitude cheaper; it is not a benchmark.
    const times: Record<string, number[]> = { unknown: [], wrongPassword: [], disabled: [] };
    for (let round = 0; round < 7; round++) {
      for (const [name, body] of Object.entries(attempts)) {
        const started = process.cpuUsage();
        const answer = await api.call('POST', '/v1/sessions', { body });
        const used = process.cpuUsage(started);
        (times[name] as number[]).push(used.user + used.system);
        expect(answer.status).toBe(401);
      }
    }
    const medians = Object.values(times).map(median);
    expect(Math.max(...medians) / Math.min(...medians)).toBeLessThan(2);
  });
});

describe('attempt limits', () => {
  it('limits failed logins per account and address, keyed by email whether or not it exists, with Retry-After', async () => {
    t = await startTestServer(
      'sqlite',
      { limits: { loginsPerIp: MANY, loginsPerAccount: { limit: 3, windowSeconds: 60 } }, loginDelayBaseMs: 1 },
      { frozen: true },
    );
    const api = client(t);
    await api.register('limited@example.com');
    for (const email of ['limited@example.com', 'ghost@example.com']) {
      for (let i = 0; i < 3; i++) {
        const answer = await api.call('POST', '/v1/sessions', { body: { email, password: 'wrong password here' } });
        expect(answer.status).toBe(401);
      }
      // From the address that failed, even the right password waits now: an address that
      // guesses is stopped before its answer could tell (another address is not; lockout.test.ts).
      const limited = await api.call('POST', '/v1/sessions', { body: { email, password: PASSWORD } });
      expect(shape(limited)).toMatchObject({ status: 429, code: 'rate_limited' });
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      // Another spelling of the same address is the same account.
      const shouting = await api.call('POST', '/v1/sessions', {
        body: { email: ` ${email.toUpperCase()}`, password: PASSWORD },
      });
      expect(shouting.status).toBe(429);
    }
    // Other accounts are not affected.
    await api.register('other@example.com');
    await api.login('other@example.com');
    // The window ends: the right password works again.
    t.clock.t += 61_000;
    await api.login('limited@example.com');
  });

  it('limits logins per client address across accounts', async () => {
    t = await startTestServer('sqlite', {
      limits: { loginsPerIp: { limit: 4, windowSeconds: 900 }, loginsPerAccount: MANY },
    });
    const api = client(t);
    for (let i = 0; i < 4; i++) {
      const answer = await api.call('POST', '/v1/sessions', {
        body: { email: `user${i}@example.com`, password: PASSWORD },
      });
      expect(answer.status).toBe(401);
    }
    const limited = await api.call('POST', '/v1/sessions', {
      body: { email: 'user9@example.com', password: PASSWORD },
    });
    expect(shape(limited)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('limits password changes per account, so a stolen session cannot guess faster', async () => {
    t = await startTestServer('sqlite', {
      limits: { loginsPerIp: MANY, loginsPerAccount: { limit: 2, windowSeconds: 900 } },
    });
    const api = client(t);
    await api.register('victim@example.com');
    const session = await api.login('victim@example.com');
    for (let i = 0; i < 2; i++) {
      const wrong = await api.call('POST', '/v1/account/password', {
        as: session,
        body: { currentPassword: `guess number ${i}`, newPassword: 'taken over account' },
      });
      expect(shape(wrong)).toMatchObject({ status: 403, code: 'password_incorrect' });
    }
    const before = await counts(t);
    const limited = await api.call('POST', '/v1/account/password', {
      as: session,
      body: { currentPassword: PASSWORD, newPassword: 'taken over account' },
    });
    expect(shape(limited)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(limited.headers.get('retry-after')).not.toBeNull();
    expect(await counts(t)).toEqual(before);
    // Logging in is a counter of its own.
    await api.login('victim@example.com');
  });

  it('limits registrations per client address', async () => {
    t = await startTestServer('sqlite', { limits: { loginsPerIp: { limit: 2, windowSeconds: 900 } } });
    const api = client(t);
    await api.register('one@example.com');
    await api.register('two@example.com');
    const before = await counts(t);
    const limited = await api.call('POST', '/v1/accounts', {
      body: { email: 'three@example.com', password: PASSWORD },
    });
    expect(shape(limited)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(await counts(t)).toEqual(before);
    // Registering did not use up the address's logins.
    await api.login('one@example.com');
  });
});

describe('registration switch', () => {
  it('answers 403 registration_closed when registration is off, before looking at the body', async () => {
    t = await startTestServer('sqlite', { registration: false });
    const api = client(t);
    const before = await counts(t);
    for (const body of [{ email: 'new@example.com', password: PASSWORD }, { email: ['bad'] }]) {
      const answer = await api.call('POST', '/v1/accounts', { body });
      expect(shape(answer)).toMatchObject({ status: 403, code: 'registration_closed' });
    }
    expect(await counts(t)).toEqual(before);
    // Accounts made otherwise still log in.
    await t.server.context.store.accounts.create({ email: 'made@example.com', password: PASSWORD }, { type: 'cli' });
    await api.login('made@example.com');
  });
});

describe('transport and address binding behind a trusted proxy', () => {
  it('refuses passwords over plain HTTP, binds the session to the forwarded client address', async () => {
    // The test talks to the server from 127.0.0.1, which plays the trusted reverse proxy.
    t = await startTestServer('sqlite', { trustProxy: ['127.0.0.1'] });
    const api = client(t);
    const before = await counts(t);
    const plain = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'http' };
    const body = { email: 'proxied@example.com', password: PASSWORD };
    const register = await api.call('POST', '/v1/accounts', { body, headers: plain });
    expect(shape(register)).toMatchObject({ status: 403, code: 'transport_insecure' });
    expect(await counts(t)).toEqual(before);

    const https = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };
    expect((await api.call('POST', '/v1/accounts', { body, headers: https })).status).toBe(201);
    const insecureLogin = await api.call('POST', '/v1/sessions', { body, headers: plain });
    expect(shape(insecureLogin)).toMatchObject({ status: 403, code: 'transport_insecure' });
    const login = await api.call('POST', '/v1/sessions', { body, headers: https });
    expect(login.status).toBe(201);
    expect(login.body.session.clientIp).toBe('203.0.113.7');

    const as = { token: login.body.token, accountId: login.body.accountId };
    const who = await api.call('GET', '/v1/whoami', { as, headers: https });
    expect(who.status).toBe(200);
    // The client is the nearest hop the trusted proxy reports (the rightmost untrusted one);
    // an address the caller wrote before it changes nothing, another one there is another client.
    const spoofed = await api.call('GET', '/v1/whoami', {
      as,
      headers: { 'x-forwarded-for': '203.0.113.7, 198.51.100.9', 'x-forwarded-proto': 'https' },
    });
    expect(shape(spoofed)).toMatchObject({ status: 401, code: 'session_ip_mismatch' });
    // The default policy ended the session when it showed up from elsewhere.
    const after = await api.call('GET', '/v1/whoami', { as, headers: https });
    expect(shape(after)).toMatchObject({ status: 401, code: 'session_invalid' });
    expect(after.headers.get('www-authenticate')).toContain('Bearer realm="keyward"');
  });
});

describe('session expiry', () => {
  it('ends a session after the configured idle time, and after the absolute lifetime even when used', async () => {
    t = await startTestServer('sqlite', { sessionIdleSeconds: 120, sessionAbsoluteSeconds: 300 }, { frozen: true });
    const api = client(t);
    await api.register('sleepy@example.com');
    const idle = await api.login('sleepy@example.com');
    expect(idle.session.idleExpiresAt - idle.session.createdAt).toBe(120_000);
    expect(idle.session.expiresAt - idle.session.createdAt).toBe(300_000);
    t.clock.t += 121_000;
    const expired = await api.call('GET', '/v1/whoami', { as: idle });
    expect(shape(expired)).toMatchObject({ status: 401, code: 'session_expired' });

    // Used every 70 s, the idle expiry slides; the absolute one (300 s) does not.
    const busy = await api.login('sleepy@example.com');
    for (let i = 1; i <= 5; i++) {
      t.clock.t += 70_000;
      const answer = await api.call('GET', '/v1/whoami', { as: busy });
      expect(answer.status, `after ${i * 70} s`).toBe(i * 70 < 300 ? 200 : 401);
    }
    const listed = await api.call('GET', '/v1/sessions', { as: await api.login('sleepy@example.com') });
    expect(listed.body.sessions).toHaveLength(1);
  });
});
