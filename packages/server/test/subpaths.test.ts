// The subpath exports keep an embedding app light: `@keyward/server/express` (and the other
// adapters, and the verifier) must load no web framework, no database driver and no CLI. Each
// subpath is imported in a fresh Node process, from the BUILT package (dist/, which `npm test`
// builds before Vitest runs), resolved the way an app resolves it: from a directory whose
// node_modules holds the package, without the "source" condition the test suite uses.
//
// What a process loaded is read two ways, because neither alone sees everything on Node 20:
// a resolve hook (`module.register`) sees every ESM import, with its importer, which gives the
// chain that pulled a package in; `require.cache` sees CommonJS modules, including those that a
// CommonJS package requires internally, which never pass through the ESM hooks.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const serverDir = new URL('..', import.meta.url).pathname;

// Runs in the hooks thread: records every resolution as `parent \t specifier \t url`.
const HOOKS = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, context.parentURL + '\\t' + specifier + '\\t' + result.url + '\\n');
  return result;
}
`;

// Imports argv[2] and prints, for each npm package the process loaded, the import chain from
// the entry to it (empty when only require.cache saw it), and the URL the entry resolved to.
const PROBE = `import { createRequire, register } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
const specifier = process.argv[2];
const log = new URL('resolve-' + process.pid + '.log', import.meta.url);
writeFileSync(log, '');
register('./hooks.mjs', import.meta.url, { data: { log: log.pathname } });
const entry = import.meta.resolve(specifier);
await import(specifier);
const packageOf = (path) => /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(path)?.[1];
const importer = new Map();
for (const line of readFileSync(log, 'utf8').split('\\n').filter(Boolean)) {
  const [parent, , url] = line.split('\\t');
  if (!importer.has(url)) importer.set(url, parent);
}
const loaded = {};
for (const url of importer.keys()) {
  const name = packageOf(url);
  if (name === undefined || name in loaded) continue;
  const chain = [];
  for (let u = url; u !== undefined && u !== entry && importer.has(u); u = importer.get(u)) chain.unshift(u);
  loaded[name] = [entry, ...chain].map((u) => u.replace(/^file:\\/\\/.*?\\/(packages\\/|node_modules\\/)/, '$1'));
}
for (const path of Object.keys(createRequire(import.meta.url).cache)) {
  const name = packageOf(path);
  if (name !== undefined && !(name in loaded)) loaded[name] = [];
}
process.stdout.write(JSON.stringify({ entry, loaded }));
`;

interface Probe {
  /** The file the specifier resolved to. */
  readonly entry: string;
  /** Each npm package loaded, with the import chain that loaded it ([] when seen only as CommonJS). */
  readonly loaded: Record<string, string[]>;
}

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-subpaths-'));
  mkdirSync(join(dir, 'node_modules', '@keyward'), { recursive: true });
  symlinkSync(serverDir, join(dir, 'node_modules', '@keyward', 'server'), 'dir');
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  writeFileSync(join(dir, 'probe.mjs'), PROBE);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const probed = new Map<string, Probe>();

/** Imports `specifier` in a fresh Node process started in the app directory (once per specifier). */
function probe(specifier: string): Probe {
  let result = probed.get(specifier);
  if (result === undefined) {
    // No inherited NODE_OPTIONS: a "source" condition there would load src/ instead of dist/.
    const { NODE_OPTIONS: _, ...env } = process.env;
    const out = execFileSync(process.execPath, ['probe.mjs', specifier], { cwd: dir, env, encoding: 'utf8' });
    result = JSON.parse(out) as Probe;
    probed.set(specifier, result);
  }
  return result;
}

// A cold Node process loading the HTTP server or the CLI takes seconds on a busy machine.
const SLOW = { timeout: 60_000 };

/** The packages of `names` that the process loaded, each with the chain that loaded it. */
function loadedOf(result: Probe, names: readonly string[]): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of names) {
    const chain = result.loaded[name];
    if (chain !== undefined) found[name] = chain.length > 0 ? chain.join(' -> ') : '(seen in require.cache)';
  }
  return found;
}

// A web framework, the database drivers and the CLI's parser.
const FRAMEWORK_DRIVERS_CLI = ['fastify', 'better-sqlite3', 'pg', 'commander'] as const;
// The store's runtime: the query builder and the password hasher (a native addon).
const STORE_RUNTIME = ['kysely', '@node-rs/argon2'] as const;
const SUBPATHS = ['express', 'fastify', 'fetch', 'passport', 'verify'] as const;

describe('subpath exports load only what they need', SLOW, () => {
  it.each(SUBPATHS)('@keyward/server/%s loads no web framework, database driver or CLI', (subpath) => {
    const result = probe(`@keyward/server/${subpath}`);
    expect(result.entry).toMatch(new RegExp(`/packages/server/dist/entry/${subpath}\\.js$`));
    expect(loadedOf(result, FRAMEWORK_DRIVERS_CLI)).toEqual({});
  });

  it.each(SUBPATHS)('@keyward/server/%s loads no store runtime', (subpath) => {
    expect(loadedOf(probe(`@keyward/server/${subpath}`), STORE_RUNTIME)).toEqual({});
  });

  it('@keyward/server (the main entry) does not load the CLI', () => {
    expect(loadedOf(probe('@keyward/server'), ['commander'])).toEqual({});
  });
});

// Positive controls: the same probe does see these packages where they belong, through both of
// its sources (an ESM import chain, and require.cache for what CommonJS requires inside).
describe('the probe sees what is loaded', SLOW, () => {
  it('@keyward/server/server loads Fastify and both database drivers', () => {
    const result = probe('@keyward/server/server');
    expect(result.entry).toMatch(/\/packages\/server\/dist\/entry\/server\.js$/);
    expect(Object.keys(loadedOf(result, FRAMEWORK_DRIVERS_CLI)).sort()).toEqual(['better-sqlite3', 'fastify', 'pg']);
    expect(result.loaded.fastify?.[0]).toMatch(/entry\/server\.js$/);
  });

  it('@keyward/server/store loads both database drivers and the store runtime', () => {
    const result = probe('@keyward/server/store');
    expect(Object.keys(loadedOf(result, [...FRAMEWORK_DRIVERS_CLI, ...STORE_RUNTIME])).sort()).toEqual([
      '@node-rs/argon2',
      'better-sqlite3',
      'kysely',
      'pg',
    ]);
    // pg requires pg-pool from CommonJS: only require.cache sees it.
    expect(result.loaded['pg-pool']).toEqual([]);
  });

  it('the CLI module loads commander', () => {
    const cli = pathToFileURL(join(serverDir, 'dist', 'cli', 'main.js')).href;
    expect(Object.keys(loadedOf(probe(cli), ['commander']))).toEqual(['commander']);
  });
});
