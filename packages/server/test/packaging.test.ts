// The three packages install like any npm dependency. Each is packed from the dist/ that
// `npm test` has just built (`npm pack`, as `npm run release` does), the tarballs are installed
// into an empty project in a temporary directory outside the repository (so nothing resolves to
// the workspace), and there, by their published names only:
// - an Express app protected by `@keyward/server/express` answers a `@keyward/client` call that
//   carries a key, and refuses one with a wrong secret;
// - `npx keyward serve` starts the bundled server, `npx keyward accounts create` and
//   `npx keyward keys create` (on that server's data directory) make a key, and a client call with
//   that key succeeds.
// The install needs the npm registry or a warm npm cache (`--prefer-offline`); the native
// addons (better-sqlite3, argon2) build or fetch as npm does on this machine.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.js';
import { expectSuccess, type Run, run as runProgram } from './support/run.js';

const root = realpathSync(new URL('../../../', import.meta.url).pathname);
const PACKAGES = ['core', 'client', 'server'] as const;
// The install builds better-sqlite3 from source where no prebuilt binary can be fetched: about a
// minute of CPU, several on a loaded machine.
const INSTALL_TIMEOUT_MS = 600_000;

/** The environment of the commands run in the empty project: no Keyward setting of this machine's. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // npm_* variables of the `npm test` that runs this suite would point npm at the workspace.
    if (!name.startsWith('KEYWARD_') && name !== 'PORT' && !name.startsWith('npm_')) env[name] = value;
  }
  return { ...env, NO_UPDATE_NOTIFIER: '1', npm_config_update_notifier: 'false', ...extra };
}

/** A program run in the empty project: its clean environment, and a minute unless told. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string },
): Promise<Run> {
  return runProgram(command, args, {
    ...options,
    env: options.env ?? cleanEnv(),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

/** A long-running process of the empty project, whose output is watched for a line. */
class Background {
  readonly child: ChildProcess;
  output = '';
  private readonly exited: Promise<void>;

  constructor(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
    // Its own process group: `npx` runs the program as a child, and both must stop.
    this.child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    // 'close': every process holding the output pipes is gone (npx and the program it runs).
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
  }

  /** Resolves with the first output line matching `pattern`; fails on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(poll);
        reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.output}`));
      }, timeoutMs);
      const poll = setInterval(() => {
        const match = pattern.exec(this.output);
        if (match !== null) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve(match);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          clearTimeout(timer);
          clearInterval(poll);
          reject(
            new Error(`exited (${this.child.exitCode ?? this.child.signalCode}) before ${pattern}:\n${this.output}`),
          );
        }
      }, 50);
    });
  }

  /**
   * SIGTERM to the process group, as Ctrl-C in a terminal signals the foreground group (npx does
   * not pass a signal on to the program it runs), SIGKILL after 5 s; resolves once every process
   * of the group that held the output is gone.
   */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {}
    const killer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
    }, 5_000);
    await this.exited;
    clearTimeout(killer);
    // Whatever npx left behind in the group (the program, had npx died without passing the
    // signal on) goes too; the tests' own checks then see the stop was not graceful.
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
}

