// The OpenAPI document the server serves passes `redocly lint` with the recommended rules
// (redocly.yaml): no error, no warning. Checked on the document of two configurations, since
// what is served depends on them: opaque tokens and an open /metrics (the defaults), and JWT
// access tokens (adding /.well-known/jwks.json) with a metrics token (/metrics behind it).
// Redocly runs from its installed binary, offline: no telemetry, no update check.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeywardConfigInput } from '../src/config/index.js';
import { jsonOf, startTestServer } from './support/server.js';

const root = new URL('../../../', import.meta.url).pathname;
const REDOCLY = join(root, 'node_modules', '.bin', 'redocly');
const CONFIG = new URL('../redocly.yaml', import.meta.url).pathname;

interface Problem {
  readonly ruleId: string;
  readonly severity: 'error' | 'warn';
  readonly message: string;
  readonly location: readonly { readonly pointer: string }[];
}

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number; readonly ignored: number };
  readonly problems: readonly Problem[];
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-openapi-lint-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Lints a document with the project's configuration; redocly exits 1 when it finds an error. */
async function lint(document: unknown, name: string): Promise<LintReport> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(document));
  const run = await promisify(execFile)(
    REDOCLY,
    ['lint', file, `--config=${CONFIG}`, '--format=json', '--max-problems=1000'],
    {
      cwd: dir,
      env: {
        ...process.env,
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_NOTIFICATIONS: 'true',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        NO_COLOR: '1',
      },
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  ).catch((error: { stdout?: string; stderr?: string; code?: number }) => {
    if (error.code === 1 && typeof error.stdout === 'string' && error.stdout.includes('"totals"')) return error;
    throw new Error(`redocly did not run: ${String(error.code)}\n${error.stderr ?? ''}`);
  });
  return JSON.parse(run.stdout as string) as LintReport;
}

const readable = (report: LintReport) =>
  report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`);

describe.each([
  ['defaults', {}],
  ['jwt and metrics token', { tokenFormat: 'jwt', metricsToken: 'scrape-0123456789abcdefghijklmnopqr' }],
] as [string, KeywardConfigInput][])('redocly lint, %s', (name, config) => {
  let document: Record<string, unknown>;
  beforeAll(async () => {
    const t = await startTestServer('sqlite', { publicUrl: 'https://api.example.test', ...config });
    try {
      const res = await fetch(`${t.url}/openapi.json`);
      expect(res.status).toBe(200);
      document = await jsonOf(res);
    } finally {
      await t.close();
    }
  });

  it('finds no error and no warning in the served document', async () => {
    const report = await lint(document, name.replace(/\W+/g, '-'));
    expect(readable(report)).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  }, 60_000);

  it('finds what it should: the same document with an operation stripped of its operationId and security', async () => {
    const broken = structuredClone(document) as { paths: Record<string, Record<string, Record<string, unknown>>> };
    const op = broken.paths['/v1/keys']?.get as Record<string, unknown>;
    delete op.operationId;
    delete op.security;
    const report = await lint(broken, `${name.replace(/\W+/g, '-')}-broken`);
    expect(report.problems.map((p) => [p.ruleId, p.location[0]?.pointer])).toEqual(
      expect.arrayContaining([
        ['operation-operationId', '#/paths/~1v1~1keys/get/operationId'],
        ['security-defined', '#/paths/~1v1~1keys/get'],
      ]),
    );
  }, 60_000);
});
