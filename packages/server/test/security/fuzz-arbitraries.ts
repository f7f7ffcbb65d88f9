// The fuzzer's generators (fast-check): every HTTP route of the server, methods, paths (known
// routes with mutated segments, and random ones), headers with Authorization values of every
// scheme (Basic, Bearer with kw_ prefixes, OAuth with random parameters, garbage), and bodies
// (JSON, forms, random bytes, deep nesting). Shared by fuzz.test.ts and any longer run.
import fc from 'fast-check';

/** A route of the server: method, path with `:params`, and whether it answers without credentials. */
export interface Route {
  method: string;
  path: string;
  /** Answers a 2xx without any credentials (else: never without valid credentials). */
  public: boolean;
}

const r = (method: string, path: string, isPublic = false): Route => ({ method, path, public: isPublic });

/**
 * Every route, as registered in src/http. Public: liveness and readiness, metrics (no
 * `metricsToken` configured), the OpenAPI document and its page, the JWK set, the OAuth
 * metadata, registration and login. The `/oauth/*` endpoints need client authentication, so
 * they are protected: random client credentials never get a 2xx there.
 */
export const ROUTES: readonly Route[] = [
  r('GET', '/healthz', true),
  r('GET', '/readyz', true),
  r('GET', '/metrics', true),
  r('GET', '/openapi.json', true),
  r('GET', '/docs', true),
  r('GET', '/.well-known/jwks.json', true),
  r('GET', '/.well-known/oauth-authorization-server', true),
  r('POST', '/v1/accounts', true),
  r('POST', '/v1/sessions', true),
  r('POST', '/oauth/token'),
  r('POST', '/oauth/introspect'),
  r('POST', '/oauth/revoke'),
  r('GET', '/v1/whoami'),
  r('POST', '/v1/whoami'),
  r('POST', '/v1/verify'),
  r('GET', '/v1/account'),
  r('POST', '/v1/account/password'),
  r('GET', '/v1/sessions'),
  r('DELETE', '/v1/sessions'),
  r('GET', '/v1/sessions/current'),
  r('DELETE', '/v1/sessions/current'),
  r('DELETE', '/v1/sessions/:id'),
  r('GET', '/v1/keys'),
  r('POST', '/v1/keys'),
  r('GET', '/v1/keys/:id'),
  r('PATCH', '/v1/keys/:id'),
  r('DELETE', '/v1/keys/:id'),
  r('POST', '/v1/keys/:id/rotate'),
  r('GET', '/v1/admin/accounts'),
  r('GET', '/v1/admin/accounts/:accountId'),
  r('POST', '/v1/admin/accounts/:accountId/disable'),
  r('POST', '/v1/admin/accounts/:accountId/enable'),
  r('DELETE', '/v1/admin/accounts/:accountId'),
  r('GET', '/v1/admin/accounts/:accountId/keys'),
  r('GET', '/v1/admin/accounts/:accountId/sessions'),
  r('GET', '/v1/admin/accounts/:accountId/tokens'),
  r('GET', '/v1/admin/keys/:keyId'),
  r('PATCH', '/v1/admin/keys/:keyId'),
  r('POST', '/v1/admin/keys/:keyId/disable'),
  r('POST', '/v1/admin/keys/:keyId/enable'),
  r('POST', '/v1/admin/keys/:keyId/revoke'),
  r('POST', '/v1/admin/keys/:keyId/rotate'),
  r('GET', '/v1/admin/keys/:keyId/tokens'),
  r('GET', '/v1/admin/keys/:keyId/usage'),
  r('DELETE', '/v1/admin/sessions/:sessionId'),
  r('DELETE', '/v1/admin/tokens/:tokenId'),
  r('GET', '/v1/admin/audit'),
];

const PUBLIC_PATHS = new Map<string, Set<string>>();
for (const route of ROUTES) {
  if (!route.public) continue;
  const methods = PUBLIC_PATHS.get(route.path) ?? new Set<string>();
  methods.add(route.method);
  // Fastify answers HEAD for every GET route.
  if (route.method === 'GET') methods.add('HEAD');
  PUBLIC_PATHS.set(route.path, methods);
}

/**
 * Whether a request may get a 2xx without valid credentials: a public route (query ignored,
 * trailing slash tolerated), or the OPTIONS/HEAD of one.
 */