interface PackResult {
  readonly name: string;
  readonly version: string;
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

interface Manifest {
  name: string;
  version: string;
  license?: string;
  type?: string;
  engines?: { node?: string };
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  files?: string[];
  exports?: Record<string, { types?: string; default?: string }>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  private?: boolean;
}

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;

const manifestOf = (pkg: string): Manifest =>
  JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')) as Manifest;

// An Express app as an application would write it, from the published subpaths only: the store,
// the verifier and the Express middleware. It makes an account and a key, listens on the port it
// is given, and prints one line for the test: the key (a test fixture).
const EXPRESS_APP = `
import express from 'express';
import { captureRawBody, expressMiddleware } from '@keyward/server/express';
import { openStore } from '@keyward/server/store';
import { createVerifier, MemoryNonceStore } from '@keyward/server/verify';

const [dataDir, port] = process.argv.slice(2);
const store = await openStore({ dataDir, create: true });
const account = await store.accounts.create({ email: 'app@example.com', password: 'a long passphrase nobody guesses' }, { type: 'system' });
const key = await store.keys.create(account.value.id, { name: 'packaging', scopes: ['read:orders'] }, { type: 'system' });
const verifier = createVerifier({
  store,
  nonces: new MemoryNonceStore({ clock: { now: Date.now } }),
  origin: 'http://127.0.0.1:' + port, // the origin callers sign OAuth 1.0a requests against
});
const app = express();
app.use(express.urlencoded({ extended: false, verify: captureRawBody }));
app.get('/orders', expressMiddleware(verifier, { scopes: ['read:orders'] }), (req, res) => {
  res.json({ orders: [], caller: req.keyward.keyId, method: req.keyward.method });
});
const server = app.listen(Number(port), '127.0.0.1', () => {
  console.log(JSON.stringify({ keyId: key.value.id, secret: key.value.secret }));
});
process.on('SIGTERM', () => server.close(() => store.close().then(() => process.exit(0))));
`;

// A caller with @keyward/client: Basic and OAuth 1.0a with the right secret, then Basic with a
// wrong one, which must be refused with a KeywardError.
const CLIENT = `
import { generateApiKey } from '@keyward/core';
import { createClient, KeywardError } from '@keyward/client';

const [baseUrl, path] = process.argv.slice(2);
const { KEY_ID: keyId, SECRET: secret } = process.env;
for (const auth of [
  { type: 'basic', keyId, secret },
  { type: 'oauth1', consumerKey: keyId, consumerSecret: secret },
]) {
  const body = await createClient({ baseUrl, auth }).get(path);
  console.log('ok', auth.type, JSON.stringify(body));
}
try {
  await createClient({ baseUrl, auth: { type: 'basic', keyId, secret: generateApiKey().keySecret } }).get(path);
  console.log('not refused');
} catch (error) {
  if (!(error instanceof KeywardError)) throw error;
  console.log('refused', error.status, error.code);
}
`;

describe('packages install from their tarballs into an empty project', () => {
  // Made in beforeAll, so that a run that filters these tests out leaves nothing behind.
  let work = '';
  let tarballs = '';
  let app = '';
  const packed = new Map<string, PackResult>();
  const background: Background[] = [];
  let installed: Run | undefined;
  const started = Date.now();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'keyward-packaging-'));
    tarballs = join(work, 'tarballs');
    app = join(work, 'app');
    // Outside the repository: no node_modules above it can stand in for a missing dependency.
    expect(relative(root, realpathSync(work)).startsWith('..')).toBe(true);
    mkdirSync(tarballs);
    mkdirSync(app);
    for (const pkg of PACKAGES) {
      const dir = join(root, 'packages', pkg);
      expect(existsSync(join(dir, 'dist', 'index.js')), `${pkg} is not built: run npm run build`).toBe(true);
      const r = await run('npm', ['pack', '--json', '--pack-destination', tarballs], { cwd: dir, timeoutMs: 60_000 });
      expectSuccess(r, `npm pack ${pkg}`);
      const [result] = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as PackResult[];
      packed.set(pkg, result as PackResult);
    }
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'keyward-packaging-app', private: true, type: 'module' }, null, 2)}\n`,
    );
    installed = await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        ...PACKAGES.map((pkg) => join(tarballs, (packed.get(pkg) as PackResult).filename)),
        'express@5',
      ],
      // JOBS: node-gyp compiles on every core.
      { cwd: app, env: cleanEnv({ JOBS: 'max' }), timeoutMs: INSTALL_TIMEOUT_MS },
    );
  }, INSTALL_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await Promise.all(background.map((b) => b.stop()));
    if (work !== '') rmSync(work, { recursive: true, force: true });
    console.info(`packaging suite: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 30_000);

  it('packs each package with the same version, a license, types and only what it ships', () => {
    const versions = new Set(PACKAGES.map((pkg) => manifestOf(pkg).version));
    expect(versions.size, 'the three packages have one version').toBe(1);
    const [version] = versions;
    expect(version).toMatch(/^0\.\d+\.\d+$/);
    for (const pkg of PACKAGES) {
      const manifest = manifestOf(pkg);
      const result = packed.get(pkg) as PackResult;
      const files = new Set(result.files.map((f) => f.path));
      expect(result.name).toBe(`@keyward/${pkg}`);
      expect(manifest.private).toBeUndefined();
      expect(manifest.license).toBe('Apache-2.0');
      expect(manifest.type).toBe('module');
      // The Node.js releases the project supports, as the root package.json states them.
      expect(manifest.engines?.node).toBe(rootManifest.engines?.node);
      for (const file of ['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts']) {
        expect(files, `${pkg} tarball has ${file}`).toContain(file);
      }
      expect(readFileSync(join(root, 'packages', pkg, 'LICENSE'), 'utf8')).toBe(
        readFileSync(join(root, 'LICENSE'), 'utf8'),
      );
      for (const file of files) {
        expect(file, `${pkg} ships ${file}`).not.toMatch(/(^test\/|\.test\.[jt]s$|tsbuildinfo|^node_modules\/)/);
      }
      // Every export resolves to a shipped file, with its types.
      for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
        expect(target.types, `${pkg} ${subpath} types`).toBeDefined();
        expect(files, `${pkg} ${subpath}`).toContain((target.default as string).replace(/^\.\//, ''));
        expect(files, `${pkg} ${subpath} types`).toContain((target.types as string).replace(/^\.\//, ''));
      }
      for (const bin of Object.values(manifest.bin ?? {})) expect(files).toContain(bin.replace(/^\.\//, ''));
      // Dependencies an installer can resolve from a registry: no workspace or file links, and
      // Keyward's own packages at exactly this release.
      for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
        expect(range, `${pkg} depends on ${name}@${range}`).not.toMatch(/^(workspace:|file:|link:|\.|\/)/);
        if (name.startsWith('@keyward/')) expect(range, `${pkg} depends on ${name}`).toBe(version);
      }
    }
    expect(manifestOf('core').dependencies ?? {}).toEqual({});
    expect(Object.keys(manifestOf('client').dependencies ?? {})).toEqual(['@keyward/core']);
  });

  it('installs the tarballs as real packages, not links to the repository', () => {
    expect(installed).toBeDefined();
    expectSuccess(installed as Run, 'npm install');
    for (const pkg of PACKAGES) {
      const dir = join(app, 'node_modules', '@keyward', pkg);
      expect(lstatSync(dir).isSymbolicLink(), `${dir} is a link`).toBe(false);
      expect(manifestOf(pkg).version).toBe(
        (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest).version,
      );
    }
  });

  it('imports at run time only what each package declares as a dependency', () => {
    const builtins = new Set(builtinModules);
    for (const pkg of PACKAGES) {
      const dir = join(app, 'node_modules', '@keyward', pkg);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
      const declared = new Set(Object.keys(manifest.dependencies ?? {}));
      const files = (packed.get(pkg) as PackResult).files
        .map((f) => f.path)
        .filter((path) => /^(dist|bin)\/.*\.js$/.test(path));
      expect(files.length).toBeGreaterThan(0);
      const imported = new Set<string>();
      for (const file of files) {
        const code = readFileSync(join(dir, file), 'utf8');
        for (const m of code.matchAll(
          /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm,
        )) {
          const specifier = (m[1] ?? m[2] ?? m[3]) as string;
          if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
          const name = specifier.startsWith('@')
            ? specifier.split('/').slice(0, 2).join('/')
            : (specifier.split('/')[0] as string);
          imported.add(name);
        }
      }
      for (const name of imported) expect(declared, `${pkg} imports ${name}`).toContain(name);
      if (pkg === 'server') expect(imported).toContain('better-sqlite3');
    }
  });

  it('protects an Express app with @keyward/server/express; @keyward/client calls it and is refused with a wrong secret', async () => {
    expectSuccess(installed as Run, 'npm install');
    writeFileSync(join(app, 'express-app.mjs'), EXPRESS_APP);
    writeFileSync(join(app, 'client.mjs'), CLIENT);
    const port = await freePort();
    const server = new Background(
      process.execPath,
      ['express-app.mjs', join(work, 'express-data'), String(port)],
      app,
      cleanEnv(),
    );
    background.push(server);
    const [line] = await server.waitFor(/^\{"keyId":.*\}$/m, 30_000);
    const { keyId, secret } = JSON.parse(line) as { keyId: string; secret: string };
    const r = await run(process.execPath, ['client.mjs', `http://127.0.0.1:${port}`, '/orders'], {
      cwd: app,
      env: cleanEnv({ KEY_ID: keyId, SECRET: secret }),
    });
    expectSuccess(r, 'client');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `ok basic ${JSON.stringify({ orders: [], caller: keyId, method: 'basic' })}`,
      `ok oauth1 ${JSON.stringify({ orders: [], caller: keyId, method: 'oauth1' })}`,
      'refused 401 key_unknown',
    ]);
    await server.stop();
  }, 60_000);

  it('runs npx keyward serve; npx keyward keys create makes a key on its data directory that the server accepts', async () => {
    expectSuccess(installed as Run, 'npm install');
    const port = await freePort();
    const dataDir = join(work, 'serve-data');
    const env = cleanEnv({ KEYWARD_DATA_DIR: dataDir, PORT: String(port) });
    const serve = new Background('npx', ['--no-install', 'keyward', 'serve'], app, env);
    background.push(serve);
    await serve.waitFor(/Keyward is serving/, 60_000);
    expect(serve.output).toContain(`"publicUrl":"http://127.0.0.1:${port}"`);

    const account = await run(
      'npx',
      ['--no-install', 'keyward', 'accounts', 'create', '--email', 'cli@example.com', '--password-stdin'],
      {
        cwd: app,
        env,
        input: 'a long passphrase nobody guesses\n',
      },
    );
    expectSuccess(account, 'keyward accounts create');
    const created = await run(
      'npx',
      ['--no-install', 'keyward', 'keys', 'create', '--account', 'cli@example.com', '--name', 'from the cli', '--json'],
      { cwd: app, env },
    );
    expectSuccess(created, 'keyward keys create');
    const key = JSON.parse(created.stdout) as { id: string; secret: string };
    expect(key.id).toMatch(/^kw_kid_/);

    writeFileSync(join(app, 'client.mjs'), CLIENT);
    const r = await run(process.execPath, ['client.mjs', `http://127.0.0.1:${port}`, '/v1/whoami'], {
      cwd: app,
      env: cleanEnv({ KEY_ID: key.id, SECRET: key.secret }),
    });
    expectSuccess(r, 'client');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const [i, method] of ['basic', 'oauth1'].entries()) {
      const body = JSON.parse((lines[i] as string).replace(/^ok \S+ /, '')) as { principal: Record<string, unknown> };
      expect(body.principal).toMatchObject({ keyId: key.id, method });
    }
    expect(lines[2]).toBe('refused 401 key_unknown');
    await serve.stop();
    // The server stopped gracefully (in flight requests finished, usage flushed, store closed).
    expect(serve.output).toContain('stopping: finishing in-flight requests');
    expect(serve.output).not.toContain('error while stopping');
  }, 120_000);
});
