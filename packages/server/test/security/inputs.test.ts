// Issue 16, finding 5: no input reaches a 500. Every route of the server, enumerated from the
// app itself, gets the bodies that broke or could break it: JSON nested 5,000 deep (before the
// strict parser was on the root, `POST /v1/whoami` with valid credentials answered 500, a
// RangeError in JSON.stringify: this file fails on the old code), a number JSON.parse turns into
// Infinity, a `__proto__` key, and a body over the limit. Each is sent with an admin key, so
// that a route that would let the body through to its handler does so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../src/http/bootstrap.js';
import { startTestServer, type TestServer } from '../support/server.js';

const BODY_LIMIT = 16 * 1024;

/** A route as the app has it: one method and its URL pattern. */
interface Route {
  readonly method: string;
  readonly url: string;
}

/**
 * Every route of the app, read from `printRoutes({ commonPrefix: false })`: a tree with one
 * node per path part, four characters of indentation per level, methods in parentheses.
 */
function routesOf(tree: string): Route[] {
  const routes: Route[] = [];
  const parts: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (match === null) continue;
    const depth = (match[1] ?? '').length / 4;
    parts.length = depth;
    parts.push(match[2] ?? '');
    if (match[3] === undefined) continue;
    for (const method of match[3].split(',')) routes.push({ method: method.trim(), url: parts.join('') });
  }
  return routes;
}

/** A concrete path for a pattern: each parameter a plausible value, the wildcard a name. */
function pathOf(url: string): string {
  return url.replace(/:[A-Za-z]+/g, 'kw_x').replace(/\*$/, 'x');
}

describe('no client input reaches a 5xx, on every route', () => {
  let t: TestServer;
  let routes: Route[];
  let authorization: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { bodyLimitBytes: BODY_LIMIT });
    const admin = await createAdmin(t.server.context.store, { email: 'root@example.com' }, { type: 'system' });
    if (!admin.ok) throw new Error(admin.code);
    authorization = `Basic ${Buffer.from(`${admin.value.key.id}:${admin.value.key.secret}`).toString('base64')}`;
    routes = routesOf(t.server.app.printRoutes({ commonPrefix: false }));
  });
  afterAll(() => t.close());

  it('finds the routes of the app', () => {
    const names = routes.map((r) => `${r.method} ${r.url}`);
    // A few from each module: a tree parsed wrongly would not have them.
    for (const name of [
      'POST /v1/whoami',
      'POST /oauth/token',
      'POST /v1/accounts',
      'PATCH /v1/keys/:id',
      'POST /v1/verify',
      'GET /healthz',
    ]) {
      expect(names).toContain(name);
    }
    expect(routes.length).toBeGreaterThan(20);
  });

  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const deepObject = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
  const bodies: { name: string; text: string }[] = [
    { name: 'arrays nested 5,000 deep', text: deep },
    { name: 'objects nested 5,000 deep', text: `{"metadata":${deepObject}}` },
    { name: 'a number past a double (1e999999)', text: '{"name":"x","n":1e999999}' },
    { name: 'a 5,000-digit integer', text: `{"name":"x","n":${'9'.repeat(5000)}}` },
    { name: 'a __proto__ key', text: '{"name":"x","__proto__":{"role":"admin"}}' },
    { name: 'a constructor.prototype key', text: '{"constructor":{"prototype":{"role":"admin"}}}' },
    // 413, or the refusal of a route that takes no JSON at all (the OAuth endpoints: 400).
    { name: 'a body over the limit', text: `{"name":"${'x'.repeat(BODY_LIMIT)}"}` },
  ];

  for (const body of bodies) {
    it(`answers ${body.name} with a 4xx on every route that reads a body, never a 5xx`, async () => {
      const seen: string[] = [];
      for (const route of routes) {
        const res = await fetch(`${t.url}${pathOf(route.url)}`, {
          method: route.method,
          headers: { authorization, 'content-type': 'application/json' },
          // GET and HEAD carry no body in fetch; they must still not fail on the headers.
          ...(route.method === 'GET' || route.method === 'HEAD' ? {} : { body: body.text }),
        });
        await res.arrayBuffer();
        const name = `${route.method} ${route.url} → ${res.status}`;
        seen.push(name);
        expect(res.status, name).toBeLessThan(500);
        if (route.method !== 'GET' && route.method !== 'HEAD' && route.method !== 'OPTIONS') {
          expect(res.status, name).toBeGreaterThanOrEqual(400);
        }
      }
      expect(seen.length).toBe(routes.length);
    }, 60_000);
  }

  it('refuses the deep body of the finding at POST /v1/whoami, with credentials, as invalid_input', async () => {
    const res = await fetch(`${t.url}/v1/whoami`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: deep,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_input');
  });

  it('refuses a body over the limit at POST /v1/whoami with 413', async () => {
    const res = await fetch(`${t.url}/v1/whoami`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: `{"a":"${'x'.repeat(BODY_LIMIT)}"}`,
    });
    expect(res.status).toBe(413);
  });

  it('refuses a number past a double instead of answering it as null', async () => {
    const res = await fetch(`${t.url}/v1/whoami`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: '{"n":1e999}',
    });
    expect(res.status).toBe(400);
  });

  it('still takes an ordinary JSON body and a form body at POST /v1/whoami', async () => {
    const json = await fetch(`${t.url}/v1/whoami`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: '{"a":[1,{"b":2.5e10}]}',
    });
    expect(json.status).toBe(200);
    expect(((await json.json()) as { body: unknown }).body).toEqual({ a: [1, { b: 2.5e10 }] });
    const form = await fetch(`${t.url}/v1/whoami`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    expect(form.status).toBe(200);
  });
});
