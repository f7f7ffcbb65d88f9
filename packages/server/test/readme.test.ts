// The README runs as written, each block with its output checked:
// - top to bottom, as a reader runs it: `npm start` in a fresh clone, then every block of the
//   README in order (the quick start's second terminal, each method's curl and SDK examples, the
//   admin and verification examples, the embedding examples, the CLI, the backup) in one shell
//   session, so that each block sees only the variables and accounts the blocks before it made;
//   the JWT blocks after the restart the README asks for (`KEYWARD_TOKEN_FORMAT=jwt npm start`),
//   the restore after the server stopped, then a graceful stop;
// - every `<!-- server-example: name -->` block (curl and SDK, one per method) again on its own
//   against a real server the test starts on http://127.0.0.1:4000, with the shell variables the
//   README says come from earlier blocks (KEY_ID, SECRET, TOKEN, ADMIN_KEY_ID, …) taken from a
//   key and an admin the test creates;
// - the endpoint list against the server's OpenAPI document, the configuration table against
//   config/load.ts, and the keyward.config.json example through loadConfig.
// The `<!-- example: name -->` blocks that need no server also run in packages/core/test/docs.test.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
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

/** npm settings a newcomer's shell may have too; the other npm_* variables come from an `npm test` above this one. */
const NPM_KEPT = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);

