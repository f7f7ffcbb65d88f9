// A typed client generated from the served OpenAPI document works as a client author would use
// it: openapi-typescript turns the document into types, calls written with openapi-fetch against
// them compile under tsc (strict) and then run against the server, and a wrong call does not
// compile. The generated types are the contract a client author gets, so a document that loses
// a body schema, a response schema or a path fails here.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, startTestServer, type TestServer } from './support/server.js';

const root = new URL('../../../', import.meta.url).pathname;
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** Runs a tool of the repository; its exit status and output, whether it succeeded or not. */
async function tool(name: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(bin(name), args, {
      cwd,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

// The calls a client author writes. Every result is used through its generated type: a field
// the document lost, or a type it changed, fails the compilation.
const CALLS = `import createClient from 'openapi-fetch';
import type { paths } from './api.js';

interface Whoami {
  readonly principal: { readonly method: string };
}

const basic = (id: string, secret: string): string =>
  \`Basic \${Buffer.from(\`\${id}:\${secret}\`).toString('base64')}\`;

export async function calls(baseUrl: string, email: string, password: string) {
  const client = createClient<paths>({ baseUrl });

  const registered = await client.POST('/v1/accounts', { body: { email, password } });
  if (registered.error !== undefined) throw new Error(\`register: \${registered.error.error.code}\`);
  const login = await client.POST('/v1/sessions', { body: { email, password } });
  if (login.error !== undefined) throw new Error(\`login: \${login.error.error.code}\`);
  const session = { authorization: \`Bearer \${login.data.token}\` };

  // Create a key (operation createKey).
  const created = await client.POST('/v1/keys', {
    headers: session,
    body: { name: 'typed client', scopes: ['reports:read'], expiresIn: 3600 },
  });
  if (created.error !== undefined) throw new Error(\`create: \${created.error.error.code}\`);
  const id: string = created.data.id;
  const secret: string = created.data.secret;

  // List keys (listKeys) and read one (getKey, a path parameter).
  const listed = await client.GET('/v1/keys', { headers: session });
  if (listed.error !== undefined) throw new Error(\`list: \${listed.error.error.code}\`);
  const names: string[] = listed.data.keys.map((key) => key.name);
  const one = await client.GET('/v1/keys/{id}', { params: { path: { id } }, headers: session });
  const scopes: string[] = one.data?.scopes ?? [];

  // Who am I (getWhoami), with the key as HTTP Basic. Its errors are typed; its answer is not
  // (the route declares no response schema), so it is read as JSON.
  const me = await client.GET('/v1/whoami', { headers: { authorization: basic(id, secret) }, parseAs: 'text' });
  if (me.error !== undefined) throw new Error(\`whoami: \${me.error.error.code}\`);
  const method: string = (JSON.parse(me.response.status === 200 ? String(me.data) : '{}') as Whoami).principal.method;

  // A token request (requestToken): client_secret_basic, a form body, the RFC 6749 §5.2 error shape.
  const token = await client.POST('/oauth/token', {
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: { grant_type: 'client_credentials', scope: 'reports:read' },
  });
  if (token.error !== undefined) throw new Error(\`token: \${token.error.error}\`);
  const tokenType: 'Bearer' = token.data.token_type;
  const expiresIn: number = token.data.expires_in;
  const asToken = await client.GET('/v1/whoami', {
    headers: { authorization: \`Bearer \${token.data.access_token}\` },
    parseAs: 'text',
  });
  const tokenMethod = (JSON.parse(String(asToken.data)) as Whoami).principal.method;

  return { id, names, scopes, method, tokenType, expiresIn, tokenMethod };
}

// Compiled, never run: the types refuse this call.
export async function refused(baseUrl: string) {
  const client = createClient<paths>({ baseUrl });
  // @ts-expect-error: a key's name is a string, not a number
  await client.POST('/v1/keys', { body: { name: 42 } });
}
`;

// The same wrong call without the directive: the compiler must name it (so the directive above
// cannot pass for an unrelated reason).
const WRONG = `import createClient from 'openapi-fetch';
import type { paths } from './api.js';

export async function wrong(baseUrl: string) {
  const client = createClient<paths>({ baseUrl });
  await client.POST('/v1/keys', { body: { name: 42 } });
}
`;

const COMPILER_OPTIONS = {
  target: 'ES2022',
  lib: ['ES2023', 'DOM'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  // The libraries' own declarations are not under test; the generated api.ts is checked.
  skipLibCheck: true,
  outDir: 'out',
};

describe('a typed client from /openapi.json (openapi-typescript, openapi-fetch, tsc)', () => {
  let t: TestServer;
  let dir: string;
  let generated: string;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
    // Inside the repository's node_modules, so that openapi-fetch and @types/node resolve as
    // they do for a client author's project that depends on them.
    dir = mkdtempSync(join(root, 'node_modules', '.openapi-client-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    const res = await fetch(`${t.url}/openapi.json`);
    expect(res.status).toBe(200);
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(await jsonOf(res)));
    const gen = await tool('openapi-typescript', ['openapi.json', '--output', 'api.ts'], dir);
    expect(gen.code, gen.output).toBe(0);
    generated = readFileSync(join(dir, 'api.ts'), 'utf8');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('generates the paths and operations, named by operationId', () => {
    expect(generated).toContain('export interface paths');
    for (const path of ['"/v1/keys"', '"/v1/keys/{id}"', '"/v1/whoami"', '"/oauth/token"', '"/metrics"'])
      expect(generated).toContain(path);
    for (const id of ['createKey', 'listKeys', 'getKey', 'getWhoami', 'requestToken', 'getMetrics'])
      expect(generated).toMatch(new RegExp(`\\b${id}: \\{`));
  });

  it('compiles the calls (the wrong one marked @ts-expect-error) and they run against the server', async () => {
    writeFileSync(join(dir, 'calls.ts'), CALLS);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: COMPILER_OPTIONS, files: ['calls.ts'] }),
    );
    const tsc = await tool('tsc', ['-p', 'tsconfig.json'], dir);
    expect(tsc.output).toBe('');
    expect(tsc.code).toBe(0);

    const { calls } = (await import(pathToFileURL(join(dir, 'out', 'calls.js')).href)) as {
      calls: (baseUrl: string, email: string, password: string) => Promise<Record<string, unknown>>;
    };
    const result = await calls(t.url, 'typed@example.com', 'a long passphrase for the typed client');
    expect(result).toMatchObject({
      id: expect.stringMatching(/^kw_kid_/),
      names: ['typed client'],
      scopes: ['reports:read'],
      method: 'basic',
      tokenType: 'Bearer',
      tokenMethod: 'oauth2',
    });
    expect(result.expiresIn).toBeGreaterThan(0);
  }, 120_000);

  it('refuses the wrong call without the directive, naming it', async () => {
    writeFileSync(join(dir, 'wrong.ts'), WRONG);
    writeFileSync(
      join(dir, 'tsconfig.wrong.json'),
      JSON.stringify({ compilerOptions: { ...COMPILER_OPTIONS, noEmit: true }, files: ['wrong.ts'] }),
    );
    const tsc = await tool('tsc', ['-p', 'tsconfig.wrong.json'], dir);
    expect(tsc.code).not.toBe(0);
    // One error, on the wrong call's line: a number where the key's name (a string) belongs.
    expect(tsc.output).toMatch(
      /^wrong\.ts\(6,\d+\): error TS2322: Type 'number' is not assignable to type 'string'\./m,
    );
    expect(tsc.output.match(/error TS/g)).toHaveLength(1);
  }, 120_000);
});
