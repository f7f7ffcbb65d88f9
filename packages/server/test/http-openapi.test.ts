// GET /openapi.json and GET /docs: every route but hidden ones is in the document, the document
// is structurally OpenAPI 3.1, and the docs page is self-contained and escaped.
import { BUILTIN_METHODS, KEY_METHODS, METHOD_TABLE } from '@keyward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, HTTP_METHODS, type OpenApiDocument, renderDocsPage, renderSchema } from '../src/http/docs.js';
import { fullOperationId, openapiRoutes, operationIdOf, registeredRoutes } from '../src/http/openapi.js';
import { CLIENT_AUTH_SCHEME, CLIENT_AUTHENTICATION } from '../src/http/schemas.js';
import { jsonOf, startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
let doc: OpenApiDocument & Record<string, unknown>;

beforeAll(async () => {
  t = await startTestServer('sqlite', { publicUrl: 'https://api.example.test' });
  const res = await fetch(`${t.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = await jsonOf(res);
});
afterAll(() => t?.close());

describe('GET /openapi.json', () => {
  it('says who it is: OpenAPI 3.1, Keyward, the package version, the public URL', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Keyward', version: pkg.version });
    expect(doc.servers).toEqual([{ url: 'https://api.example.test' }]);
    const schemes = doc.components?.securitySchemes as Record<string, Record<string, unknown>>;
    expect(schemes.basic).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(schemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.oauth1).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    expect(schemes.oauth1?.description).toMatch(/OAuth 1\.0a/);
    expect(schemes.oauth2).toMatchObject({
      type: 'oauth2',
      flows: { clientCredentials: { tokenUrl: 'https://api.example.test/oauth/token' } },
    });
    expect((doc.tags ?? []).map((tag) => tag.name)).toEqual(expect.arrayContaining(['admin', 'verify']));
  });

  it('lists every registered route except hidden ones (and HEAD twins), and /metrics', () => {
    // Every route registered after the OpenAPI plugin (all route modules are), as onRoute saw it.
    const routes = registeredRoutes(t.server.app);
    // Sanity of the route listing itself: it sees the routes of several modules.
    const urls = new Set(routes.map((r) => r.url));
    for (const known of ['/healthz', '/v1/whoami', '/v1/verify', '/v1/admin/accounts', '/openapi.json', '/docs'])
      expect(urls, known).toContain(known);
    for (const route of routes) {
      if (route.method === 'HEAD' || route.hidden) continue;
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${route.url}`).toBeDefined();
    }
    // /metrics is registered before the document plugin (so not in the listing) and documented by it.
    expect(t.server.app.hasRoute({ method: 'GET', url: '/metrics' })).toBe(true);
    expect(Object.keys(doc.paths['/metrics'] ?? {})).toEqual(['get']);
    const documented = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    const expected = routes.filter((r) => r.method !== 'HEAD' && !r.hidden).length;
    expect(documented).toBe(expected + 1);
  });

  it('keeps routes with schema.hide out (on an app of its own with a hidden and a visible route)', async () => {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    app.decorate('kw', { config: { publicUrl: 'https://x.test' } } as never);
    await app.register(openapiRoutes);
    app.get('/secret-ops', { schema: { hide: true, tags: ['operations'], summary: 'hidden' } }, async () => 'x');
    app.get('/visible', { schema: { tags: ['operations'], summary: 'visible' } }, async () => 'y');
    await app.ready();
    const own = (await app.inject('/openapi.json')).json();
    expect(Object.keys(own.paths)).toEqual(expect.arrayContaining(['/visible', '/openapi.json', '/docs']));
    expect(own.paths['/secret-ops']).toBeUndefined();
    expect(registeredRoutes(app).find((r) => r.url === '/secret-ops')?.hidden).toBe(true);
    expect((await app.inject('/docs')).body).not.toContain('/secret-ops');
    await app.close();
  });

  it('is structurally valid OpenAPI 3.1: paths, parameters, operations, responses, security, tags', () => {
    const problems: string[] = [];
    const schemes = new Set(Object.keys(doc.components?.securitySchemes ?? {}));
    const tags = new Set((doc.tags ?? []).map((tag) => tag.name));
    const operationIds = new Set<string>();
    // OpenAPI 3.1 schemas are JSON Schema 2020-12: the 3.0 `nullable` keyword does not exist.
    if (JSON.stringify(doc).includes('"nullable"')) problems.push('uses the OpenAPI 3.0 keyword nullable');
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!path.startsWith('/')) problems.push(`${path}: a path must start with /`);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item) as [string, Record<string, unknown>][]) {
        const where = `${method.toUpperCase()} ${path}`;
        if (!(HTTP_METHODS as readonly string[]).includes(method)) problems.push(`${where}: not an HTTP method`);
        const responses = op.responses as Record<string, { description?: unknown }> | undefined;
        if (responses === undefined || Object.keys(responses).length === 0) problems.push(`${where}: no responses`);
        for (const [status, response] of Object.entries(responses ?? {})) {
          if (!/^(?:[1-5](?:\d\d|XX)|default)$/.test(status)) problems.push(`${where}: bad status ${status}`);
          if (typeof response.description !== 'string') problems.push(`${where} ${status}: no description`);
        }
        if (typeof op.summary !== 'string' || op.summary === '') problems.push(`${where}: no summary`);
        const params = (op.parameters ?? []) as { name: string; in: string; required?: boolean; schema?: unknown }[];
        for (const name of templated) {
          const p = params.find((q) => q.in === 'path' && q.name === name);
          if (p === undefined || p.required !== true) problems.push(`${where}: path parameter ${name} not declared`);
        }
        const seen = new Set<string>();
        for (const p of params) {
          if (!['query', 'header', 'path', 'cookie'].includes(p.in)) problems.push(`${where}: bad parameter location`);
          if (p.schema === undefined) problems.push(`${where}: parameter ${p.name} has no schema`);
          if (seen.has(`${p.in}:${p.name}`)) problems.push(`${where}: parameter ${p.name} twice`);
          seen.add(`${p.in}:${p.name}`);
        }
        const body = op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined;
        if (body !== undefined && Object.keys(body.content ?? {}).length === 0) problems.push(`${where}: empty body`);
        for (const requirement of (op.security ?? []) as Record<string, string[]>[]) {
          for (const name of Object.keys(requirement))
            if (!schemes.has(name)) problems.push(`${where}: unknown security scheme ${name}`);
        }
        for (const tag of (op.tags ?? []) as string[])
          if (!tags.has(tag)) problems.push(`${where}: undeclared tag ${tag}`);
        if (typeof op.operationId === 'string') {
          if (operationIds.has(op.operationId)) problems.push(`${where}: operationId repeats`);
          operationIds.add(op.operationId);
        }
      }
    }
    // Every $ref points into the document.
    for (const ref of JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)) {
      const target = (ref[1] ?? '').replace(/^#\//, '').split('/');
      let node: unknown = doc;
      for (const part of target) node = (node as Record<string, unknown> | undefined)?.[part];
      if (node === undefined) problems.push(`dangling $ref ${ref[1]}`);
    }
    expect(problems).toEqual([]);
  });

  it('documents the admin and verify routes with tags, security and schemas', () => {
    const list = doc.paths['/v1/admin/accounts']?.get;
    expect(list?.tags).toEqual(['admin']);
    expect(list?.security).toContainEqual({ oauth2: ['keyward:admin'] });
    expect(list?.responses?.['200']).toBeDefined();
    expect(list?.responses?.['403']).toBeDefined();
    const verify = doc.paths['/v1/verify']?.post;
    expect(verify?.tags).toEqual(['verify']);
    expect(verify?.security).toContainEqual({ oauth2: ['keyward:verify'] });
    const schema = verify?.requestBody?.content?.['application/json']?.schema as Record<string, unknown>;
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['method', 'url', 'headers']));
    expect(verify?.requestBody?.required).toBe(true);
    // Rotation takes no body at all (the defaults), and the document says so.
    expect(doc.paths['/v1/keys/{id}/rotate']?.post?.requestBody?.required).toBe(false);
    expect(doc.paths['/v1/admin/keys/{keyId}/rotate']?.post?.requestBody?.required).toBe(false);
    // A route protected with protect() but no security in its schema still says it needs credentials.
    expect(doc.paths['/v1/whoami']?.get?.security?.length).toBeGreaterThan(0);
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
  });

  it('derives the security schemes and the method lists from the method table', () => {
    const schemes = doc.components?.securitySchemes as Record<string, { description?: string }>;
    // One scheme per `openapi` value of the table, each describing every method it documents,
    // and the OAuth endpoints' client authentication (a metrics token is not configured here).
    const expected = [...new Set(BUILTIN_METHODS.map((m) => METHOD_TABLE[m].openapi))];
    expect(Object.keys(schemes).sort()).toEqual([...expected, CLIENT_AUTH_SCHEME].sort());
    for (const m of BUILTIN_METHODS) {
      expect(schemes[METHOD_TABLE[m].openapi]?.description, m).toContain(METHOD_TABLE[m].summary);
    }
    // Routes that need a session name the schemes of the session methods, and only those.
    const sessionSchemes = new Set(
      BUILTIN_METHODS.filter((m) => METHOD_TABLE[m].credential === 'session').map((m) => METHOD_TABLE[m].openapi),
    );
    expect(doc.paths['/v1/keys']?.get?.security).toEqual([...sessionSchemes].map((name) => ({ [name]: [] })));
    // The key's methods are the table's key methods.
    const enumOf = (schema: unknown, ...path: string[]) =>
      (path.reduce((s, k) => (s as Record<string, unknown>)[k], schema) as { enum?: unknown }).enum;
    const keyBody = doc.paths['/v1/admin/keys/{keyId}']?.patch?.requestBody?.content?.['application/json']?.schema;
    const methods = (keyBody as { properties: { methods: { anyOf: unknown[] } } }).properties.methods.anyOf[0];
    expect(enumOf(methods, 'items')).toEqual(KEY_METHODS);
    // The principal's method is a string (a registered scheme names its own), its examples the table's.
    const verify = doc.paths['/v1/verify']?.post?.responses?.['200']?.content?.['application/json']?.schema;
    expect(JSON.stringify(verify)).toContain(JSON.stringify({ examples: BUILTIN_METHODS }).slice(1, -1));
  });
});

