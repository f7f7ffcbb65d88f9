// Every project in examples/ runs as its README says, against a store made with the real
// `keyward` command: the Express API (called by its @keyward/client client), the Fastify API,
// the Python requests-oauthlib client and the tutorial's node-oauth client. The examples import
// Keyward by its published names; here they resolve through the workspace's node_modules (the
// examples are not workspaces, so `npm ci` is unchanged), the way a reader's clone runs them.
// That the same names resolve from the packed tarballs outside the repository is
// test/packaging.test.ts's job. Every data file lives in a temporary directory; nothing is
// written into examples/.
//
// The Python client runs under /usr/bin/python3 with Debian's python3-requests-oauthlib (a
// `python3` earlier on PATH, such as pyenv's, lacks Debian's dist-packages); without it that
// test fails saying so, never skips.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.js';
import { expectSuccess, run } from './support/run.js';

const root = new URL('../../../', import.meta.url).pathname;
const examples = join(root, 'examples');
const PYTHON = '/usr/bin/python3';

/** An example's API server, started as its README says (`node server.js`), stopped in afterAll. */
async function startApi(
  example: string,
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['server.js'], {
    cwd: join(examples, example),
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${example}: not listening within 20 s:\n${output}`)), 20_000);
    const poll = setInterval(() => {
      if (output.includes(`orders API on ${url}`)) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve();
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        clearInterval(poll);
        reject(new Error(`${example} exited (${child.exitCode}):\n${output}`));
      }
    }, 25);
  });
  return { url, child, output: () => output };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

describe('examples/', () => {
  // Made in beforeAll, so that a run that filters these tests out leaves nothing behind.
  let work = '';
  const base: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('KEYWARD_') && name !== 'PORT') base[name] = value;
  }
  const env: NodeJS.ProcessEnv = { ...base };
  let key: { id: string; secret: string };
  let express: Awaited<ReturnType<typeof startApi>> | undefined;
  let fastify: Awaited<ReturnType<typeof startApi>> | undefined;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'keyward-examples-'));
    env.KEYWARD_DATA_DIR = join(work, 'store');
    // As the Express example's README: a store, an account and a key, with the keyward command.
    const cwd = join(examples, 'express-api');
    expectSuccess(
      await run('npx', ['--no-install', 'keyward', 'migrate', '--create'], { cwd, env }),
      'migrate --create',
    );
    expectSuccess(
      await run(
        'npx',
        ['--no-install', 'keyward', 'accounts', 'create', '--email', 'orders@example.com', '--password-stdin'],
        {
          cwd,
          env,
          input: 'a long passphrase nobody guesses\n',
        },
      ),
      'accounts create',
    );
    const made = await run(
      'npx',
      [
        '--no-install',
        'keyward',
        'keys',
        'create',
        '--account',
        'orders@example.com',
        '--name',
        'orders-client',
        '--scopes',
        'read:orders,write:orders',
        '--json',
      ],
      { cwd, env },
    );
    expectSuccess(made, 'keys create');
    key = JSON.parse(made.stdout) as { id: string; secret: string };
    [express, fastify] = await Promise.all([startApi('express-api', env), startApi('fastify-api', env)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([stop(express?.child), stop(fastify?.child)]);
    if (work !== '') rmSync(work, { recursive: true, force: true });
  }, 20_000);

  /** The environment a client runs with: the key and the API's URL. */
  const clientEnv = (url: string) => ({ ...base, KEY_ID: key.id, SECRET: key.secret, API_URL: url });

  it('express-api: the client signs, uses Basic, and is refused with a wrong secret', async () => {
    const r = await run(process.execPath, ['client.js'], {
      cwd: join(examples, 'express-api'),
      env: clientEnv(express?.url ?? ''),
    });
    expectSuccess(r, 'express-api client.js');
    expect(r.stdout).toBe(
      [
        'GET /orders oauth1 1',
        'POST /orders oauth1 {"item":"gadget","qty":"2"}',
        'GET /orders basic',
        'refused 401 signature_invalid',
        '',
      ].join('\n'),
    );
  });

  it('fastify-api: the same client works against it; no credential gets a challenge', async () => {
    const url = fastify?.url ?? '';
    const anonymous = await fetch(`${url}/orders`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('OAuth realm="keyward"');
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const r = await run(process.execPath, ['client.js'], { cwd: join(examples, 'express-api'), env: clientEnv(url) });
    expectSuccess(r, 'express-api client.js against fastify-api');
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      'GET /orders oauth1 1',
      'POST /orders oauth1 {"item":"gadget","qty":"2"}',
      'GET /orders basic',
    ]);
    // The README's curl line: HTTP Basic with the key id and secret.
    const basic = await fetch(`${url}/orders`, {
      headers: { authorization: `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}` },
    });
    expect(basic.status).toBe(200);
    expect(await basic.json()).toMatchObject({ caller: key.id, method: 'basic' });
  });

  it('python-requests-oauthlib: signs a GET and a form POST; its replay is refused', async () => {
    const r = await run(PYTHON, ['client.py'], {
      cwd: join(examples, 'python-requests-oauthlib'),
      env: clientEnv(express?.url ?? ''),
    });
    if (/No module named '(requests_oauthlib|oauthlib|requests)'/.test(r.stderr)) {
      throw new Error(
        `${PYTHON} has no requests-oauthlib: install the Debian package python3-requests-oauthlib (see .ci/run)\n${r.stderr}`,
      );
    }
    expectSuccess(r, 'client.py');
    expect(r.stdout).toBe(
      ['GET /orders 200 oauth1', "POST /orders 201 {'item': 'gadget', 'qty': '2'}", 'replay 401 nonce_reused', ''].join(
        '\n',
      ),
    );
  });

  it('node-oauth-client: the tutorial client gets its data and creates an order', async () => {
    for (const api of [express, fastify]) {
      const r = await run(process.execPath, ['client.js'], {
        cwd: join(examples, 'node-oauth-client'),
        env: clientEnv(api?.url ?? ''),
      });
      expectSuccess(r, 'node-oauth client.js');
      const [success, created] = r.stdout.trimEnd().split('\n');
      expect(success).toMatch(/^Success /);
      expect(JSON.parse((success as string).slice('Success '.length))).toMatchObject({
        caller: key.id,
        method: 'oauth1',
      });
      expect(JSON.parse((created as string).slice('Created '.length))).toMatchObject({
        created: { item: 'gadget', qty: '2' },
        method: 'oauth1',
      });
    }
  });
});
