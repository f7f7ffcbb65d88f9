// Bad input on every account, session and key endpoint: strict bodies (no coercion, no unknown or
// duplicated fields, no prototype keys), content types, sizes, queries and paths. Each answer is a
// 4xx in the one error shape with a code, never a 500, and no row changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, client, counts, type Login, PASSWORD } from './support/accounts-api.js';
import { startTestServer, type TestServer } from './support/server.js';

interface Case {
  name: string;
  raw?: { text: string; type?: string };
  body?: unknown;
  status: number;
  code: string;
}

const json = (text: string) => ({ text, type: 'application/json' });

/** Bad bodies every JSON endpoint must refuse, whatever its fields. */
function generic(valid: Record<string, unknown>): Case[] {
  const text = JSON.stringify(valid);
  const [firstName] = Object.keys(valid) as [string];
  const duplicated = `{${JSON.stringify(firstName)}:${JSON.stringify(valid[firstName])},${text.slice(1)}`;
  return [
    { name: 'invalid JSON', raw: json(`${text.slice(0, -1)},}`), status: 400, code: 'invalid_input' },
    { name: 'empty JSON body', raw: json(''), status: 400, code: 'invalid_input' },
    { name: 'JSON null', raw: json('null'), status: 400, code: 'invalid_input' },
    { name: 'JSON array', raw: json(`[${text}]`), status: 400, code: 'invalid_input' },
    { name: 'duplicated field', raw: json(duplicated), status: 400, code: 'invalid_input' },
    {
      name: 'duplicated field spelled with an escape',
      raw: json(`{"\\u00${firstName.charCodeAt(0).toString(16)}${firstName.slice(1)}":1,${text.slice(1)}`),
      status: 400,
      code: 'invalid_input',
    },
    {
      name: '__proto__ key',
      raw: json(`{"__proto__":{"role":"admin"},${text.slice(1)}`),
      status: 400,
      code: 'invalid_input',
    },
    {
      name: 'constructor.prototype key',
      raw: json(`{"constructor":{"prototype":{"role":"admin"}},${text.slice(1)}`),
      status: 400,
      code: 'invalid_input',
    },
    { name: 'unknown field', body: { ...valid, role: 'admin' }, status: 400, code: 'invalid_input' },
    {
      name: 'deep nesting',
      raw: json(`{"x":${'['.repeat(100)}${']'.repeat(100)}}`),
      status: 400,
      code: 'invalid_input',
    },
    { name: 'text/plain', raw: { text, type: 'text/plain' }, status: 415, code: 'media_type_unsupported' },
    {
      name: 'form body',
      raw: {
        text: new URLSearchParams(valid as Record<string, string>).toString(),
        type: 'application/x-www-form-urlencoded',
      },
      status: 415,
      code: 'media_type_unsupported',
    },
    { name: 'no content type', raw: { text }, status: 415, code: 'media_type_unsupported' },
    {
      name: 'oversized body',
      raw: json(JSON.stringify({ ...valid, pad: 'x'.repeat(70 * 1024) })),
      status: 413,
      code: 'body_too_large',
    },
  ];
}

