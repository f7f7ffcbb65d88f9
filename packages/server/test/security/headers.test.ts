// Issue 16, finding 7: headers on every response, and no input echoed in an error message.
// On the old code these fail: no Strict-Transport-Security over TLS or behind a trusted proxy
// that says https, no nosniff on API successes, no Cache-Control on a credentialed 200 such as
// GET /v1/whoami, and the 404 message quoted the request path (Fastify's media-type and bad-URL
// messages and the duplicate-key message quoted the request too).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../src/http/bootstrap.js';
import { HSTS } from '../../src/http/headers.js';
import { startTestServer, type TestServer } from '../support/server.js';

const MARKER = 'zq7marker';

async function basicOf(t: TestServer): Promise<string> {
  const admin = await createAdmin(t.server.context.store, { email: 'root@example.com' }, { type: 'system' });
  if (!admin.ok) throw new Error(admin.code);
  return `Basic ${Buffer.from(`${admin.value.key.id}:${admin.value.key.secret}`).toString('base64')}`;
}

describe('headers on every response (plain HTTP, no trusted proxy)', () => {
  let t: TestServer;
  let authorization: string;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { tokenFormat: 'jwt' });
    authorization = await basicOf(t);
  });
  afterAll(() => t.close());

  const cases: { name: string; path: string; init?: RequestInit; credentialed?: boolean }[] = [
    { name: 'health', path: '/healthz' },
    { name: 'a credentialed 200', path: '/v1/whoami', credentialed: true },
    { name: 'a 401', path: '/v1/whoami' },
    { name: 'a 404', path: `/no/${MARKER}` },
    { name: 'a 405', path: '/v1/whoami', init: { method: 'DELETE' } },
    { name: 'a 400 before routing', path: `/v1/%zz${MARKER}` },
    { name: 'the OpenAPI document', path: '/openapi.json' },
    { name: 'the docs page', path: '/docs' },
    { name: 'the JWKS', path: '/.well-known/jwks.json' },
    { name: 'the JWKS, credentialed', path: '/.well-known/jwks.json', credentialed: true },
  ];

  for (const c of cases) {
    it(`${c.name}: nosniff; no HSTS over plain HTTP; no-store when credentialed or an error`, async () => {
      const res = await fetch(`${t.url}${c.path}`, {
        ...c.init,
        headers: c.credentialed === true ? { authorization } : {},
      });
      await res.arrayBuffer();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toBeNull();
      if (c.credentialed === true || res.status >= 400) expect(res.headers.get('cache-control')).toBe('no-store');
      if (c.credentialed === true) expect(res.status).toBe(200);
    });
  }

  it('keeps the public caching of an anonymous success that chose it (the JWKS)', async () => {
    const res = await fetch(`${t.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
  });

  it('serves HTML only with a CSP that allows no script', async () => {
    const res = await fetch(`${t.url}/docs`);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/(^|; )default-src 'none'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src|unsafe-inline|unsafe-eval/);
    expect(await res.text()).not.toMatch(/<script|\son[a-z]+=/i);
  });

  it('does not believe X-Forwarded-Proto from a peer that is not a trusted proxy', async () => {
    const res = await fetch(`${t.url}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  describe('no input echoed in an error message', () => {
    const echoes: { name: string; path: string; init: RequestInit }[] = [
      { name: 'a 404', path: `/nothing/${MARKER}?q=${MARKER}`, init: {} },
      { name: 'a malformed percent-encoding', path: `/v1/%zz${MARKER}`, init: {} },
      {
        name: 'an unsupported media type',
        path: '/v1/whoami',
        init: { method: 'POST', headers: { 'content-type': `text/${MARKER}` }, body: 'x' },
      },
      {
        name: 'a duplicated JSON key',
        path: '/v1/whoami',
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: `{"${MARKER}":1,"${MARKER}":2}`,
        },
      },
      {
        name: 'a value the schema refuses',
        path: '/v1/accounts',
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: `${MARKER}@`, password: 'correct horse battery staple' }),
        },
      },
    ];
    for (const e of echoes) {
      it(e.name, async () => {
        const res = await fetch(`${t.url}${e.path}`, e.init);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        const text = await res.text();
        expect(JSON.parse(text).error.code).toMatch(/^\w+$/);
        expect(text).not.toContain(MARKER);
      });
    }
  });
});

describe('Strict-Transport-Security behind a trusted proxy that says https', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { trustProxy: ['127.0.0.1', '::1'] });
  });
  afterAll(() => t.close());

  it('is sent when the proxy says https, on successes and errors, and not when it says http', async () => {
    for (const path of ['/healthz', '/nowhere']) {
      const https = await fetch(`${t.url}${path}`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(https.headers.get('strict-transport-security')).toBe(HSTS);
      const http = await fetch(`${t.url}${path}`, { headers: { 'x-forwarded-proto': 'http' } });
      expect(http.headers.get('strict-transport-security')).toBeNull();
    }
  });
});

describe('Strict-Transport-Security over TLS', () => {
  let t: TestServer;
  let ca: string;
  const dir = mkdtempSync(join(tmpdir(), 'keyward-hsts-'));
  beforeAll(async () => {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
      ],
      { stdio: 'pipe' },
    );
    ca = execFileSync('cat', [certFile], { encoding: 'utf8' });
    t = await startTestServer('sqlite', { tls: { keyFile, certFile } });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is sent with a year of max-age on every response', async () => {
    for (const path of ['/healthz', '/v1/whoami', '/nowhere']) {
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const req = httpsRequest(`${t.url}${path}`, { ca }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers));
        });
        req.on('error', reject);
        req.end();
      });
      expect(headers['strict-transport-security']).toBe('max-age=31536000');
      expect(headers['x-content-type-options']).toBe('nosniff');
    }
  });
});
