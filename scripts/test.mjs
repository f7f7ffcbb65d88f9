#!/usr/bin/env node
// `npm test`: lint and format check, type-check, build, packaging checks (publint, attw), then
// every test of every package, with a per-package summary at the end. Exits non-zero if any
// step fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);

function step(title, command, args) {
  console.log(`\n▶ ${title}: ${[command.replace(root, ''), ...args].join(' ')}`);
  const started = Date.now();
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
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

const outDir = mkdtempSync(join(tmpdir(), 'keyward-test-'));
const report = join(outDir, 'vitest.json');
const testsOk = step('tests', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
]);
results.push(['tests (vitest)', testsOk]);

// Per-package summary from Vitest's JSON report.
const perPackage = new Map(
  ['core', 'client', 'server'].map((p) => [`@keyward/${p}`, { files: 0, passed: 0, failed: 0, skipped: 0 }]),
);
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  for (const file of json.testResults) {
    const rel = relative(root, file.name).split(sep);
    const pkg = rel[0] === 'packages' ? `@keyward/${rel[1]}` : rel[0];
    const row = perPackage.get(pkg) ?? { files: 0, passed: 0, failed: 0, skipped: 0 };
    row.files++;
    for (const t of file.assertionResults) {
      if (t.status === 'passed') row.passed++;
      else if (t.status === 'failed') row.failed++;
      else row.skipped++;
    }
    perPackage.set(pkg, row);
  }
} catch (error) {
  console.error(`could not read the test report: ${error.message}`);
  results.push(['test report', false]);
}
rmSync(outDir, { recursive: true, force: true });

console.log('\nSummary');
for (const [name, ok] of results) console.log(`  ${ok ? '✔' : '✘'} ${name}`);
console.log('\n  package            files  passed  failed  skipped');
for (const [pkg, r] of [...perPackage].sort()) {
  console.log(
    `  ${pkg.padEnd(18)} ${String(r.files).padStart(5)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}`,
  );
}
const failed = results.some(([, ok]) => !ok);
console.log(failed ? '\nFAILED' : '\nAll checks passed.');
process.exit(failed ? 1 : 0);