describe('what the document fills in for every route', () => {
  const ops = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, method, path, op })),
    );

  it('names every operation: a unique, stable operationId', () => {
    const ids = ops().map(({ where, op }) => [where, op.operationId] as const);
    for (const [where, id] of ids) expect(id, where).toMatch(/^[a-z][A-Za-z0-9]*$/);
    expect(new Set(ids.map(([, id]) => id)).size).toBe(ids.length);
    const byRoute = Object.fromEntries(ids);
    expect(byRoute).toMatchObject({
      'GET /v1/keys': 'listKeys',
      'POST /v1/keys': 'createKey',
      'GET /v1/keys/{id}': 'getKey',
      'PATCH /v1/keys/{id}': 'updateKey',
      'DELETE /v1/keys/{id}': 'deleteKey',
      'POST /v1/keys/{id}/rotate': 'rotateKey',
      'GET /v1/whoami': 'getWhoami',
      'POST /oauth/token': 'requestToken',
      'GET /v1/admin/accounts': 'listAdminAccounts',
      'GET /v1/admin/accounts/{accountId}/keys': 'listAdminAccountKeys',
      'POST /v1/admin/keys/{keyId}/disable': 'disableAdminKey',
      'GET /metrics': 'getMetrics',
      // One route, several methods: an operation each.
      'GET /v1/forward-auth': 'getForwardAuth',
      'POST /v1/forward-auth': 'postForwardAuth',
    });
  });

  it('derives names from method and path alone, and the full name when two would repeat', () => {
    expect(operationIdOf('get', '/v1/sessions')).toBe('listSessions');
    expect(operationIdOf('post', '/v1/accounts')).toBe('createAccount');
    expect(operationIdOf('get', '/v1/account')).toBe('getAccount');
    expect(operationIdOf('put', '/v1/keys/{id}')).toBe('replaceKey');
    expect(operationIdOf('post', '/v1/admin/accounts/{accountId}/enable')).toBe('enableAdminAccount');
    expect(operationIdOf('get', '/v1/admin/keys/{keyId}/usage')).toBe('getAdminKeyUsage');
    expect(operationIdOf('get', '/v1/accounts/{accountId}/policies')).toBe('listAccountPolicies');
    expect(operationIdOf('get', '/.well-known/jwks.json')).toBe('getJwks');
    expect(operationIdOf('post', '/v1/admin/accounts/{accountId}/keys')).toBe('createAdminAccountKey');
    expect(operationIdOf('delete', '/v1/forward-auth')).toBe('deleteForwardAuth');
    expect(fullOperationId('get', '/v1/admin/keys/{keyId}')).toBe('getV1AdminKeysByKeyId');
  });

  it('gives routes that repeat a derived name the full name, whoever registered first', async () => {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    app.decorate('kw', { config: { publicUrl: 'https://x.test' } } as never);
    await app.register(openapiRoutes);
    app.get('/v1/things', { schema: { summary: 'things' } }, async () => 'x');
    app.get('/v2/things', { schema: { summary: 'things, again' } }, async () => 'y');
    app.get('/v1/own', { schema: { summary: 'named', operationId: 'myOwnName' } }, async () => 'z');
    await app.ready();
    const own = (await app.inject('/openapi.json')).json();
    expect(own.paths['/v1/things'].get.operationId).toBe('getV1Things');
    expect(own.paths['/v2/things'].get.operationId).toBe('getV2Things');
    expect(own.paths['/v1/own'].get.operationId).toBe('myOwnName');
    // Public routes say so, and have a client error too.
    expect(own.paths['/v1/things'].get.security).toEqual([]);
    expect(Object.keys(own.paths['/v1/things'].get.responses)).toEqual(['200', '4XX']);
    await app.close();
  });

  it('declares security on every operation: protected, OAuth client authentication, or explicitly none', () => {
    for (const { where, op } of ops()) expect(Array.isArray(op.security), where).toBe(true);
    for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
      expect(doc.paths[path]?.post?.security, path).toEqual(CLIENT_AUTHENTICATION);
      // client_secret_post: the empty requirement, and the body's two fields.
      const body = doc.paths[path]?.post?.requestBody?.content?.['application/x-www-form-urlencoded']?.schema;
      expect(Object.keys((body as { properties: object }).properties)).toEqual(
        expect.arrayContaining(['client_id', 'client_secret']),
      );
    }
    const schemes = doc.components?.securitySchemes as Record<string, Record<string, unknown>>;
    expect(schemes[CLIENT_AUTH_SCHEME]).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(schemes[CLIENT_AUTH_SCHEME]?.description).toMatch(/client_secret_post/);
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs', '/v1/accounts', '/metrics'])
      expect(Object.values(doc.paths[path] ?? {})[0]?.security, path).toEqual([]);
    expect(doc.paths['/v1/whoami']?.post?.security?.length).toBeGreaterThan(0);
  });

  it('declares every scope a requirement names in the oauth2 flow', () => {
    const schemes = (doc.components?.securitySchemes ?? {}) as Record<
      string,
      { flows?: Record<string, { scopes: object }> }
    >;
    const flow = schemes.oauth2?.flows?.clientCredentials;
    const used = new Set(
      ops().flatMap(({ op }) =>
        (op.security ?? []).flatMap((req) => (req.oauth2 === undefined ? [] : [...req.oauth2])),
      ),
    );
    expect([...used].sort()).toEqual(['keyward:admin', 'keyward:verify']);
    expect(Object.keys(flow?.scopes ?? {}).sort()).toEqual([...used].sort());
  });

  it('gives every operation a 4xx response, protected ones those of every protected route', () => {
    for (const { where, op } of ops())
      expect(
        Object.keys(op.responses ?? {}).some((s) => s.startsWith('4')),
        where,
      ).toBe(true);
    expect(Object.keys(doc.paths['/v1/whoami']?.get?.responses ?? {}).sort()).toEqual(
      ['200', '400', '401', '403', '429', '503'].sort(),
    );
    // The OAuth endpoints keep their own RFC 6749 §5.2 error shape.
    const oauth400 = doc.paths['/oauth/token']?.post?.responses?.['400']?.content?.['application/json']?.schema;
    expect(JSON.stringify(oauth400)).toContain('error_description');
    expect(doc.paths['/healthz']?.get?.responses?.['4XX']?.description).toMatch(/before the route/);
  });

  it('documents /metrics behind the metrics token when one is configured, /.well-known/jwks.json in JWT mode', async () => {
    const jwt = await startTestServer('sqlite', {
      publicUrl: 'https://api.example.test',
      tokenFormat: 'jwt',
      metricsToken: 'scrape-0123456789abcdefghijklmnopqr',
    });
    try {
      const other: OpenApiDocument = await jsonOf(await fetch(`${jwt.url}/openapi.json`));
      const metrics = other.paths['/metrics']?.get;
      expect(metrics?.security).toEqual([{ metricsToken: [] }]);
      expect(Object.keys(metrics?.responses ?? {})).toEqual(['200', '401', '429']);
      expect(other.components?.securitySchemes?.metricsToken).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(other.paths['/.well-known/jwks.json']?.get?.operationId).toBe('getJwks');
      expect(doc.paths['/.well-known/jwks.json']).toBeUndefined();
      // The document matches the server: no token, 401; the token, the metrics.
      expect((await fetch(`${jwt.url}/metrics`)).status).toBe(401);
      const scrape = await fetch(`${jwt.url}/metrics`, {
        headers: { authorization: 'Bearer scrape-0123456789abcdefghijklmnopqr' },
      });
      expect(scrape.status).toBe(200);
      expect(Object.keys(metrics?.responses?.['200']?.content ?? {})).toEqual([scrape.headers.get('content-type')]);
    } finally {
      await jwt.close();
    }
  });
});