export function isPublic(method: string, url: string): boolean {
  // As the server sees it: dot segments resolved, as the URL parser of the client does.
  let path = new URL(url.split('?')[0] ?? '/', 'http://fuzz.invalid').pathname;
  try {
    path = decodeURI(path);
  } catch {
    // Not decodable: compared as sent.
  }
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const methods = PUBLIC_PATHS.get(path);
  return methods?.has(method.toUpperCase()) === true;
}

/** Values that a key, session, account or token id segment might take, right or wrong. */
export const idSegment = (known: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...known, 'kw_kid_0000000000000000000000', '..', '.', '%2e%2e', '%00', '%ff', 'null', '-1'),
    fc.stringMatching(/^[A-Za-z0-9_\-.~%]{0,60}$/),
    fc.string({ unit: 'binary', maxLength: 30 }).map((s) => encodeURIComponent(s)),
    fc.constant('a'.repeat(5000)),
  );

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE'];

/** A method: usually a common one, sometimes another that Node's parser knows. */
export const method: fc.Arbitrary<string> = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: fc.constantFrom('PROPFIND', 'M-SEARCH', 'PURGE', 'LOCK', 'SEARCH', 'QUERY') },
);

const query: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('oauth_token', 'access_token', 'oauth_nonce', 'scope', 'a', '__proto__', 'x[y]', 'token'),
        fc.string({ maxLength: 20 }),
      ),
      { maxLength: 5 },
    )
    .map((pairs) => `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`),
  fc.constantFrom('?', '?&&&', '?a', '?=%', '?%zz', `?${'a=1&'.repeat(2000)}`),
);

/** A path: a known route with its parameters filled (maybe mutated), or a random path. */
export const path = (known: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom(...ROUTES.map((x) => x.path)), idSegment(known), query, fc.boolean())
        .map(([p, id, q, slash]) => `${p.replace(/:[A-Za-z]+/g, id)}${slash ? '/' : ''}${q}`),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.array(fc.stringMatching(/^[A-Za-z0-9_\-.~%:@!$&'()*+,;=]{0,12}$/), { minLength: 1, maxLength: 6 }),
          query,
        )
        .map(([parts, q]) => `/${parts.join('/')}${q}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '/v1/../v1/keys',
        '/v1/admin/../../healthz',
        '//v1/keys',
        '/V1/KEYS',
        '/v1/keys%2f..',
        '/v1/keys;jsessionid=1',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/v1/whoami%00',
        '/v1/whoami#frag',
        `/${'a/'.repeat(500)}`,
      ),
    },
  );

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
const kwPrefix = fc.constantFrom('kw_key_', 'kw_at_', 'kw_st_', 'kw_kid_', 'kw_sk_', 'kw_ss_', 'kw_', 'kw_xx_');
const tail = fc.stringMatching(/^[0-9A-Za-z]{0,70}$/);

/** A header value: printable ASCII (what an HTTP client can send). */
const headerText = (maxLength = 100) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${maxLength}}$`));

/** Authorization values of every scheme, with a real key id now and then (the secret is never right). */
export const authorization = (keyIds: readonly string[]): fc.Arbitrary<string | undefined> => {
  const keyId = fc.oneof(
    fc.constantFrom(...keyIds),
    kwPrefix.chain((p) => tail.map((t) => p + t)),
    headerText(30),
  );
  const basic = fc.oneof(
    fc
      .tuple(
        keyId,
        fc.oneof(
          kwPrefix.chain((p) => tail.map((t) => p + t)),
          headerText(40),
        ),
      )
      .map(([id, secret]) => `Basic ${b64(`${id}:${secret}`)}`),
    headerText(60).map((s) => `Basic ${s}`),
    fc.constantFrom('Basic', 'Basic ', 'Basic ====', `Basic ${b64(':')}`, `Basic ${b64('a')}`, 'basic Og=='),
  );
  const bearer = fc.oneof(
    fc.tuple(kwPrefix, tail).map(([p, t]) => `Bearer ${p}${t}`),
    fc
      .tuple(fc.constantFrom('eyJhbGciOiJub25lIn0', 'eyJhbGciOiJFZERTQSJ9'), headerText(60))
      .map(([h, rest]) => `Bearer ${h}.${rest.replace(/ /g, '')}`),
    headerText(80).map((s) => `Bearer ${s}`),
    fc.constantFrom('Bearer', 'Bearer ', 'bearer  x', `Bearer ${'A'.repeat(9000)}`),
  );
  const oauthParam = fc.tuple(
    fc.oneof(
      fc.constantFrom(
        'oauth_consumer_key',
        'oauth_nonce',
        'oauth_timestamp',
        'oauth_signature',
        'oauth_signature_method',
        'oauth_token',
        'oauth_version',
        'oauth_body_hash',
        'realm',
      ),
      fc.stringMatching(/^[a-z_]{1,12}$/),
    ),
    fc.oneof(fc.constantFrom(...keyIds, 'HMAC-SHA256', 'PLAINTEXT', '1.0', '0', '99999999999'), headerText(30)),
    fc.boolean(),
  );
  const oauth = fc
    .array(oauthParam, { maxLength: 10 })
    .map(
      (params) =>
        `OAuth ${params.map(([k, v, quoted]) => (quoted ? `${k}="${encodeURIComponent(v)}"` : `${k}=${v}`)).join(', ')}`,
    );
  const garbage = fc.oneof(
    headerText(120),
    fc.constantFrom('Digest username="a"', 'Negotiate YII=', 'ApiKey x', 'OAuth', 'OAuth ,,,,', 'OAuth a="', '  '),
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: basic },
    { weight: 3, arbitrary: bearer },
    { weight: 3, arbitrary: oauth },
    { weight: 1, arbitrary: garbage },
  );
};

