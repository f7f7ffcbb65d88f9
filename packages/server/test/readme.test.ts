// The README's server examples run as written, each with its output checked:
// - the quick start as a newcomer runs it: `npm start` in a fresh clone, then the second
//   terminal's commands against http://127.0.0.1:4000, then a graceful stop;
// - every `<!-- server-example: name -->` block (curl and SDK, one per method) against a real
//   server the test starts on http://127.0.0.1:4000, with the shell variables the README says
//   come from the quick start (KEY_ID, SECRET, TOKEN) taken from a key the test creates;
// - the endpoint list against the server's OpenAPI document, the configuration table against
//   config/load.ts, and the keyward.config.json example through loadConfig.
// The `<!-- example: name -->` blocks that need no server run in packages/core/test/docs.test.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer as netServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeywardConfigInput, loadConfig } from '../src/config/index.js';
import { createServer, type KeywardServer } from '../src/http/app.js';
import { createAdmin } from '../src/http/bootstrap.js';
import type { IssuedKey } from '../src/store/index.js';

const root = new URL('../../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The origin every README example calls. */
const BASE = 'http://127.0.0.1:4000';
const PORT = 4000;
/** The account the quick start registers, which the session examples log in as. */
const EMAIL = 'ada@example.com';
const PASSWORD = 'a long passphrase nobody guesses';

interface Block {
  readonly language: string;
  readonly code: string;
}

/** Code blocks marked `<!-- <kind>: <name> -->`, by name. */
function marked(kind: string): Map<string, Block> {
  const found = new Map<string, Block>();
  const pattern = new RegExp(`<!-- ${kind}: ([\\w-]+) -->\\n\`\`\`(\\w+)\\n([\\s\\S]*?)\`\`\``, 'g');
  for (const m of readme.matchAll(pattern)) {
    found.set(m[1] as string, { language: m[2] as string, code: m[3] as string });
  }
  return found;
}

/** The text of a README section, from its heading to the next heading of the same level. */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, `README has no section "${heading}"`).toBeGreaterThan(0);
  const level = heading.split(' ')[0] as string;
  const end = readme.indexOf(`\n${level} `, start + heading.length + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of a newcomer's shell: this machine's, without any Keyward setting. */
function newcomerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('KEYWARD_') && name !== 'PORT') env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs a program and collects its output. Asynchronous on purpose: the per-method examples call
 * a server in this very process, which a synchronous spawn would keep from answering.
 */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Runs one README block as a reader would: a shell block with `bash -euo pipefail`, a JS block
 * saved as `example.mjs` and run with node. Inside the repository's node_modules, so that
 * `@keyward/client`, `jose` and `npx keyward` resolve to this checkout, as they do for a reader
 * who saves the example in the repository.
 */
