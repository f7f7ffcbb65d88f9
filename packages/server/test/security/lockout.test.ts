// Findings 1 and 2 of issue 16: a stranger who knows a key id or an email must not lock its
// owner out. On the old code the owner's right secret was 429 once the key id had 10 failures
// (from any addresses), and her right password 429 after 5 wrong ones from anywhere.
import { formatKeywardString, generateApiKey } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VerifyRequest } from '../../src/verify/types.js';
import { PASSWORD } from '../support/accounts-api.js';
import { actor, basicAuth, newClient, post } from '../support/oauth.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic, type Harness, harness, rawParts, request, signed } from '../support/verifier.js';

const OWNER = '203.0.113.7';
const STRANGER = '198.51.100.66';
const strangers = Array.from({ length: 10 }, (_, i) => `192.0.2.${i + 10}`);

describe('a stranger naming a key id does not lock its owner out (verifier)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ apiKeyHeader: false });
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const from = (req: VerifyRequest, ip: string): VerifyRequest => ({ ...req, remoteAddress: ip, secure: true });
  const withAuth = (authorization: string, ip: string) => from(request({ headers: { authorization } }), ip);

  it('Basic, API key and OAuth 1.0a: 401 then 429 for the stranger, 200 for the owner', async () => {
    const wrongSecret = rawParts(generateApiKey().token).secret;
    const { id: rawId, secret: rawSecret } = rawParts(h.key.token);
    const wrong = {
      basic: basic(h.key.id, formatKeywardString('key_secret', { secret: wrongSecret })),
      apiKey: `Bearer ${formatKeywardString('api_key', { id: rawId, secret: wrongSecret })}`,
    };
    // From one address: the default per-(key, address) limit is 10 a minute; past it, every
    // wrong attempt is 429 with Retry-After, whatever the method.
    for (let i = 0; i < 10; i++) {
      expect(await h.verifier.verify(withAuth(wrong.basic, STRANGER))).toMatchObject({ status: 401 });
    }
    for (const attempt of [
      withAuth(wrong.basic, STRANGER),
      withAuth(wrong.apiKey, STRANGER),
      from(
        signed({ id: h.key.id, secret: formatKeywardString('key_secret', { secret: wrongSecret }) }, h.clock),
        STRANGER,
      ),
    ]) {
      const refused = await h.verifier.verify(attempt);
      expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(refused.ok ? 0 : (refused.retryAfter ?? 0)).toBeGreaterThan(0);
    }
    // From ten more addresses, each a few times.
    for (const ip of strangers) {
      for (let i = 0; i < 3; i++) await h.verifier.verify(withAuth(wrong.basic, ip));
      await h.verifier.verify(from(signed({ id: h.key.id, secret: h.key.secret.slice(0, -2) + 'xx' }, h.clock), ip));
    }
    // The owner, from her address: every method is accepted.
    expect((await h.verifier.verify(withAuth(basic(h.key.id, h.key.secret), OWNER))).ok).toBe(true);
    const apiKey = `Bearer ${formatKeywardString('api_key', { id: rawId, secret: rawSecret })}`;
    expect((await h.verifier.verify(withAuth(apiKey, OWNER))).ok).toBe(true);
    expect((await h.verifier.verify(from(signed(h.key, h.clock), OWNER))).ok).toBe(true);
    // Even from the stranger's own address the right secret is accepted (shared NAT).
    expect((await h.verifier.verify(withAuth(basic(h.key.id, h.key.secret), STRANGER))).ok).toBe(true);
  });

  it('an unknown key id costs and answers the same as a known one once limited', async () => {
    const unknown = rawParts(generateApiKey().token);
    const unknownBasic = basic(
      formatKeywardString('key_id', { id: unknown.id }),
      formatKeywardString('key_secret', { secret: unknown.secret }),
    );
    const knownWrong = basic(h.key.id, formatKeywardString('key_secret', { secret: unknown.secret }));
    const answers = [];
    for (const [auth, ip] of [
      [unknownBasic, '198.51.100.1'],
      [knownWrong, '198.51.100.2'],
    ] as const) {
      for (let i = 0; i < 10; i++) await h.verifier.verify(withAuth(auth, ip));
      answers.push(await h.verifier.verify(withAuth(auth, ip)));
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({ status: 429, code: 'rate_limited' });
  });
});

describe('a stranger does not lock the owner out of /oauth/token or login (HTTP)', () => {
  let t: TestServer;
  afterEach(async () => {
    await t?.close();
  });
  const fromIp = (ip: string) => ({ 'x-forwarded-for': ip, 'x-forwarded-proto': 'https' });

  it('/oauth/token: the stranger gets 429 after the limit, the owner 200', async () => {
    t = await startTestServer('sqlite', { trustProxy: ['127.0.0.1'] }, { frozen: true });
    const owner = await newClient(t);
    const other = await newClient(t);
    const token = (secret: string, ip: string) =>
      post(
        t,
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: basicAuth(owner.id, secret), ...fromIp(ip) },
      );
    for (let i = 0; i < 10; i++) expect((await token(other.secret, STRANGER)).status).toBe(401);
    const limited = await token(other.secret, STRANGER);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    for (const ip of strangers) expect((await token(other.secret, ip)).status).toBe(401);
    expect((await token(owner.secret, OWNER)).status).toBe(200);
    expect((await token(owner.secret, STRANGER)).status).toBe(200);
  });

  it('login: 5 wrong passwords from 5 addresses, then the owner logs in (after at most the delay)', async () => {
    t = await startTestServer('sqlite', { trustProxy: ['127.0.0.1'] }, { frozen: true });
    await t.server.context.store.accounts.create({ email: 'owner@example.com', password: PASSWORD }, actor);
    const login = (password: string, ip: string) =>
      fetch(`${t.url}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...fromIp(ip) },
        body: JSON.stringify({ email: 'owner@example.com', password }),
      });
    // In parallel, so the strangers' own delays do not add up in the test's time.
    const wrong = await Promise.all(strangers.slice(0, 5).map((ip) => login('not the password at all', ip)));
    expect(wrong.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    const started = Date.now();
    const ok = await login(PASSWORD, OWNER);
    expect(ok.status).toBe(201);
    // The default delay is at most 4 s; a generous bound for a busy machine.
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it('login: the stranger from one address is stopped with 429; the owner from hers is not', async () => {
    t = await startTestServer(
      'sqlite',
      { trustProxy: ['127.0.0.1'], loginDelayBaseMs: 1, loginDelayMaxMs: 5 },
      {
        frozen: true,
      },
    );
    await t.server.context.store.accounts.create({ email: 'owner@example.com', password: PASSWORD }, actor);
    const login = (password: string, ip: string) =>
      fetch(`${t.url}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...fromIp(ip) },
        body: JSON.stringify({ email: 'owner@example.com', password }),
      });
    for (let i = 0; i < 5; i++) expect((await login('not the password at all', STRANGER)).status).toBe(401);
    const limited = await login('not the password at all', STRANGER);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await login(PASSWORD, OWNER)).status).toBe(201);
    // Her successes take nothing from her limit: she can log in again and again.
    for (let i = 0; i < 6; i++) expect((await login(PASSWORD, OWNER)).status).toBe(201);
  });
});
