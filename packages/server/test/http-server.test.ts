// The server as an operator runs it: `keyward serve` from the installed bin (first start, a
// second start, graceful stop with a request in flight, usage flushed), HTTPS with a certificate
// made here, and the transport rule for secret-bearing methods from non-loopback clients.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.js';
import { jsonOf, startTestServer, type TestServer } from './support/server.js';
import { selfSignedCertificate } from './support/tls.js';

const root = new URL('../../../', import.meta.url).pathname;
const bin = join(root, 'node_modules/.bin/keyward');

/** Starts `keyward serve`; resolves with the process and its stdout so far once it listens. */
async function startServe(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [bin, 'serve'], {
    cwd: tmpdir(),
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!out.includes('Keyward is serving')) {
    if (child.exitCode !== null) throw new Error(`keyward serve exited ${child.exitCode}: ${out}`);
    if (Date.now() > deadline) throw new Error(`keyward serve did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, out: () => out };
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

describe('keyward serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-serve-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the first admin once, serves, and stops gracefully with a request in flight and usage flushed', async () => {
    const port = await freePort();
    const env = {
      KEYWARD_DATA_DIR: join(dir, 'data'),
      PORT: String(port),
      KEYWARD_CONFIG: '',
      KEYWARD_LOG_LEVEL: 'info',
    };
    const first = await startServe(env);
    const text = first.out();
    // The credentials are in a file readable by the server's user only; the output names it.
    const file = join(dir, 'data', 'first-admin.json');
    expect(text).toContain(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const { keyId: id, secret, password } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(id).toMatch(/^kw_kid_/);
    expect(secret).toMatch(/^kw_sk_/);
    // Nowhere in the output, logs or not.
    for (const value of [secret, password]) expect(text).not.toContain(value);

    const whoami = await fetch(`http://127.0.0.1:${port}/v1/whoami`, {
      headers: { authorization: basic(id ?? '', secret ?? '') },
    });
    expect(whoami.status).toBe(200);
    expect((await jsonOf(whoami)).principal.scopes).toEqual(['keyward:admin']);

    // A request whose body is still arriving when SIGTERM comes: it must be answered.
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/whoami',
          headers: {
            authorization: basic(id ?? '', secret ?? ''),
            'content-type': 'application/json',
            'content-length': 11,
          },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write('{"a":');
      setTimeout(() => {
        first.child.kill('SIGTERM');
        setTimeout(() => req.end('"bcd"}'), 300);
      }, 200);
    });
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body).body).toEqual({ a: 'bcd' });
    const [code] = await once(first.child, 'exit');
    expect(code).toBe(0);

    // Second start: the admin exists, nothing is printed again; the two uses were flushed at stop.
    const second = await startServe({ ...env, PORT: String(await freePort()) });
    expect(second.out()).not.toContain('Keyward created an admin account');
    // The file left behind is reported, by path, until it is deleted.
    expect(second.out()).toContain("the first admin's credentials file is still there");
    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
    const shown = JSON.parse(
      execFileSync(process.execPath, [bin, 'keys', 'show', id ?? '', '--json'], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      }),
    );
    expect(shown.useCount).toBe(2);
  }, 60_000);

  it('creates another admin with keyward admin create, credentials shown once as JSON', async () => {
    const env = { ...process.env, KEYWARD_DATA_DIR: join(dir, 'admin-create') };
    // Only serve, or migrate --create, makes a store; admin create works on one that is there.
    execFileSync(process.execPath, [bin, 'migrate', '--create'], { env, encoding: 'utf8' });
    const made = JSON.parse(
      execFileSync(process.execPath, [bin, 'admin', 'create', '--email', 'ops@example.com', '--json'], {
        env,
        encoding: 'utf8',
      }),
    );
    expect(made).toMatchObject({ email: 'ops@example.com', role: 'admin' });
    expect(made.password).toMatch(/^[\w-]{24}$/);
    expect(made.keyId).toMatch(/^kw_kid_/);
    expect(made.secret).toMatch(/^kw_sk_/);
    const shown = JSON.parse(
      execFileSync(process.execPath, [bin, 'keys', 'show', made.keyId, '--json'], { env, encoding: 'utf8' }),
    );
    expect(shown.scopes).toEqual(['keyward:admin']);
    expect(JSON.stringify(shown)).not.toContain(made.secret);
  });

  it('refuses a configuration it cannot use, naming the setting', () => {
    let failure: { status: number | null; stderr: string } = { status: 0, stderr: '' };
    try {
      execFileSync(process.execPath, [bin, 'serve'], {
        env: { ...process.env, KEYWARD_DATA_DIR: join(dir, 'bad'), KEYWARD_TOKEN_TTL: '2h' },
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (error) {
      failure = error as { status: number; stderr: string };
    }
    expect(failure.status).toBe(1);
    expect(failure.stderr).toMatch(/^error: invalid_input: KEYWARD_TOKEN_TTL: .*3600/);
  });
});

describe('HTTPS', () => {
  let t: TestServer;
  let cert: string;
  const dir = mkdtempSync(join(tmpdir(), 'keyward-tls-'));
  beforeAll(async () => {
    const made = selfSignedCertificate(dir);
    const { keyFile, certFile } = made;
    cert = made.cert;
    t = await startTestServer('sqlite', { tls: { keyFile, certFile } });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with the configured certificate, and Basic works over it', async () => {
    expect(t.url.startsWith('https://')).toBe(true);
    const { store } = t.server.context;
    const account = await store.accounts.create(
      { email: 'tls@example.com', password: 'correct horse battery' },
      { type: 'system' },
    );
    if (!account.ok) throw new Error(account.code);
    const key = await store.keys.create(account.value.id, { name: 'tls' }, { type: 'system' });
    if (!key.ok) throw new Error(key.code);
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        `${t.url}/v1/whoami`,
        { ca: cert, headers: { authorization: basic(key.value.id, key.value.secret) } },
        (res) => {
          let b = '';
          res.on('data', (d: Buffer) => {
            b += d.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    expect(JSON.parse(body).principal.method).toBe('basic');
  });
});

// Tests listen on loopback only, so a non-loopback client is simulated in process: Fastify's
// inject() gives the request a peer address of our choosing, and the whole app runs as usual.
describe('secret-bearing methods over plain HTTP from a non-loopback client', () => {
  let t: TestServer;
  let authorization: string;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { trustProxy: ['203.0.113.1'] });
    const { store } = t.server.context;
    const account = await store.accounts.create(
      { email: 'far@example.com', password: 'correct horse battery' },
      { type: 'system' },
    );
    if (!account.ok) throw new Error(account.code);
    const key = await store.keys.create(account.value.id, { name: 'far' }, { type: 'system' });
    if (!key.ok) throw new Error(key.code);
    authorization = basic(key.value.id, key.value.secret);
  });
  afterAll(() => t?.close());

  const call = (remoteAddress: string, headers: Record<string, string> = {}) =>
    t.server.app.inject({ method: 'GET', url: '/v1/whoami', remoteAddress, headers: { authorization, ...headers } });

  it('refuses Basic from a remote client over plain HTTP', async () => {
    const res = await call('198.51.100.7');
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('transport_insecure');
  });

  it('ignores X-Forwarded-Proto: https from an address that is not a trusted proxy', async () => {
    const res = await call('198.51.100.7', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('transport_insecure');
  });

  it('believes the trusted proxy that says https, and refuses when it says http', async () => {
    const https = await call('203.0.113.1', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.7' });
    expect(https.statusCode).toBe(200);
    const http = await call('203.0.113.1', { 'x-forwarded-proto': 'http', 'x-forwarded-for': '198.51.100.7' });
    expect(http.json().error.code).toBe('transport_insecure');
  });
});
