// RFC 9110 §15.5.6: a known path asked with a method it does not have is 405 with `Allow`,
// in the one JSON error shape (code `http_method_not_allowed`), before any authentication; an
// unknown path stays 404 `not_found`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, startTestServer, type TestServer } from './support/server.js';

describe('405 Method Not Allowed with Allow', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The methods of an `Allow` header, sorted. */
  function allowOf(res: Response): string[] {
    return (res.headers.get('allow') ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '')
      .sort();
  }

  async function expect405(res: Response, allowed: string[]): Promise<void> {
    expect(res.status).toBe(405);
    expect(allowOf(res)).toEqual([...allowed].sort());
    // Not an authentication failure: no challenge.
    expect(res.headers.get('www-authenticate')).toBeNull();
    const body = await jsonOf(res);
    expect(body).toEqual({
      error: { code: 'http_method_not_allowed', message: expect.any(String), requestId: expect.any(String) },
    });
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  }

  it('GET /oauth/token: 405, Allow: POST', async () => {
    await expect405(await fetch(`${t.url}/oauth/token`), ['POST']);
    // With a query string, and with credentials: the same answer.
    await expect405(
      await fetch(`${t.url}/oauth/token?grant_type=client_credentials`, {
        headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      }),
      ['POST'],
    );
  });

  it('OPTIONS /v1/whoami: 405, Allow: GET, HEAD, POST', async () => {
    await expect405(await fetch(`${t.url}/v1/whoami`, { method: 'OPTIONS' }), ['GET', 'HEAD', 'POST']);
  });

  it('PUT /v1/keys/<id>: 405 with the methods the key resource has', async () => {
    const res = await fetch(`${t.url}/v1/keys/kw_kid_doesnotmatter`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    await expect405(res, ['DELETE', 'GET', 'HEAD', 'PATCH']);
  });

  it('DELETE /v1/admin/audit: 405, Allow: GET, HEAD', async () => {
    await expect405(await fetch(`${t.url}/v1/admin/audit`, { method: 'DELETE' }), ['GET', 'HEAD']);
  });

  it('POST /healthz and DELETE /v1/verify: 405', async () => {
    await expect405(await fetch(`${t.url}/healthz`, { method: 'POST' }), ['GET', 'HEAD']);
    await expect405(await fetch(`${t.url}/v1/verify`, { method: 'DELETE' }), ['POST']);
  });

  it('an unknown path stays 404 not_found, whatever the method', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nothing-here'],
      ['DELETE', '/v1/nothing-here'],
      ['GET', '/v1/keys/a/b/c'],
      ['GET', '/oauth/tokens'],
    ] as const) {
      const res = await fetch(`${t.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('allow')).toBeNull();
      const body = await jsonOf(res);
      expect(body).toMatchObject({ error: { code: 'not_found' } });
      expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    }
  });

  it('a known method on a known path is not a 405', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.url}/v1/whoami`)).status).toBe(401);
  });
});
