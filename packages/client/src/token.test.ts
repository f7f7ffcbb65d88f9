import { describe, expect, it } from 'vitest';
import { clientSecretBasic, formUrlEncode, TokenSource } from './token.js';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function source(answers: (() => Response)[], now: { t: number }) {
  let calls = 0;
  const tokens = new TokenSource({
    tokenUrl: new URL('https://as.example.com/oauth/token'),
    clientId: 'id',
    clientSecret: 'secret',
    fetch: async () => {
      const answer = answers[Math.min(calls++, answers.length - 1)];
      if (answer === undefined) throw new Error('no answer');
      return answer();
    },
    now: () => now.t,
  });
  return { tokens, calls: () => calls };
}

const ok =
  (token: string, expires_in: unknown = 120) =>
  () =>
    json(200, { access_token: token, token_type: 'Bearer', expires_in });

describe('TokenSource', () => {
  it('keeps using a token when an early refresh fails, until it expires', async () => {
    const now = { t: 0 };
    const s = source([ok('a'), () => json(503, { error: { code: 'store_unavailable', message: 'down' } })], now);
    expect(await s.tokens.get()).toBe('a');
    now.t = 61_000; // past the refresh point (half of 120 s), before expiry
    expect(await s.tokens.get()).toBe('a');
    now.t = 121_000;
    await expect(s.tokens.get()).rejects.toMatchObject({ code: 'store_unavailable', status: 503 });
  });

  it('ignores invalidation of a token it no longer holds', async () => {
    const now = { t: 0 };
    const s = source([ok('a'), ok('b'), ok('c')], now);
    expect(await s.tokens.get()).toBe('a');
    s.tokens.invalidate('a');
    expect(await s.tokens.get()).toBe('b');
    s.tokens.invalidate('a'); // a late 401 for the old token
    expect(await s.tokens.get()).toBe('b');
    expect(s.calls()).toBe(2);
  });

  it('keeps a token without expires_in until it is invalidated, and accepts a string lifetime', async () => {
    const now = { t: 0 };
    const s = source([() => json(200, { access_token: 'a', token_type: 'Bearer' }), ok('b', '30')], now);
    expect(await s.tokens.get()).toBe('a');
    now.t = 10 ** 9;
    expect(await s.tokens.get()).toBe('a');
    s.tokens.invalidate('a');
    expect(await s.tokens.get()).toBe('b');
  });

  it('refuses responses that are not RFC 6749 §5.1 bearer tokens', async () => {
    const now = { t: 0 };
    await expect(source([() => json(200, { token_type: 'Bearer' })], now).tokens.get()).rejects.toMatchObject({
      code: 'invalid_token_response',
    });
    await expect(
      source([() => json(200, { access_token: 'x', token_type: 'mac' })], now).tokens.get(),
    ).rejects.toMatchObject({ code: 'invalid_token_response' });
    await expect(source([() => new Response('nope', { status: 200 })], now).tokens.get()).rejects.toMatchObject({
      code: 'invalid_token_response',
    });
  });

  it('form-encodes client id and secret for Basic (RFC 6749 §2.3.1, Appendix B)', () => {
    expect(formUrlEncode("a b+c:d/é!*'()~")).toBe('a+b%2Bc%3Ad%2F%C3%A9%21*%27%28%29%7E');
    expect(clientSecretBasic('kw_kid_x', 'kw_sk_y')).toBe(
      `Basic ${Buffer.from('kw_kid_x:kw_sk_y').toString('base64')}`,
    );
  });
});