describe('GET /docs', () => {
  it('is one HTML page with every operation, nothing external, under a strict CSP', async () => {
    const res = await fetch(`${t.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|@import|url\(/i);
    expect(html).not.toMatch(/https?:\/\/(?!api\.example\.test)/);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(html).toContain(`${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code>`);
        if (op.summary !== undefined) expect(html).toContain(escapeHtml(op.summary));
      }
    }
    expect(html).toContain('Auth:');
    // The OAuth endpoints show their client authentication, public routes none.
    const authOf = (method: string, path: string) =>
      html
        .split(`${method}</span> <code>${escapeHtml(path)}</code>`)[1]
        ?.match(/<strong>Auth:<\/strong> ([^<]*)<\/p>/)?.[1];
    expect(authOf('POST', '/oauth/token')).toBe('clientSecretBasic or credentials in the request body');
    expect(authOf('GET', '/healthz')).toBe('none');
    expect(html).toContain('<code>remoteAddress</code>');
  });

  it('escapes whatever the document holds', () => {
    const evil = '<script>alert("x")</script>';
    const { html } = renderDocsPage({
      openapi: '3.1.0',
      info: { title: evil, version: '1', description: `\`${evil}\`` },
      servers: [{ url: `https://x/${evil}` }],
      tags: [{ name: evil, description: evil }],
      paths: {
        [`/a/${evil}`]: {
          get: {
            summary: evil,
            description: evil,
            tags: [evil],
            security: [{ [evil]: [evil] }],
            parameters: [{ name: evil, in: 'query', description: evil, schema: { type: 'string', pattern: evil } }],
            responses: { '200': { description: evil, content: { [evil]: { schema: { const: evil } } } } },
          },
        },
      },
      components: { securitySchemes: { [evil]: { type: evil, description: evil } } },
    });
    expect(html).not.toContain('<script');
    expect(html).toContain('&#60;script&#62;');
  });

  it('renders schemas readably: fields, required marks, unions, arrays, constraints', () => {
    const html = renderSchema(
      {
        type: 'object',
        required: ['a'],
        additionalProperties: false,
        properties: {
          a: { type: 'string', maxLength: 5, description: 'the a' },
          b: { type: 'array', items: { anyOf: [{ type: 'integer' }, { type: 'null' }] } },
          c: { $ref: '#/components/schemas/C' },
        },
      },
      {
        openapi: '3.1.0',
        info: { title: 't', version: '1' },
        paths: {},
        components: { schemas: { C: { const: 'c!' } } },
      },
    );
    expect(html).toContain('<code>a</code> <span class="req">required</span>: string');
    expect(html).toContain('maxLength 5');
    expect(html).toContain('the a');
    expect(html).toContain('array of integer or null');
    expect(html).toContain('&#34;c!&#34;');
  });
});