describe('bad input on the account, session and key endpoints', () => {
  let t: TestServer;
  let api: ReturnType<typeof client>;
  let session: Login;
  let keyId: string;

  beforeAll(async () => {
    // Limits out of the way: this suite sends many requests from one address.
    const many = { limit: 10_000, windowSeconds: 60 };
    t = await startTestServer('sqlite', { limits: { loginsPerIp: many, loginsPerAccount: many } });
    api = client(t);
    await api.register('input@example.com');
    session = await api.login('input@example.com');
    const key = await api.call('POST', '/v1/keys', { as: session, body: { name: 'target' } });
    keyId = key.body.id;
  });
  afterAll(() => t?.close());

  async function expectRefused(method: string, path: string, as: Caller, cases: Case[]): Promise<void> {
    const before = await counts(t);
    for (const c of cases) {
      const answer = await api.call(method, path, { as, body: c.body, raw: c.raw });
      const label = `${method} ${path}: ${c.name}`;
      expect([answer.status, answer.body?.error?.code], label).toEqual([c.status, c.code]);
      expect(answer.body.error.requestId, label).toBe(answer.headers.get('x-request-id'));
      expect(typeof answer.body.error.message, label).toBe('string');
      expect(answer.body.error.message, label).not.toContain(PASSWORD);
    }
    expect(await counts(t), `${method} ${path}`).toEqual(before);
  }

  it('POST /v1/accounts', async () => {
    const valid = { email: 'new@example.com', password: PASSWORD };
    await expectRefused('POST', '/v1/accounts', undefined, [
      ...generic(valid),
      { name: 'missing password', body: { email: 'new@example.com' }, status: 400, code: 'invalid_input' },
      { name: 'missing email', body: { password: PASSWORD }, status: 400, code: 'invalid_input' },
      { name: 'array email', body: { ...valid, email: ['new@example.com'] }, status: 400, code: 'invalid_input' },
      { name: 'number password', body: { ...valid, password: 12345678901 }, status: 400, code: 'invalid_input' },
      { name: 'object displayName', body: { ...valid, displayName: { a: 1 } }, status: 400, code: 'invalid_input' },
      {
        name: 'overlong email',
        body: { ...valid, email: `${'a'.repeat(250)}@x.io` },
        status: 400,
        code: 'invalid_input',
      },
    ]);
  });

  it('POST /v1/sessions', async () => {
    const valid = { email: 'input@example.com', password: PASSWORD };
    await expectRefused('POST', '/v1/sessions', undefined, [
      ...generic(valid),
      { name: 'missing password', body: { email: 'input@example.com' }, status: 400, code: 'invalid_input' },
      { name: 'array password', body: { ...valid, password: [PASSWORD] }, status: 400, code: 'invalid_input' },
      { name: 'string signed (no coercion)', body: { ...valid, signed: 'true' }, status: 400, code: 'invalid_input' },
      { name: 'number signed (no coercion)', body: { ...valid, signed: 1 }, status: 400, code: 'invalid_input' },
      { name: 'empty password', body: { ...valid, password: '' }, status: 400, code: 'invalid_input' },
    ]);
  });

  it('POST /v1/account/password', async () => {
    const valid = { currentPassword: PASSWORD, newPassword: 'another fine passphrase' };
    await expectRefused('POST', '/v1/account/password', session, [
      ...generic(valid),
      { name: 'missing newPassword', body: { currentPassword: PASSWORD }, status: 400, code: 'invalid_input' },
      { name: 'array newPassword', body: { ...valid, newPassword: ['x'] }, status: 400, code: 'invalid_input' },
    ]);
    // Still the old password: nothing changed.
    await api.login('input@example.com');
  });

  it('POST /v1/keys', async () => {
    const valid = { name: 'new key' };
    await expectRefused('POST', '/v1/keys', session, [
      ...generic(valid),
      { name: 'missing name', body: {}, status: 400, code: 'invalid_input' },
      { name: 'string scopes', body: { name: 'k', scopes: 'read:x' }, status: 400, code: 'invalid_input' },
      { name: 'nested scopes', body: { name: 'k', scopes: [['read:x']] }, status: 400, code: 'invalid_input' },
      {
        name: 'string expiresIn (no coercion)',
        body: { name: 'k', expiresIn: '60' },
        status: 400,
        code: 'invalid_input',
      },
      { name: 'fractional expiresAt', body: { name: 'k', expiresAt: 1.5 }, status: 400, code: 'invalid_input' },
      { name: 'array metadata', body: { name: 'k', metadata: [1, 2] }, status: 400, code: 'invalid_input' },
      { name: 'string metadata', body: { name: 'k', metadata: '{}' }, status: 400, code: 'invalid_input' },
      {
        name: 'rateLimit with extra field',
        body: { name: 'k', rateLimit: { limit: 1, windowSeconds: 1, burst: 2 } },
        status: 400,
        code: 'invalid_input',
      },
      { name: 'null methods on create', body: { name: 'k', methods: null }, status: 400, code: 'invalid_input' },
      {
        name: '__proto__ inside metadata',
        raw: json('{"name":"k","metadata":{"__proto__":{"polluted":true}}}'),
        status: 400,
        code: 'invalid_input',
      },
      {
        // JSON.stringify (the store writes metadata with it) would overflow the stack: a 500.
        name: 'metadata nested 5000 levels deep',
        raw: json(`{"name":"k","metadata":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`),
        status: 400,
        code: 'invalid_input',
      },
      {
        name: 'duplicate inside metadata',
        raw: json('{"name":"k","metadata":{"a":1,"a":2}}'),
        status: 400,
        code: 'invalid_input',
      },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('PATCH /v1/keys/:id', async () => {
    const path = `/v1/keys/${keyId}`;
    await expectRefused('PATCH', path, session, [
      ...generic({ name: 'renamed' }),
      { name: 'empty object', body: {}, status: 400, code: 'invalid_input' },
      { name: 'string enabled', body: { enabled: 'false' }, status: 400, code: 'invalid_input' },
      { name: 'null name', body: { name: null }, status: 400, code: 'invalid_input' },
      {
        name: 'both expiries',
        body: { expiresAt: t.clock.t + 60_000, expiresIn: 60 },
        status: 400,
        code: 'invalid_input',
      },
      {
        name: 'bad scope with a valid name',
        body: { name: 'ok', scopes: ['a b'] },
        status: 400,
        code: 'scope_invalid',
      },
      { name: 'past expiry with enabled', body: { enabled: false, expiresAt: 1 }, status: 400, code: 'expiry_invalid' },
    ]);
    const key = await api.call('GET', path, { as: session });
    expect(key.body).toMatchObject({ name: 'target', status: 'active', expiresAt: null });
  });

  it('POST /v1/keys/:id/rotate', async () => {
    const path = `/v1/keys/${keyId}/rotate`;
    const cases = generic({ graceSeconds: 60 }).filter((c) => c.name !== 'empty JSON body');
    await expectRefused('POST', path, session, [
      ...cases,
      { name: 'negative grace', body: { graceSeconds: -1 }, status: 400, code: 'invalid_input' },
      { name: 'grace over 30 days', body: { graceSeconds: 31 * 86_400 }, status: 400, code: 'invalid_input' },
      { name: 'string grace', body: { graceSeconds: '60' }, status: 400, code: 'invalid_input' },
    ]);
  });

  it('queries and paths', async () => {
    const before = await counts(t);
    const cases: [string, string, number, string][] = [
      ['GET', '/v1/keys?includeRevoked=maybe', 400, 'invalid_input'],
      ['GET', '/v1/keys?limit=5', 400, 'invalid_input'],
      ['GET', `/v1/keys/${'k'.repeat(65)}`, 400, 'invalid_input'],
      ['DELETE', `/v1/sessions/${'s'.repeat(65)}`, 400, 'invalid_input'],
      ['DELETE', '/v1/sessions/nope', 404, 'not_found'],
      ['PUT', '/v1/keys', 405, 'http_method_not_allowed'],
      ['PUT', '/v1/nothing-here', 404, 'not_found'],
    ];
    for (const [method, path, status, code] of cases) {
      const answer = await api.call(method, path, { as: session });
      expect([answer.status, answer.body?.error?.code], `${method} ${path}`).toEqual([status, code]);
    }
    expect(await counts(t)).toEqual(before);
  });

  it('an unauthenticated caller never reaches validation or the store', async () => {
    const before = await counts(t);
    for (const [method, path] of [
      ['POST', '/v1/keys'],
      ['PATCH', `/v1/keys/${keyId}`],
      ['POST', `/v1/keys/${keyId}/rotate`],
      ['POST', '/v1/account/password'],
    ] as const) {
      const answer = await api.call(method, path, { body: { nonsense: [1] } });
      expect([answer.status, answer.body.error.code], `${method} ${path}`).toEqual([401, 'credentials_missing']);
    }
    expect(await counts(t)).toEqual(before);
  });
});