/** Other headers an attacker sets: forwarding, content type, API-key headers, cookies. */
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'x-forwarded-for',
        'x-forwarded-proto',
        'x-forwarded-host',
        'forwarded',
        'x-api-key',
        'cookie',
        'accept',
        'content-encoding',
        'x-real-ip',
        'origin',
      ),
      headerText(60),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => Object.fromEntries(pairs));

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'text/plain',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/merge-patch+json',
  '',
];

/** JSON nested `depth` deep, as arrays or objects. */
export function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** A body and its content type (either may be absent). */
export const body: fc.Arbitrary<{ type?: string; payload?: string | Buffer }> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({}) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...CONTENT_TYPES), fc.jsonValue({ maxDepth: 4 })).map(([type, v]) => ({
      type,
      payload: JSON.stringify(v) ?? 'null',
    })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record(
        {
          email: fc.oneof(fc.emailAddress(), fc.string({ maxLength: 20 })),
          password: fc.string({ maxLength: 40 }),
          name: fc.string({ maxLength: 20 }),
          scopes: fc.array(fc.constantFrom('keyward:admin', 'read', 'keyward:verify', ''), { maxLength: 3 }),
          role: fc.constantFrom('admin', 'member'),
          accountId: fc.string({ maxLength: 20 }),
          method: fc.constantFrom('GET', 'POST'),
          url: fc.constantFrom('/', '/x?y=1', 'http://evil'),
          headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
          remoteAddress: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 10 })),
          __proto__: fc.constant({ admin: true }),
        },
        { requiredKeys: [] },
      )
      .map((v) => ({ type: 'application/json', payload: JSON.stringify(v) })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8'),
        fc.array(
          fc.tuple(
            fc.constantFrom('grant_type', 'scope', 'client_id', 'client_secret', 'token', 'token_type_hint', 'a'),
            fc.oneof(fc.constantFrom('client_credentials', 'password', ''), fc.string({ maxLength: 30 })),
          ),
          { maxLength: 6 },
        ),
      )
      .map(([type, pairs]) => ({
        type,
        payload: pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...CONTENT_TYPES), fc.uint8Array({ maxLength: 200 }))
      .map(([type, bytes]) => ({ type, payload: Buffer.from(bytes) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded'),
        fc.integer({ min: 100, max: 20_000 }),
        fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>,
      )
      .map(([type, depth, kind]) => ({ type, payload: nested(depth, kind) })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { type: 'application/json', payload: '{"__proto__":{"role":"admin"}}' },
      { type: 'application/json', payload: '{"constructor":{"prototype":{"x":1}}}' },
      { type: 'application/json', payload: '{"a":1,"a":2}' },
      { type: 'application/json', payload: '\uFEFF{}' },
      { type: 'application/json', payload: '{' },
      { type: 'application/json', payload: '' },
      { type: 'application/json', payload: '1e999999' },
      { type: 'application/json', payload: `"${'\\u0000'.repeat(100)}"` },
      { type: 'application/x-www-form-urlencoded', payload: '%' },
      { type: 'application/x-www-form-urlencoded', payload: 'a=%ff%fe' },
      { type: 'application/x-www-form-urlencoded', payload: '&'.repeat(10_000) },
    ),
  },
);
