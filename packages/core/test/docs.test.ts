// The README's examples run, and docs/errors.md lists exactly the codes the code has.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/index.js';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** Code blocks marked `<!-- example: name -->` in the README. */
function examples(): [string, string][] {
  const found: [string, string][] = [];
  const pattern = /<!-- example: ([\w-]+) -->\n```js\n([\s\S]*?)```/g;
  for (const m of readme.matchAll(pattern)) found.push([m[1] as string, m[2] as string]);
  return found;
}

describe('README', () => {
  const blocks = examples();

  it('has examples to run', () => {
    expect(blocks.map(([name]) => name)).toEqual(['core-oauth1', 'core-identify']);
  });

  it.each(blocks)('example %s runs as written', (_name, code) => {
    // Run inside the repository so `@keyward/core` resolves to the workspace package.
    const dir = mkdtempSync(join(new URL('.', root).pathname, 'node_modules', '.readme-example-'));
    try {
      const file = join(dir, 'example.mjs');
      writeFileSync(file, code);
      const out = execFileSync(process.execPath, [file], { encoding: 'utf8' });
      expect(out.length).toBeGreaterThan(0);
      if (code.includes('verified request'))
        expect(out).toMatch(/^verified request from kw_kid_\w+ nonce [0-9a-f]{32}$/m);
      if (code.includes("'api_key'")) expect(out).toBe('api_key\nundefined\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('docs/errors.md', root), 'utf8');

  it('lists every code with its status and meaning, and no other', () => {
    const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows).toEqual(
      Object.entries(ERROR_CODES).map(([code, { status, meaning }]) => `| \`${code}\` | ${status} | ${meaning} |`),
    );
  });
});
