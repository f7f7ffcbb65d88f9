// Issue 16, finding 6: the first admin's credentials stay out of the output stream (CWE-532).
// `keyward serve` (run in process here) writes them to first-admin.json in the data directory
// with mode 0600 and prints only the path; the old code printed the password and the key secret
// to stdout, between the JSON log lines journald or a container runtime keeps, so the assertions
// on the output fail on it.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/context.js';
import { serve } from '../../src/cli/serve.js';
import { FIRST_ADMIN_FILE } from '../../src/http/bootstrap.js';

const root = mkdtempSync(join(tmpdir(), 'keyward-first-start-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A CLI context whose output is captured; `json` is the `--json` flag. */
function context(env: NodeJS.ProcessEnv, json = false) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    env: { KEYWARD_CONFIG: '', PORT: '0', KEYWARD_LOG_LEVEL: 'silent', ...env },
    cwd: root,
    configFile: () => undefined,
    readStdin: async () => new Uint8Array(),
    out: (text) => void out.push(text),
    err: (text) => void err.push(text),
    json: () => json,
  };
  return { ctx, out: () => out.join(''), err: () => err.join('') };
}

interface Credentials {
  email: string;
  password: string;
  keyId: string;
  secret: string;
  token: string;
}

describe('first start', () => {
  it('writes the credentials to first-admin.json (mode 0600) and prints only its path', async () => {
    const dataDir = join(root, 'data');
    const { ctx, out } = context({ KEYWARD_DATA_DIR: dataDir });
    const server = await serve(ctx);
    try {
      const file = join(dataDir, FIRST_ADMIN_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const made = JSON.parse(readFileSync(file, 'utf8')) as Credentials;
      expect(made.email).toBe('admin@keyward.local');
      expect(made.keyId).toMatch(/^kw_kid_/);
      expect(made.secret).toMatch(/^kw_sk_/);
      expect(made.password).toMatch(/^[\w-]{24}$/);
      // The output names the file and says to delete it; it holds no credential.
      expect(out()).toContain(file);
      expect(out()).toMatch(/\brm '/);
      for (const secret of [made.password, made.secret, made.token]) expect(out()).not.toContain(secret);
      // The credentials work.
      const address = server.app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const whoami = await fetch(`http://127.0.0.1:${port}/v1/whoami`, {
        headers: { authorization: `Basic ${Buffer.from(`${made.keyId}:${made.secret}`).toString('base64')}` },
      });
      expect(whoami.status).toBe(200);
    } finally {
      await server.close();
    }

    // A second start makes no admin and prints nothing about one.
    const again = context({ KEYWARD_DATA_DIR: dataDir });
    const second = await serve(again.ctx);
    await second.close();
    expect(again.out()).toBe('');
  });

  it('with --json, prints the email and the file, no credential', async () => {
    const dataDir = join(root, 'json');
    const { ctx, out } = context({ KEYWARD_DATA_DIR: dataDir }, true);
    const server = await serve(ctx);
    await server.close();
    const printed = JSON.parse(out()) as { admin: Record<string, unknown> };
    expect(printed).toEqual({
      admin: { email: 'admin@keyward.local', credentialsFile: join(dataDir, FIRST_ADMIN_FILE) },
    });
  });

  it('creates no admin when the file cannot be written, and the next start makes one', async () => {
    // A directory where the file belongs stands in for an unwritable place (root writes anywhere).
    const blocked = join(root, 'blocked');
    mkdirSync(join(blocked, FIRST_ADMIN_FILE), { recursive: true });
    const env = { KEYWARD_DATA_DIR: blocked };
    const failing = context(env);
    await expect(serve(failing.ctx)).rejects.toThrow();
    expect(failing.err()).toContain(`cannot write the first admin's credentials to ${join(blocked, FIRST_ADMIN_FILE)}`);
    expect(failing.out()).toBe('');
    // Nothing was created: with the way cleared, the next start makes the admin.
    rmSync(join(blocked, FIRST_ADMIN_FILE), { recursive: true });
    const next = context(env);
    const started = await serve(next.ctx);
    await started.close();
    expect(existsSync(join(blocked, FIRST_ADMIN_FILE))).toBe(true);
    expect(next.out()).toContain(join(blocked, FIRST_ADMIN_FILE));
  });
});
