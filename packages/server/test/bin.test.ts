// The installed `keyward` command (bin/keyward.js over the built dist/) runs from the repo root.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../src/cli/main.js';

const root = new URL('../../../', import.meta.url).pathname;

describe('keyward bin', () => {
  it('is linked into node_modules/.bin by npm ci', () => {
    expect(existsSync(`${root}node_modules/.bin/keyward`)).toBe(true);
  });

  it('prints its version and help, and exits 2 (usage) on a bad argument', () => {
    const bin = `${root}node_modules/.bin/keyward`;
    const version = spawnSync(bin, ['--version'], { cwd: root, encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(VERSION);
    const help = spawnSync(bin, ['--help'], { cwd: root, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: keyward');
    const bad = spawnSync(bin, ['--no-such-flag'], { cwd: root, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown option '--no-such-flag'");
  });
});
