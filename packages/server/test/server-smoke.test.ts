// The server's skeleton: health, the demo route with a key, the one error shape, metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
let basic: string;

beforeAll(async () => {
  t = await startTestServer('sqlite');
  const { store } = t.server.context;
  const account = await store.accounts.create(
    { email: 'smoke@example.com', password: 'correct horse battery' },
    { type: 'system' },
  );
  if (!account.ok) throw new Error(account.code);
  const key = await store.keys.create(account.value.id, { name: 'smoke' }, { type: 'system' });
  if (!key.ok) throw new Error(key.code);
  basic = `Basic ${Buffer.from(`${key.value.id}:${key.value.secret}`).toString('base64')}`;
});
afterAll(() => t?.close());

describe('server skeleton', () => {
  it('answers /healthz and /readyz', async () => {
    expect(await jsonOf(await fetch(`${t.url}/healthz`))).toEqual({ status: 'ok' });
    expect(await jsonOf(await fetch(`${t.url}/readyz`))).toEqual({ status: 'ok', dependencies: { store: 'ok' } });
  });

  it('lets a key through /v1/whoami and refuses a request without one in the one error shape', async () => {
    const ok = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic } });
    expect(ok.status).toBe(200);
    expect((await jsonOf(ok)).principal.method).toBe('basic');
    const no = await fetch(`${t.url}/v1/whoami`);
    expect(no.status).toBe(401);
    const body = await jsonOf(no);
    expect(body.error.code).toBe('credentials_missing');
    expect(body.error.requestId).toBe(no.headers.get('x-request-id'));
  });

  it('answers unknown routes with not_found and bad JSON with invalid_input', async () => {
    const missing = await fetch(`${t.url}/nope`);
    expect(missing.status).toBe(404);
    expect((await jsonOf(missing)).error.code).toBe('not_found');
    const bad = await fetch(`${t.url}/v1/whoami`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: '{"__proto__": {"x": 1}}',
    });
    expect(bad.status).toBe(400);
    expect((await jsonOf(bad)).error.code).toBe('invalid_input');
  });

  it('serves Prometheus metrics with verifications by method, outcome and code', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/keyward_verifications_total\{method="basic",outcome="accepted",code="none"\} [1-9]/);
    expect(text).toMatch(
      /keyward_verifications_total\{method="none",outcome="refused",code="credentials_missing"\} [1-9]/,
    );
    expect(text).toContain('keyward_http_request_duration_seconds_bucket');
  });
});

describe('metrics behind a token', () => {
  const token = 'mt_0123456789abcdefghijABCDEFGHIJ-._~';

  it('answers only the configured bearer token, limits wrong ones per address (never the right one), and never echoes the token', async () => {
    const guarded = await startTestServer('sqlite', {
      metricsToken: token,
      limits: { failuresPerIp: { limit: 4, windowSeconds: 60 } },
    });
    try {
      const scrape = (authorization?: string) =>
        fetch(`${guarded.url}/metrics`, authorization === undefined ? {} : { headers: { authorization } });
      const missing = await scrape();
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="keyward-metrics"');
      expect((await jsonOf(missing)).error.code).toBe('credentials_missing');
      for (const wrong of [`Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Basic ${btoa(`x:${token}`)}`]) {
        const res = await scrape(wrong);
        expect(res.status, wrong).toBe(401);
        expect((await jsonOf(res)).error.code).toBe('token_invalid');
      }
      // Four failures: the address is over its limit. A fifth wrong token is 429; the right
      // token still scrapes (the right secret is never refused because of failures).
      const limited = await scrape(`Bearer ${token}y`);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await scrape(`Bearer ${token}`)).status).toBe(200);
      expect(guarded.logs.join('\n')).not.toContain(token.slice(3));
    } finally {
      await guarded.close();
    }
    const open = await startTestServer('sqlite', { metricsToken: token });
    try {
      const ok = await fetch(`${open.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/keyward_http_requests_total/);
    } finally {
      await open.close();
    }
  });
});

describe('errors before routing', () => {
  it('answers a malformed percent-encoded path in the one shape', async () => {
    const res = await fetch(`${t.url}/v1/keys/%E0%A4%A`);
    expect(res.status).toBe(400);
    const body = await jsonOf(res);
    expect(body.error.code).toBe('invalid_input');
    expect(typeof body.error.requestId).toBe('string');
  });
});

describe('readiness', () => {
  it('answers /readyz with 503 store_unavailable when the store cannot be reached, while /healthz stays up', async () => {
    const down = await startTestServer('sqlite');
    try {
      await down.server.context.store.context.db.destroy();
      const ready = await fetch(`${down.url}/readyz`);
      expect(ready.status).toBe(503);
      const body = await jsonOf(ready);
      expect(body.error.code).toBe('store_unavailable');
      expect(body.error.message).toBe('Not ready: store not answering.');
      expect((await fetch(`${down.url}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${down.url}/metrics`)).text();
      expect(metrics).toMatch(/keyward_store_errors_total\{source="readyz"\} 1/);
    } finally {
      await down.close().catch(() => {});
    }
  });
});
