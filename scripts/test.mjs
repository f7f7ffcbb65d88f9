#!/usr/bin/env node
// `npm test`: lint and format check, type-check, build, packaging checks (publint, attw), then
// every test of every package on each supported Node.js release (scripts/node-matrix.mjs: the
// machine's own Node, then the others), with a per-package summary for each release at the end.
// Exits non-zero if any step fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { prepareReleases, removeOverlays } from './node-matrix.mjs';

const root = new URL('..', import.meta.url).pathname;
// Arguments go to Vitest, on every release: `npm test -- --project core` runs the checks, then
// that project's tests only.
const vitestArgs = process.argv.slice(2);
const bin = (name) => join(root, 'node_modules', '.bin', name);

function step(title, command, args, { env = process.env, cwd = root } = {}) {
  console.log(`\n▶ ${title}: ${[command.replace(root, ''), ...args.map((a) => a.replace(root, ''))].join(' ')}`);
  const started = Date.now();
  const run = spawnSync(command, args, { cwd, env, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = run.status === 0;
  console.log(`${ok ? '✔' : '✘'} ${title} (${seconds}s)`);
  return ok;
}

const results = [];
results.push(['lint + format (biome)', step('lint + format', bin('biome'), ['ci', '.'])]);
results.push(['type-check (tsc)', step('type-check', bin('tsc'), ['-p', 'tsconfig.json'])]);
// Some suites run the built CLI in child processes: bring dist/ up to date first (incremental).
results.push([
  'build (tsc -b)',
  step('build', bin('tsc'), ['-b', 'packages/core', 'packages/client', 'packages/server']),
]);

// Each package as npm would publish it, from the dist/ just built: publint checks the
// package.json against the packed files (exports, types, files); Are the Types Wrong checks
// that every export resolves to its types. Both pack locally and need no network. The packages
// are ESM only, so attw's esm-only profile leaves out CommonJS and node10 resolution.
for (const pkg of ['core', 'client', 'server']) {
  const dir = join('packages', pkg);
  results.push([`publint ${pkg}`, step(`publint ${pkg}`, bin('publint'), ['--strict', dir])]);
  results.push([
    `attw ${pkg}`,
    step(`attw ${pkg}`, bin('attw'), ['--pack', dir, '--profile', 'esm-only', '--format', 'table-flipped']),
  ]);
}

// The checks above are of the sources and the packages, the same on every release; the tests run
// on each. The releases other than the machine's are installed and their native addons built
// first (cached in scripts/node-releases/node_modules after the first run); their tests run in
// an overlay of the repository whose node_modules has those builds (scripts/node-matrix.mjs).
console.log('\n▶ Node.js releases');
const preparing = Date.now();
const releases = await prepareReleases((line) => console.log(line));
for (const release of releases) {
  if (release.problem) console.log(`${release.skipped ? '-' : '✘'} Node ${release.major}: ${release.problem}`);
  else console.log(`  Node ${release.version}${release.own ? " (this machine's)" : ''}: ${release.node}`);
}
console.log(
  `${releases.some((r) => r.problem && !r.skipped) ? '✘' : '✔'} Node.js releases (${((Date.now() - preparing) / 1000).toFixed(1)}s)`,
);

const outDir = mkdtempSync(join(tmpdir(), 'keyward-test-'));
/** Per release and package: test files, and tests passed, failed and skipped. */
const perPackage = [];
/** Each failed test, named, with the start of its message: printed last, where a CI log's tail shows it. */
const failures = [];
for (const release of releases) {
  if (release.problem) {
    // A skip is printed with its reason and does not fail the run; any other problem does.
    results.push([
      `tests on Node ${release.major}: ${release.skipped ? 'skipped, ' : ''}${release.problem.split('\n')[0]}`,
      release.skipped ? 'skipped' : false,
    ]);
    continue;
  }
  const report = join(outDir, `vitest-node${release.major}.json`);
  const title = `tests on Node ${release.version} (vitest)`;
  const testsOk = step(
    title,
    release.node,
    [
      join(release.root, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
      ...vitestArgs,
    ],
    { env: release.env, cwd: release.root },
  );
  results.push([title, testsOk]);

  // Per-package summary from Vitest's JSON report.
  const rows = new Map(
    ['core', 'client', 'server'].map((p) => [`@keyward/${p}`, { files: 0, passed: 0, failed: 0, skipped: 0 }]),
  );
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    for (const file of json.testResults) {
      const rel = relative(release.root, file.name).split(sep);
      const pkg = rel[0] === 'packages' ? `@keyward/${rel[1]}` : rel[0];
      const row = rows.get(pkg) ?? { files: 0, passed: 0, failed: 0, skipped: 0 };
      row.files++;
      for (const t of file.assertionResults) {
        if (t.status === 'passed') row.passed++;
        else if (t.status === 'failed') {
          row.failed++;
          const message = (t.failureMessages ?? []).join('\n').split('\n').slice(0, 6).join('\n    ');
          failures.push(`Node ${release.major} ${relative(release.root, file.name)} > ${t.fullName}\n    ${message}`);
        } else row.skipped++;
      }
      rows.set(pkg, row);
      // A file that failed outside its tests (an error in a hook or at import) has no failed test.
      if (file.status === 'failed' && !file.assertionResults.some((t) => t.status === 'failed')) {
        failures.push(
          `Node ${release.major} ${relative(release.root, file.name)}\n    ${String(file.message ?? '')
            .split('\n')
            .slice(0, 6)
            .join('\n    ')}`,
        );
      }
    }
  } catch (error) {
    console.error(`could not read the test report of Node ${release.version}: ${error.message}`);
    results.push([`test report, Node ${release.version}`, false]);
  }
  for (const [pkg, row] of rows) perPackage.push({ pkg, node: release.version, major: release.major, ...row });
}
rmSync(outDir, { recursive: true, force: true });
removeOverlays(releases);

console.log('\nSummary');
for (const [name, ok] of results) console.log(`  ${ok === 'skipped' ? '-' : ok ? '✔' : '✘'} ${name}`);
console.log('\n  package            node      files  passed  failed  skipped');
perPackage.sort((a, b) => a.pkg.localeCompare(b.pkg) || a.major - b.major);
for (const r of perPackage) {
  console.log(
    `  ${r.pkg.padEnd(18)} ${r.node.padEnd(8)} ${String(r.files).padStart(6)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}`,
  );
}
const total = (key) => perPackage.reduce((sum, r) => sum + r[key], 0);
console.log(`\ntests: ${total('passed')} passed, ${total('failed')} failed, ${total('skipped')} skipped`);
if (failures.length > 0) {
  console.log(`\nFailed (${failures.length}):`);
  for (const failure of failures) console.log(`  ✘ ${failure}`);
}
const failed = results.some(([, ok]) => !ok);
console.log(failed ? '\nFAILED' : '\nAll checks passed.');
process.exit(failed ? 1 : 0);
