// The README's examples run. These are the `<!-- example: name -->` blocks, which need no running
// server; the quick start and the per-method examples run against a real server in
// packages/server/test/readme.test.ts. docs/errors.md is generated from the server's catalogue and
// checked in packages/server/test/docs-errors.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** Code blocks marked `<!-- example: name -->` in the README: [name, language, code]. */
function examples(): [string, string, string][] {
  const found: [string, string, string][] = [];
  const pattern = /<!-- example: ([\w-]+) -->\n```(js|sh)\n([\s\S]*?)```/g;
  for (const m of readme.matchAll(pattern)) found.push([m[1] as string, m[2] as string, m[3] as string]);
  return found;
}

/** What each example must print, so a silent no-op cannot pass. */
const EXPECTED: Record<string, RegExp[]> = {
  'core-oauth1': [/^verified request from kw_kid_\w+ nonce [0-9a-f]{32}$/m],
  'core-identify': [/^api_key\nundefined\n$/],
  cli: [/^role: +admin$/m, /billing-sync/],
  fastify: [/^200 api-key$/m],
  'custom-scheme': [/^200 demo-hmac$/m, /^401 .*Demo realm="keyward"/m],
  express: [
    /^basic \{ caller: 'kw_kid_\w+', method: 'basic' \}$/m,
    /^api-key \{ caller: 'kw_kid_\w+', method: 'api-key' \}$/m,
    /^oauth1 200$/m,
    /^replay 401$/m,
  ],
};

// The CLI example starts a Node process per command: tens of seconds on a busy machine.
describe('README', { timeout: 120_000 }, () => {
  const blocks = examples();

  it('has examples to run', () => {
    expect(blocks.map(([name]) => name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(blocks)('example %s runs as written', (name, language, code) => {
    // Run inside the repository so `@keyward/*` and `npx keyward` resolve to the workspace.
    const dir = mkdtempSync(join(new URL('.', root).pathname, 'node_modules', '.readme-example-'));
    try {
      let out: string;
      if (language === 'js') {
        const file = join(dir, 'example.mjs');
        writeFileSync(file, code);
        out = execFileSync(process.execPath, [file], { encoding: 'utf8', cwd: dir });
      } else {
        out = execFileSync('bash', ['-euo', 'pipefail', '-c', code], { encoding: 'utf8', cwd: dir });
      }
      for (const pattern of EXPECTED[name] ?? []) expect(out).toMatch(pattern);
      expect(EXPECTED[name]?.length ?? 0).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
