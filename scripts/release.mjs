#!/usr/bin/env node
// `npm run release`: the three publishable packages as npm would publish them. Checks that
// @keyward/core, @keyward/client and @keyward/server have one version, that each depends on the
// others at exactly that version, and that CHANGELOG.md has a section for it; builds every
// package; then packs each into dist-release/ (gitignored) and prints the tarballs with their
// integrity. Publishing is `npm publish dist-release/<tarball>` for each, core first; installing
// without a registry is `npm install <the three tarballs>`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const PACKAGES = ['core', 'client', 'server'];
const out = join(root, 'dist-release');

function fail(message) {
  console.error(`release: ${message}`);
  process.exit(1);
}

const manifests = PACKAGES.map((pkg) => ({
  pkg,
  dir: join(root, 'packages', pkg),
  manifest: JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')),
}));
const versions = new Set(manifests.map(({ manifest }) => manifest.version));
if (versions.size !== 1) {
  fail(
    `the packages disagree on the version: ${manifests.map(({ manifest }) => `${manifest.name}@${manifest.version}`).join(', ')}`,
  );
}
const [version] = versions;
for (const { manifest } of manifests) {
  if (manifest.private === true) fail(`${manifest.name} is private`);
  for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
    if (name.startsWith('@keyward/') && range !== version) {
      fail(`${manifest.name} depends on ${name}@${range}, not on this release (${version})`);
    }
  }
}
const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
if (!changelog.includes(`## [${version}]`)) fail(`CHANGELOG.md has no "## [${version}]" section`);

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} failed (exit ${result.status})`);
  return result.stdout;
}

console.log(`release ${version}: building`);
run('npm', ['run', 'build'], root);
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
for (const { manifest, dir } of manifests) {
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], dir));
  console.log(`${packed.filename}  ${packed.entryCount} files, ${packed.size} bytes  ${packed.integrity}`);
  if (packed.name !== manifest.name || packed.version !== version) fail(`packed ${packed.name}@${packed.version}`);
}
console.log(`\nwritten to ${out}`);