async function runBlock(block: Block, vars: Record<string, string>): Promise<Run> {
  const dir = mkdtempSync(join(root, 'node_modules', '.readme-server-example-'));
  try {
    const env = newcomerEnv(vars);
    if (block.language === 'sh') return await run('bash', ['-euo', 'pipefail', '-c', block.code], { cwd: dir, env });
    expect(block.language).toBe('js');
    writeFileSync(join(dir, 'example.mjs'), block.code);
    return await run(process.execPath, ['example.mjs'], { cwd: dir, env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fails with a message a reader can act on when something already listens on port 4000. */
async function assertPortFree(): Promise<void> {
  const problem = await new Promise<string | undefined>((resolve) => {
    const probe = netServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    probe.listen(PORT, '127.0.0.1', () => probe.close(() => resolve(undefined)));
  });
  if (problem !== undefined) {
    throw new Error(
      `port ${PORT} on 127.0.0.1 is not free (${problem}): the README's examples use ${BASE}. ` +
        `Stop whatever listens there (for example a Keyward started with npm start; ss -ltnp 'sport = :${PORT}' shows it) and run again.`,
    );
  }
}

/** The principals a run printed as `{"principal":…}` JSON lines (curl), in order. */
function principals(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{"principal":'))
    .map((line) => (JSON.parse(line) as { principal: Record<string, unknown> }).principal);
}

function expectSuccess(r: Run): void {
  expect(r.code, `exit ${r.code} (${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
}

describe('README quick start, run verbatim in a fresh clone', () => {
  const serverBlock = marked('quick-start').get('server');
  const clientBlock = marked('quick-start').get('client');
  // A temporary directory stands in for a fresh clone: the root package.json (for `npm start`)
  // and the repository's node_modules. CI has already run `npm ci` on the clean clone, which
  // installed and built every package into that node_modules, so the test skips the block's
  // `npm ci` line (running it again would reinstall the whole tree) and runs the rest as written.
  let clone = '';
  let server: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  let output = '';
  // Where a `.keyward` data directory would land if the server ignored its working directory.
  const elsewhere = [root, join(root, 'packages', 'server'), homedir(), process.cwd(), tmpdir()].map((d) =>
    join(d, '.keyward'),
  );
  const before = new Map(elsewhere.map((p) => [p, existsSync(p)]));

  beforeAll(async () => {
    expect(serverBlock?.language).toBe('sh');
    expect(clientBlock?.language).toBe('sh');
    await assertPortFree();
    clone = mkdtempSync(join(tmpdir(), 'keyward-clone-'));
    copyFileSync(join(root, 'package.json'), join(clone, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');

    const lines = (serverBlock?.code ?? '').split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^npm ci\b/);
    const start = lines[1] as string;
    expect(start).toMatch(/^npm start\b/);
    // Its own process group, so that cleanup after a failure can stop npm and the server alike.
    const child = spawn('bash', ['-c', start], {
      cwd: clone,
      env: newcomerEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const serving = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "Keyward is serving" within 60 s:\n${output}`)), 60_000);
      const collect = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('Keyward is serving')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (${code}) before serving:\n${output}`));
      });
    });
    await serving;
  }, 90_000);

  afterAll(() => {
    // Only after a failure is anything left: the process group this test started.
    if (server?.pid !== undefined && server.exitCode === null && server.signalCode === null) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {}
    }
    if (clone !== '') rmSync(clone, { recursive: true, force: true });
  });

  it('creates the first admin, its credentials in .keyward/first-admin.json (0600), not in the output', () => {
    const file = join(clone, '.keyward', 'first-admin.json');
    expect(output).toContain('Keyward created an admin account (admin@keyward.local)');
    expect(output).toContain(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const made = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(made.email).toBe('admin@keyward.local');
    expect(made.keyId).toMatch(/^kw_kid_\w+$/);
    for (const field of ['password', 'secret', 'token']) expect(output).not.toContain(made[field]);
    expect(output).toContain(`"publicUrl":"${BASE}"`);
  });

  it("runs the second terminal's commands: one principal per method", async () => {
    const r = await run('bash', ['-euo', 'pipefail', '-c', clientBlock?.code ?? ''], {
      cwd: clone,
      env: newcomerEnv(),
    });
    expectSuccess(r);
    // The registration's answer: the new account, a member.
    expect(r.stdout).toMatch(/^\{"id":"acc_\w+","email":"ada@example\.com",.*"role":"member"/m);
    expect(r.stdout).toContain('HTTP 200 OK');
    const seen = principals(r.stdout);
    expect(seen.map((p) => p.method)).toEqual(['basic', 'api-key', 'oauth2', 'oauth1']);
    const first = seen[0] as { accountId: string; keyId: string };
    expect(first.keyId).toMatch(/^kw_kid_\w+$/);
    expect(first.accountId).toMatch(/^acc_\w+$/);
    for (const p of seen) {
      expect(p).toEqual({ accountId: first.accountId, keyId: first.keyId, scopes: ['read:orders'], method: p.method });
    }
  }, 120_000);

  it('stops on SIGTERM with exit 0, its data in the clone only', async () => {
    // To `npm start` itself (bash runs its one command in place): the start script execs the
    // server, so npm's forwarding of the signal reaches it.
    const pid = server?.pid ?? 0;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGTERM');
    const { code, signal } = (await exited) ?? { code: null, signal: null };
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
    expect(output).toContain('"signal":"SIGTERM"');
    expect(output).toContain('stopping: finishing in-flight requests');
    expect(existsSync(join(clone, '.keyward', 'keyward.db'))).toBe(true);
    for (const path of elsewhere) expect(existsSync(path), `${path} was created`).toBe(before.get(path));
  }, 30_000);
});

interface RunningServer {
  server: KeywardServer;
  accountId: string;
  key: IssuedKey;
  admin: IssuedKey;
  logs: string[];
  close(): Promise<void>;
}

/**
 * A Keyward server on http://127.0.0.1:4000, as the README's examples expect, with the quick
 * start's account (`ada@example.com`), a key with scope `read:orders`, and an admin with a key.
 */
async function startOn4000(config: KeywardConfigInput = {}): Promise<RunningServer> {
  await assertPortFree();
  const dir = mkdtempSync(join(tmpdir(), 'keyward-readme-'));
  const logs: string[] = [];
  const resolved = loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, ...config } });
  expect(resolved.publicUrl).toBe(BASE);
  const server = await createServer(resolved, {
    logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } },
  });
  await server.app.listen({ port: resolved.port, host: resolved.host });
  const { store } = server.context;
  const account = await store.accounts.create({ email: EMAIL, password: PASSWORD }, { type: 'system' });
  if (!account.ok) throw new Error(account.code);
  const key = await store.keys.create(
    account.value.id,
    { name: 'readme', scopes: ['read:orders'] },
    { type: 'system' },
  );
  if (!key.ok) throw new Error(key.code);
  const admin = await createAdmin(store, { email: 'admin@example.com' }, { type: 'system' });
  if (!admin.ok) throw new Error(admin.code);
  return {
    server,
    accountId: account.value.id,
    key: key.value,
    admin: admin.value.key,
    logs,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What each server example must print; each entry checks the run and fails if it printed nothing useful. */
type Check = (r: Run, s: RunningServer) => void;

/** RFC 3986 percent-encoding as RFC 5849 §3.6 requires. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const CHECKS: Record<string, Check> = {
  'basic-curl': (r, s) => {
    expect(principals(r.stdout)).toEqual([
      { accountId: s.accountId, keyId: s.key.id, scopes: ['read:orders'], method: 'basic' },
    ]);
  },
  'basic-sdk': (r, s) => {
    expect(r.stdout).toContain(`keyId: '${s.key.id}'`);
    expect(r.stdout).toMatch(/method: 'basic'/);
    // A secret that is not even a Keyward string is refused before any lookup.
    expect(r.stdout).toMatch(/^refused 401 malformed_token$/m);
  },
  'api-key-curl': (r, s) => {
    expect(principals(r.stdout)).toEqual([
      { accountId: s.accountId, keyId: s.key.id, scopes: ['read:orders'], method: 'api-key' },
    ]);
  },
  'api-key-sdk': (r) => {
    expect(r.stdout).toBe("api-key [ 'read:orders' ]\n");
  },
  'oauth2-curl': (r, s) => {
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe("{ token_type: 'Bearer', expires_in: 3600, scope: 'read:orders' }");
    expect(principals(r.stdout)).toEqual([
      { accountId: s.accountId, keyId: s.key.id, scopes: ['read:orders'], method: 'oauth2' },
    ]);
    const introspection = JSON.parse(lines.find((line) => line.startsWith('{"active"')) ?? '{}');
    expect(introspection).toMatchObject({ active: true, scope: 'read:orders', client_id: s.key.id });
    expect(lines).toContain('revoke 200');
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ error: { code: 'token_invalid' } });
  },
  'oauth2-sdk': (r) => {
    expect(r.stdout).toBe('oauth2 true\n');
  },
  'jwt-curl': (r, s) => {
    expect(r.stdout).toContain(`client_id: '${s.key.id}'`);
    expect(r.stdout).toContain(`iss: '${BASE}'`);
    expect(r.stdout).toContain(`aud: '${BASE}'`);
    expect(r.stdout).toContain(`sub: '${s.accountId}'`);
    expect(principals(r.stdout)).toEqual([
      { accountId: s.accountId, keyId: s.key.id, scopes: ['read:orders'], method: 'oauth2' },
    ]);
  },
  'jwt-verify': (r) => {
    expect(r.stdout).toBe('EdDSA true read:orders\n');
  },
  'oauth1-curl': (r, s) => {
    const principal = { accountId: s.accountId, keyId: s.key.id, scopes: ['read:orders'], method: 'oauth1' };
    // `keyward sign … | sh`, then the two `keyward call`s (headers first, the body last).
    expect(principals(r.stdout)).toEqual([principal, principal, principal]);
    expect(r.stdout).toContain(`{"principal":${JSON.stringify(principal)},"body":"item=widget&qty=3"}`);
    expect(r.stdout).toContain(`{"principal":${JSON.stringify(principal)},"body":{"item":"widget"}}`);
    expect(r.stdout.match(/^HTTP 200 OK$/gm)).toHaveLength(2);
    // The --json call: one document, the body parsed.
    const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n{\n'))) as { status: number; body: unknown };
    expect(json).toMatchObject({ status: 200, body: { principal } });
  },
  'oauth1-debug': (r, s) => {
    const field = (name: string) => new RegExp(`^${name}: +(.*)$`, 'm').exec(r.stderr)?.[1];
    expect(field('method')).toBe('GET');
    expect(field('base string URI')).toBe(`${BASE}/v1/whoami`);
    const normalized =
      `a=1&b=2&oauth_consumer_key=${s.key.id}&oauth_nonce=7d8f3e4a9b&oauth_signature_method=HMAC-SHA256` +
      '&oauth_timestamp=1700000000&oauth_version=1.0';
    expect(field('normalized parameters')).toBe(normalized);
    const baseString = `GET&${rfc3986(`${BASE}/v1/whoami`)}&${rfc3986(normalized)}`;
    expect(field('base string')).toBe(baseString);
    // The signature, recomputed here (RFC 5849 §3.4.2: key = consumer secret & token secret).
    const expected = createHmac('sha256', `${rfc3986(s.key.secret)}&`)
      .update(baseString)
      .digest('base64');
    expect(field('signature')).toBe(expected);
    expect(r.stdout).toBe('');
  },
  'oauth1-sdk': (r) => {
    expect(r.stdout).toBe("oauth1\nitem=widget&qty=3\n{ item: 'widget' }\n");
  },
  'session-curl': (r, s) => {
    const lines = r.stdout.trimEnd().split('\n');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ signed: false, clientIp: '127.0.0.1', current: true });
    const [principal] = principals(r.stdout);
    expect(principal).toMatchObject({ accountId: s.accountId, method: 'session', scopes: [] });
    expect(principal?.sessionId).toBe(JSON.parse(lines[0] ?? '{}').id);
    expect(lines).toContain('logout 204');
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ error: { code: 'session_invalid' } });
  },
  'session-sdk': (r) => {
    expect(r.stdout).toBe('session false\nkeys: readme\n');
  },
  'signed-session-curl': (r, s) => {
    const [principal] = principals(r.stdout);
    expect(principal).toMatchObject({ accountId: s.accountId, method: 'signed-session', scopes: [] });
    expect(principal?.sessionId).toMatch(/^\w+$/);
    const last = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) ?? '{}');
    expect(last).toMatchObject({ error: { code: 'session_invalid' } });
  },
  'signed-session-sdk': (r) => {
    expect(r.stdout).toBe('signed-session true\ntrue\n');
  },
  'admin-curl': (r) => {
    expect(r.stdout.trimEnd().split('\n').sort()).toEqual(['ada@example.com member', 'admin@example.com admin']);
  },
};

/** Examples that need a server issuing JWT access tokens; the others run against the default one. */
const JWT_EXAMPLES = ['jwt-curl', 'jwt-verify'];

describe('README per-method examples', () => {
  const examples = marked('server-example');

  it('has a check for every server example, and an example for every check', () => {
    expect([...examples.keys()].sort()).toEqual(Object.keys(CHECKS).sort());
    expect(readme).toContain(`"email":"${EMAIL}","password":"${PASSWORD}"`);
  });

  /** Runs one example with the variables the README says it has, and checks what it printed. */
  async function check(name: string, s: RunningServer, vars: Record<string, string> = {}) {
    const block = examples.get(name);
    expect(block, `README has no server example "${name}"`).toBeDefined();
    const r = await runBlock(block as Block, {
      KEY_ID: s.key.id,
      SECRET: s.key.secret,
      TOKEN: s.key.token,
      ADMIN_KEY_ID: s.admin.id,
      ADMIN_SECRET: s.admin.secret,
      ...vars,
    });
    expectSuccess(r);
    (CHECKS[name] as Check)(r, s);
  }

  describe('against the default server (opaque access tokens)', () => {
    let s: RunningServer;
    beforeAll(async () => {
      s = await startOn4000();
    }, 30_000);
    afterAll(() => s?.close());

    const names = Object.keys(CHECKS).filter((name) => !JWT_EXAMPLES.includes(name));
    it.each(names)('%s', (name) => check(name, s), 90_000);

    it("lists the server's endpoints as its OpenAPI document has them", async () => {
      const doc = (await (await fetch(`${BASE}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      // /metrics is served but left out of the document; the JWKS is served with JWT access
      // tokens only, and checked on that server below.
      const served = new Set([...Object.keys(doc.paths), '/metrics', '/.well-known/jwks.json']);
      expect(s.server.app.hasRoute({ method: 'GET', url: '/metrics' })).toBe(true);
      const text = section("## The server's endpoints");
      const table = text.slice(text.indexOf('| endpoint |'), text.indexOf('\n\n', text.indexOf('| endpoint |')));
      const listed = new Set([...table.matchAll(/`(?:[A-Z]+ )?(\/[^`\s]*)`/g)].map((m) => m[1] as string));
      const admin = [...listed].filter((p) => p.startsWith('/v1/admin/'));
      expect(admin).toEqual(['/v1/admin/…']);
      for (const path of listed) if (!admin.includes(path)) expect(served, path).toContain(path);
      for (const path of served) if (!path.startsWith('/v1/admin/')) expect(listed, path).toContain(path);
    });

    it('logged no secret the examples used', () => {
      const log = s.logs.join('\n');
      for (const secret of [s.key.secret, s.key.token, s.admin.secret, PASSWORD]) expect(log).not.toContain(secret);
    });
  });

  describe('against a server with KEYWARD_TOKEN_FORMAT=jwt', () => {
    let s: RunningServer;
    beforeAll(async () => {
      s = await startOn4000({ tokenFormat: 'jwt' });
    }, 30_000);
    afterAll(() => s?.close());

    it('jwt-curl', () => check('jwt-curl', s), 60_000);

    it('publishes the JWKS the endpoint list names', async () => {
      const res = await fetch(`${BASE}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      const { keys } = (await res.json()) as { keys: { kty: string; crv: string }[] };
      expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    });

    it('jwt-verify', async () => {
      // ACCESS_TOKEN as the README's jwt-curl block exports it: a token from /oauth/token.
      const res = await fetch(`${BASE}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${s.key.id}:${s.key.secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      expect(res.status).toBe(200);
      const { access_token } = (await res.json()) as { access_token: string };
      expect(access_token.split('.')).toHaveLength(3);
      await check('jwt-verify', s, { ACCESS_TOKEN: access_token });
    }, 60_000);
  });
});

describe('README configuration', () => {
  const text = section('## Configuration');
  const rows = text.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| ---'));
  /** The table row naming `name` in backticks. */
  const rowOf = (name: string) => rows.find((row) => row.includes(`\`${name}\``));
  const source = readFileSync(join(root, 'packages/server/src/config/load.ts'), 'utf8');
  const serve = readFileSync(join(root, 'packages/server/src/cli/serve.ts'), 'utf8');

  it('has a row for every environment variable the server reads, with its field', () => {
    const mapped = [...source.matchAll(/^ {2}(\w+): \{ field: '(\w+)'/gm)].map(
      (m) => [m[1] as string, m[2] as string] as const,
    );
    expect(mapped.length).toBeGreaterThan(20);
    for (const [name, field] of mapped) {
      const row = rowOf(name);
      expect(row, `no row for ${name}`).toBeDefined();
      expect(row, `${name}'s row names ${field}`).toContain(`\`${field}\``);
    }
    const others = new Set([...`${source}\n${serve}`.matchAll(/env\.(KEYWARD_\w+)/g)].map((m) => m[1] as string));
    expect(others).toContain('KEYWARD_CONFIG');
    expect(others).toContain('KEYWARD_ADMIN_EMAIL');
    for (const name of others) expect(rowOf(name), `no row for ${name}`).toBeDefined();
  });

  it("gives every field's default as loadConfig has it", () => {
    const defaults = loadConfig({ env: {}, cwd: mkdtempSync(join(tmpdir(), 'keyward-readme-config-')) });
    const skip = new Set(['dataDir', 'publicUrl']); // resolved against the working directory / host and port
    for (const [field, value] of Object.entries(defaults)) {
      if (skip.has(field) || value === undefined) continue;
      if (field === 'limits') {
        for (const [name, limit] of Object.entries(value as Record<string, { limit: number; windowSeconds: number }>)) {
          expect(rowOf(`limits.${name}`)).toContain(`| \`${limit.limit}\` per \`${limit.windowSeconds}\` s |`);
        }
        continue;
      }
      if (field === 'identityHeaders') {
        for (const [name, header] of Object.entries(value as Record<string, string>)) {
          expect(rowOf(`identityHeaders.${name}`)?.split(' | ')[2], name).toBe(`\`${header}\``);
        }
        continue;
      }
      const row = rowOf(field);
      expect(row, `no row for ${field}`).toBeDefined();
      const cells = (row as string).split(' | ');
      const shown = Array.isArray(value) ? (value.length === 0 ? 'none' : `\`${value.join(',')}\``) : `\`${value}\``;
      expect(cells[2], field).toBe(shown);
    }
    expect(rowOf('dataDir')).toContain('| `.keyward` |');
    expect(rowOf('tls.keyFile')).toBeDefined();
  });

  it('has a keyward.config.json example the server accepts', () => {
    const example = /<!-- config-example -->\n```json\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'keyward-readme-config-'));
    try {
      writeFileSync(join(dir, 'keyward.config.json'), example as string);
      const config = loadConfig({ env: {}, cwd: dir });
      expect(config).toMatchObject({
        publicUrl: 'https://auth.example.com',
        tokenFormat: 'jwt',
        tokenTtlSeconds: 900,
        registration: false,
        tls: { keyFile: '/etc/keyward/tls/key.pem', certFile: '/etc/keyward/tls/cert.pem' },
      });
      expect(config.limits.loginsPerAccount).toEqual({ limit: 3, windowSeconds: 900 });
      expect(config.limits.loginsPerIp).toEqual({ limit: 20, windowSeconds: 900 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('README code blocks', () => {
  it('are each run by a test, or say why not', () => {
    const lines = readme.split('\n');
    let open = false;
    const unmarked: string[] = [];
    for (const [i, line] of lines.entries()) {
      if (!line.startsWith('```')) continue;
      if (open) {
        open = false;
        continue;
      }
      open = true;
      const language = line.slice(3);
      if (!['sh', 'js', 'json', 'ts'].includes(language)) continue;
      const marker = lines[i - 1] ?? '';
      if (
        !/^<!-- (example|server-example|quick-start): [\w-]+ -->$|^<!-- (config-example|gateway-routes) -->$|^<!-- not run: .+ -->$/.test(
          marker,
        )
      ) {
        unmarked.push(`line ${i + 1}: ${lines[i + 1]}`);
      }
    }
    expect(unmarked).toEqual([]);
  });
});
