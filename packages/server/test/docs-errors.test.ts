// docs/errors.md lists exactly the codes the server has, with their status, kind and meaning, and
// is exactly what scripts/error-codes.mjs writes (run as a user would, through its source loader).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isProtocolCode } from '../src/errors/codes.js';

const root = new URL('../../../', import.meta.url);

describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('docs/errors.md', root), 'utf8');

  it('lists every code with its status, kind and meaning, and no other', () => {
    const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows).toEqual(
      Object.entries(ERROR_CODES).map(
        ([code, { status, meaning }]) =>
          `| \`${code}\` | ${status} | ${isProtocolCode(code) ? 'protocol' : 'product'} | ${meaning} |`,
      ),
    );
  });

  it('is what the generator writes', () => {
    const script = new URL('scripts/error-codes.mjs', root).pathname;
    // Throws (exit 1, "stale") when the file differs from the generator's output.
    execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8', stdio: 'pipe' });
  });
});