/** The environment of a newcomer's shell: this machine's, without any Keyward setting. */
function newcomerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('KEYWARD_') || name === 'PORT') continue;
    if (name.startsWith('npm_') && !NPM_KEPT.has(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs a program and collects its output. Asynchronous on purpose: the per-method examples call
 * a server in this very process, which a synchronous spawn would keep from answering.
 */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Run> {
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
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

/** A README block in document order, with the marker that names it. */
interface OrderedBlock extends Block {
  readonly kind: string;
  readonly name: string;
}

/** Every block a reader runs, in the order they appear: quick start, examples, restore. */
function blocksInOrder(): OrderedBlock[] {
  const pattern = /<!-- (quick-start|server-example|example|after-stop): ([\w-]+) -->\n```(\w+)\n([\s\S]*?)```/g;
  return [...readme.matchAll(pattern)].map((m) => ({
    kind: m[1] as string,
    name: m[2] as string,
    language: m[3] as string,
    code: m[4] as string,
  }));
}

/** What a top-to-bottom run of blocks printed, per block. */
interface Segment {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The name of the last block that started (the failing one, when the run failed). */
  last: string | undefined;
  blocks: Map<string, Run>;
  stdout: string;
  stderr: string;
}

const MARKER = /::readme-block ([\w-]+)::\n/;
/** The longest a run of README blocks in one shell may take. */
const SEGMENT_TIMEOUT_MS = 300_000;

/** Splits output on the block markers: each block's output, exactly as it printed it. */
function splitOutput(text: string): Map<string, string> {
  const parts = text.split(new RegExp(MARKER.source, 'g'));
  const out = new Map<string, string>();
  for (let i = 1; i < parts.length; i += 2) out.set(parts[i] as string, parts[i + 1] ?? '');
  return out;
}

/**
 * A reader's terminal, as one shell session across segments: every block runs in the clone in
 * one bash (`-euo pipefail`), in order, so a block sees exactly the variables the blocks before
 * it set (kept between segments in a state file, for the server restarts in between). A JS block
 * is saved where the README says (`example.mjs` in the clone; the JWT verifier in the project
 * its setup block made) and run with node.
 */
class ReaderShell {
  private readonly state: string;
  private readonly baseline: string;

  constructor(
    private readonly clone: string,
    private readonly env: NodeJS.ProcessEnv,
    work: string,
  ) {
    this.state = join(work, 'shell-state.sh');
    this.baseline = join(work, 'shell-baseline.txt');
  }

  private script(blocks: readonly OrderedBlock[]): string {
    const lines = [`[ -f '${this.state}' ] && source '${this.state}'`];
    for (const block of blocks) {
      lines.push(
        `printf '::readme-block %s::\\n' '${block.name}'`,
        `printf '::readme-block %s::\\n' '${block.name}' >&2`,
      );
      if (block.language === 'sh') {
        lines.push(block.code);
      } else {
        expect(block.language, block.name).toBe('js');
        const file = block.name === 'jwt-verify' ? '"$RESOURCE_SERVER/verify.mjs"' : 'example.mjs';
        lines.push(
          `cat > ${file} <<'KEYWARD_README_EOF'`,
          block.code.replace(/\n$/, ''),
          'KEYWARD_README_EOF',
          `node ${file}`,
        );
      }
    }
    // Every variable the blocks made, for the next segment (bash's own and the environment's excepted).
    lines.push(
      `for __v in $(compgen -v); do`,
      `  [[ $__v =~ ^(BASH.*|PIPESTATUS|FUNCNAME|GROUPS|RANDOM|LINENO|SECONDS|SRANDOM|EPOCH.*|HISTCMD|COMP_.*|REPLY|OPTARG|OPTIND|_|__v)$ ]] && continue`,
      `  grep -qx "$__v" '${this.baseline}' || declare -p "$__v"`,
      `done > '${this.state}'`,
    );
    return `${lines.join('\n')}\n`;
  }

  /** Runs `blocks` in order in the session; resolves with each block's output. */
  async run(blocks: readonly OrderedBlock[]): Promise<Segment> {
    if (!existsSync(this.baseline)) {
      const fresh = await run('bash', ['-c', 'compgen -v'], { cwd: this.clone, env: this.env });
      writeFileSync(this.baseline, fresh.stdout);
    }
    // A whole section of the README in one run: minutes on a busy machine (each `npx keyward` starts
    // a Node process; logins hash with argon2id).
    const r = await run('bash', ['-euo', 'pipefail', '-c', this.script(blocks)], {
      cwd: this.clone,
      env: this.env,
      timeoutMs: SEGMENT_TIMEOUT_MS,
    });
    const stdouts = splitOutput(r.stdout);
    const stderrs = splitOutput(r.stderr);
    const runs = new Map<string, Run>();
    for (const [name, stdout] of stdouts) {
      runs.set(name, { code: 0, signal: null, stdout, stderr: stderrs.get(name) ?? '' });
    }
    const last = [...stdouts.keys()].at(-1);
    if (r.code !== 0 && last !== undefined)
      runs.set(last, { ...(runs.get(last) as Run), code: r.code, signal: r.signal });
    return { code: r.code, signal: r.signal, last, blocks: runs, stdout: r.stdout, stderr: r.stderr };
  }

  /** A variable as the session has it now. */
  variable(name: string): string {
    const line = readFileSync(this.state, 'utf8')
      .split('\n')
      .find((l) => new RegExp(`^declare -\\S+ ${name}=`).test(l));
    expect(line, `the README's blocks set no ${name}`).toBeDefined();
    // declare -p writes "…", with \, ", $ and ` escaped.
    return (line as string)
      .replace(/^declare -\S+ \w+="/, '')
      .replace(/"$/, '')
      .replace(/\\([\\"$`])/g, '$1');
  }
}

/** What `example:` blocks print in the top-to-bottom run (packages/core/test/docs.test.ts checks them in detail). */
const EXAMPLE_OUTPUT: Record<string, RegExp> = {
  cli: /^role: +admin$[\s\S]*billing-sync/m,
  'core-identify': /^api_key\nundefined\n$/,
  'core-oauth1': /^verified request from kw_kid_\w+ nonce [0-9a-f]{32}$/m,
  express: /^replay 401$/m,
  fastify: /^200 api-key$/m,
  'custom-scheme': /^200 demo-hmac$/m,
};

/** Checks one block of the top-to-bottom run: it ran, and printed what the README says. */
function checkInOrder(block: OrderedBlock, r: Run | undefined, ctx: CheckContext): void {
  expect(r, `block ${block.name} did not run`).toBeDefined();
  expectSuccess(r as Run);
  if (block.kind === 'example') {
    const pattern = EXAMPLE_OUTPUT[block.name];
    expect(pattern, `no expected output for example ${block.name}`).toBeDefined();
    expect((r as Run).stdout).toMatch(pattern as RegExp);
    return;
  }
  const check = CHECKS[block.name];
  expect(check, `no check for ${block.name}`).toBeDefined();
  (check as Check)(r as Run, ctx);
}

describe('README top to bottom, as a reader runs it in a fresh clone', () => {
  const blocks = blocksInOrder();
  const serverBlock = marked('quick-start').get('server');
  const clientBlock = marked('quick-start').get('client');
  // A temporary directory stands in for a fresh clone: the root package.json (for `npm start`)
  // and the repository's node_modules. CI has already run `npm ci` on the clean clone, which
  // installed and built every package into that node_modules, so the test skips the block's
  // `npm ci` line (running it again would reinstall the whole tree) and runs the rest as written.
  let clone = '';
  // Made in beforeAll, so that a run that filters these tests out leaves nothing behind.
  let work = '';
  let server: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  let output = '';
  let shell: ReaderShell;
  /** The quick start's key and account, as the session has them once the quick start ran. */
  let ctx: CheckContext | undefined;
  // Where a `.keyward` data directory would land if the server ignored its working directory.
  const elsewhere = [root, join(root, 'packages', 'server'), homedir(), process.cwd(), tmpdir()].map((d) =>
    join(d, '.keyward'),
  );
  const before = new Map(elsewhere.map((p) => [p, existsSync(p)]));
  // The reader's shell: newcomer's environment; `mktemp` under this test's directory; npm from
  // its cache when it can (the JWT verifier's `npm install jose`).
  const readerEnv = () =>
    newcomerEnv({ TMPDIR: work, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' });

  /** Starts the server with `command` (the README's) in the clone; resolves once it serves. */
  async function start(command: string): Promise<void> {
    output = '';
    // Its own process group, so that cleanup after a failure can stop npm and the server alike.
    const child = spawn('bash', ['-c', command], {
      cwd: clone,
      env: newcomerEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
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
        reject(new Error(`${command} exited (${code}) before serving:\n${output}`));
      });
    });
  }

  /** SIGTERM to `npm start` itself (bash runs its one command in place; npm passes it on). */
  async function stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const pid = server?.pid ?? 0;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGTERM');
    return (await exited) ?? { code: null, signal: null };
  }

  /** The blocks from `first` (inclusive) to `end` (exclusive), by name, in order. */
  function range(first: string, end?: string): OrderedBlock[] {
    const from = blocks.findIndex((b) => b.name === first);
    const to = end === undefined ? blocks.length : blocks.findIndex((b) => b.name === end);
    expect(from, `README has no block ${first}`).toBeGreaterThanOrEqual(0);
    expect(to, `README has no block ${end}`).toBeGreaterThan(from);
    return blocks.slice(from, to);
  }

  /** Runs blocks in the reader's session and checks each. */
  async function runInOrder(list: readonly OrderedBlock[]): Promise<void> {
    const segment = await shell.run(list);
    for (const block of list) {
      const r = segment.blocks.get(block.name);
      if (r === undefined || r.code !== 0) {
        throw new Error(
          `README block ${block.name} failed (exit ${segment.code}, last block ${segment.last})\n` +
            `stdout:\n${r?.stdout ?? segment.stdout}\nstderr:\n${r?.stderr ?? segment.stderr}`,
        );
      }
      checkInOrder(block, r, ctx as CheckContext);
    }
  }

  beforeAll(async () => {
    expect(serverBlock?.language).toBe('sh');
    expect(clientBlock?.language).toBe('sh');
    expect(blocks[0]?.name).toBe('server');
    expect(blocks[1]?.name).toBe('client');
    await assertPortFree();
    work = mkdtempSync(join(tmpdir(), 'keyward-readme-work-'));
    clone = mkdtempSync(join(tmpdir(), 'keyward-clone-'));
    copyFileSync(join(root, 'package.json'), join(clone, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
    shell = new ReaderShell(clone, readerEnv(), work);

    const lines = (serverBlock?.code ?? '').split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^npm ci\b/);
    const command = lines[1] as string;
    expect(command).toMatch(/^npm start\b/);
    await start(command);
  }, 90_000);

  afterAll(() => {
    // Only after a failure is anything left: the process group this test started last (npm and
    // the server it runs; the earlier ones were stopped before the next started).
    if (server?.pid !== undefined) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {}
    }
    if (clone !== '') rmSync(clone, { recursive: true, force: true });
    if (work !== '') rmSync(work, { recursive: true, force: true });
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
    const segment = await shell.run([blocks[1] as OrderedBlock]);
    const r = segment.blocks.get('client') as Run;
    expect(segment.code, `exit ${segment.code}\nstdout:\n${segment.stdout}\nstderr:\n${segment.stderr}`).toBe(0);
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
    // What the blocks below rely on, as the quick start left it.
    ctx = {
      accountId: first.accountId,
      key: { id: shell.variable('KEY_ID'), secret: shell.variable('SECRET'), token: shell.variable('TOKEN') },
      keyNames: ['quick start'],
      admins: ['admin@keyward.local'],
    };
    expect(ctx.key.id).toBe(first.keyId);
  }, 120_000);

  it(
    'runs every block after it, in order, on that server, with only what the blocks before set',
    async () => {
      await runInOrder(range('basic-curl', 'jwt-curl'));
    },
    SEGMENT_TIMEOUT_MS + 60_000,
  );

  it(
    'restarted with KEYWARD_TOKEN_FORMAT=jwt npm start, as the README says, runs the rest in order',
    async () => {
      const command = 'KEYWARD_TOKEN_FORMAT=jwt npm start';
      expect(readme).toContain(`\`${command}\``);
      expect(await stop()).toEqual({ code: 0, signal: null });
      await start(command);
      await runInOrder(range('jwt-curl').filter((b) => b.kind !== 'after-stop'));
      // The blocks wrote no file into the clone that they did not delete, but the backup they made.
      const left = readdirSync(clone).filter(
        (f) => !['package.json', 'node_modules', '.keyward', 'backups', 'example.mjs'].includes(f),
      );
      expect(left).toEqual([]);
    },
    SEGMENT_TIMEOUT_MS + 120_000,
  );

  it('stops on SIGTERM with exit 0, its data in the clone only', async () => {
    const { code, signal } = await stop();
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
    expect(output).toContain('"signal":"SIGTERM"');
    expect(output).toContain('stopping: finishing in-flight requests');
    expect(existsSync(join(clone, '.keyward', 'keyward.db'))).toBe(true);
    for (const path of elsewhere) expect(existsSync(path), `${path} was created`).toBe(before.get(path));
  }, 30_000);

  it('with the server stopped, restores the backup; started again, the quick start key still works', async () => {
    const restore = blocks.filter((b) => b.kind === 'after-stop');
    expect(restore.map((b) => b.name)).toEqual(['restore']);
    await runInOrder(restore);
    await start('npm start');
    await runInOrder(range('basic-curl', 'basic-sdk'));
    expect(await stop()).toEqual({ code: 0, signal: null });
  }, 120_000);
});

interface RunningServer {
  server: KeywardServer;
  /** Its data directory: the `keyward` commands of the examples find the store through it. */
  dataDir: string;
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
    dataDir: dir,
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

/** What a check knows of the server an example ran against. */
interface CheckContext {
  /** The account of the quick start (`ada@example.com`) and its key with scope `read:orders`. */
  accountId: string;
  key: { id: string; secret: string; token: string };
  /** The names of that account's keys. */
  keyNames: string[];
  /** The admin accounts there before the README's admin example makes its own. */
  admins: string[];
}

/** What each server example must print; each entry checks the run and fails if it printed nothing useful. */
type Check = (r: Run, s: CheckContext) => void;

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
  'jwt-verify-setup': (r) => {
    // npm's own summary: jose (no dependencies of its own) went into the new project.
    expect(r.stdout).toMatch(/^added 1 package/m);
  },
  'jwt-verify': (r) => {
    expect(r.stdout).toBe('EdDSA true read:orders\n');
  },
  'oauth1-curl': (r, s) => {
    const principal = { accountId: s.accountId, keyId: s.key.id, scopes: ['read:orders'], method: 'oauth1' };
    // `keyward sign … | sh`, then the two `keyward call`s (headers first, the body last).
    expect(principals(r.stdout)).toEqual([principal, principal, principal]);
    const answers = r.stdout
      .split('\n')
      .filter((line) => line.startsWith('{"principal":'))
      .map((line) => JSON.parse(line) as unknown);
    expect(answers).toContainEqual({ principal, body: 'item=widget&qty=3' });
    expect(answers).toContainEqual({ principal, body: { item: 'widget' } });
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
  'session-sdk': (r, s) => {
    expect(r.stdout).toBe(`session false\nkeys: ${s.keyNames.join(', ')}\n`);
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
  'admin-curl': (r, s) => {
    // The accounts there, and the admin the example made for itself.
    expect(r.stdout.trimEnd().split('\n').sort()).toEqual(
      ['ada@example.com member', 'ops@example.com admin', ...s.admins.map((email) => `${email} admin`)].sort(),
    );
  },
  'verify-api-curl': (r, s) => {
    const [admitted, refused] = r.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(admitted).toEqual({
      ok: true,
      principal: { accountId: s.accountId, keyId: s.key.id, scopes: ['read:orders'], method: 'api-key' },
    });
    expect(refused).toMatchObject({ ok: false, status: 403, code: 'insufficient_scope' });
  },
  backup: (r) => {
    expect(r.stdout).toMatch(/^backup: +\S*backups\/keyward\.db \(\d+ bytes, a consistent copy of \S+keyward\.db\)$/m);
    expect(r.stdout).toMatch(/^keys: +written to \S*backups\/keyward\.db\.keys\.json \(mode 0600\)/m);
    expect(r.stdout).toMatch(/^keyward\.db\nkeyward\.db\.keys\.json\n$/m);
  },
  restore: (r) => {
    expect(r.stdout).toMatch(/^restored: +\S*backups\/keyward\.db into \S*\.keyward\/keyward\.db$/m);
    expect(r.stdout).toMatch(/^accounts: +\d+$/m);
    expect(r.stdout).toMatch(/^keyring: +the master key and pepper open the restored secrets$/m);
  },
};

/** Examples that need a server issuing JWT access tokens; the others run against the default one. */
const JWT_EXAMPLES = ['jwt-curl', 'jwt-verify-setup', 'jwt-verify'];

describe('README per-method examples', () => {
  const examples = marked('server-example');

  it('has a check for every server example, and an example for every check', () => {
    expect([...examples.keys(), ...marked('after-stop').keys()].sort()).toEqual(Object.keys(CHECKS).sort());
    expect(readme).toContain(`"email":"${EMAIL}","password":"${PASSWORD}"`);
  });

  /** Runs one example with the variables the README says it has, and checks what it printed. */
  async function check(name: string, s: RunningServer, vars: Record<string, string> = {}) {
    const block = examples.get(name);
    expect(block, `README has no server example "${name}"`).toBeDefined();
    const r = await runBlock(block as Block, { ...exampleVars(s), ...vars });
    expectSuccess(r);
    (CHECKS[name] as Check)(r, contextOf(s));
  }

  /** The variables the README's earlier blocks set, from the test's own key and admin. */
  function exampleVars(s: RunningServer): Record<string, string> {
    return {
      KEY_ID: s.key.id,
      SECRET: s.key.secret,
      TOKEN: s.key.token,
      ADMIN_KEY_ID: s.admin.id,
      ADMIN_SECRET: s.admin.secret,
      // Run "in the server's directory": the keyward command finds the test server's store.
      KEYWARD_DATA_DIR: s.dataDir,
    };
  }

  function contextOf(s: RunningServer): CheckContext {
    return { accountId: s.accountId, key: s.key, keyNames: ['readme'], admins: ['admin@example.com'] };
  }

  describe('against the default server (opaque access tokens)', () => {
    let s: RunningServer;
    beforeAll(async () => {
      s = await startOn4000();
    }, 30_000);
    afterAll(() => s?.close());

    const names = [...examples.keys()].filter((name) => !JWT_EXAMPLES.includes(name));
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

    it('jwt-verify-setup, then jwt-verify in the project it made', async () => {
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
      const work = mkdtempSync(join(tmpdir(), 'keyward-readme-jwt-'));
      try {
        // The reader's shell, in a directory outside the repository: `npm install jose` must not
        // touch the workspace, and the verifier resolves jose from its own project only.
        const env = newcomerEnv({
          ...exampleVars(s),
          ACCESS_TOKEN: access_token,
          TMPDIR: work,
          npm_config_prefer_offline: 'true',
        });
        const shell = new ReaderShell(work, env, work);
        const order = blocksInOrder().filter((b) => b.name === 'jwt-verify-setup' || b.name === 'jwt-verify');
        expect(order.map((b) => b.name)).toEqual(['jwt-verify-setup', 'jwt-verify']);
        const segment = await shell.run(order);
        expect(segment.code, `${segment.stdout}\n${segment.stderr}`).toBe(0);
        for (const block of order) checkInOrder(block, segment.blocks.get(block.name), contextOf(s));
        expect(existsSync(join(shell.variable('RESOURCE_SERVER'), 'node_modules', 'jose'))).toBe(true);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }, 120_000);
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
        !/^<!-- (example|server-example|quick-start|after-stop): [\w-]+ -->$|^<!-- (config-example|gateway-routes) -->$|^<!-- not run: .+ -->$/.test(
          marker,
        )
      ) {
        unmarked.push(`line ${i + 1}: ${lines[i + 1]}`);
      }
    }
    expect(unmarked).toEqual([]);
  });
});
