// A Keyward deployment on loopback for the scale-out suites: real `keyward serve` processes (the
// built CLI, as systemd runs it from deploy/systemd/keyward@.service, with the environment of
// deploy/keyward.env), one PostgreSQL database, optionally a Redis server of their own, and
// nginx with deploy/nginx/keyward.conf in front. Everything listens on 127.0.0.1 and is stopped
// by `stop()`.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect, createServer as netServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signOAuth1 } from '@keyward/core';
import { freePort } from './ports.js';
import { selfSignedCertificate } from './tls.js';

const root = new URL('../../../../', import.meta.url).pathname;
export const KEYWARD_BIN = join(root, 'node_modules/.bin/keyward');
export const DEPLOY = join(root, 'deploy');
const NGINX = '/usr/sbin/nginx';
const REDIS = '/usr/bin/redis-server';

export const PASSWORD = 'correct horse battery staple';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true; throws with `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The `KEY=value` lines of deploy/keyward.env. */
export function deployEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(DEPLOY, 'keyward.env'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined) out[m[1]] = m[2] ?? '';
  }
  return out;
}

/** A Redis server of the test's own (no persistence unless asked), restartable on its port. */
export class TestRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!existsSync(REDIS)) throw new Error(`${REDIS} not found: install the Debian package redis-server`);
    const child = spawn(
      REDIS,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    await until(`redis on ${this.port}: ${out}`, () => out.includes('Ready to accept connections'), 15_000);
  }

  /** SIGKILL: Redis dies without a word to its clients. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * A TCP relay in front of PostgreSQL: `cut()` closes every connection and refuses new ones, as
 * a PostgreSQL that died would; `restore()` lets connections through again. The test cluster's
 * PostgreSQL serves other suites at the same time, so the outage is made here, not by killing it.
 */
export class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<void> {
    const server = netServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server !== undefined) await new Promise((resolve) => server.close(resolve));
  }

  async restore(): Promise<void> {
    await this.start(this.port);
  }
}

export interface Instance {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  process: ChildProcess;
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `keyward serve` with `env` on a free port; resolves once /readyz answers 200. */
export async function startInstance(name: string, env: Record<string, string>, dir: string): Promise<Instance> {
  const port = await freePort();
  const dataDir = join(dir, name);
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(KEYWARD_BIN, ['serve'], {
    cwd: dataDir,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const instance: Instance = {
    name,
    port,
    url,
    dataDir,
    process: child,
    log: () => log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    },
  };
  try {
    await until(
      `${name} ready`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited: ${log}`);
        return (await fetch(`${url}/readyz`)).status === 200;
      },
      30_000,
    );
  } catch (error) {
    await instance.stop('SIGKILL');
    throw new Error(`${String(error)}\n${log}`);
  }
  return instance;
}

/** A self-signed certificate for 127.0.0.1 in `dir` (cert.pem, key.pem); its PEM text. */
export function makeCertificate(dir: string): string {
  return selfSignedCertificate(dir).cert;
}

/** deploy/nginx/keyward.conf with the instances' ports, the test's port and certificate. */
export function nginxConfig(dir: string, port: number, instances: readonly Instance[]): string {
  let conf = readFileSync(join(DEPLOY, 'nginx/keyward.conf'), 'utf8');
  const servers = /(\s*server 127\.0\.0\.1:4001[^\n]*\n)(\s*server 127\.0\.0\.1:400\d[^\n]*\n)*/.exec(conf);
  if (servers === null) throw new Error('deploy/nginx/keyward.conf no longer lists 127.0.0.1:4001…');
  const line = (servers[1] ?? '').replace(/^\n+/, '');
  conf = conf.replace(
    servers[0],
    `\n${instances.map((i) => line.replace('127.0.0.1:4001', `127.0.0.1:${i.port}`)).join('')}`,
  );
  for (const [from, to] of [
    ['listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`],
    ['/etc/nginx/tls/', `${dir}/`],
  ] as const) {
    if (!conf.includes(from)) throw new Error(`deploy/nginx/keyward.conf no longer contains ${from}`);
    conf = conf.split(from).join(to);
  }
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub), { recursive: true });
  return `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${conf}}
`;
}

/** nginx in the foreground with `config`; resolves once it answers on `port`. */
export async function startNginx(dir: string, config: string, port: number): Promise<ChildProcess> {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} not found: install the Debian package nginx`);
  writeFileSync(join(dir, 'nginx.conf'), config);
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  await until('nginx listening', async () => {
    if (child.exitCode !== null) {
      const errors = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
      throw new Error(`nginx exited: ${errors}`);
    }
    return new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  });
  return child;
}

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
}

/** An HTTPS request to nginx, trusting the test's certificate. */
export function viaTls(
  origin: string,
  ca: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${origin}${path}`, { method: init.method ?? 'GET', headers: init.headers, ca }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.end(init.body);
  });
}

/** A plain HTTP request to one instance, as if nginx had terminated TLS (loopback is trusted). */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { authorization?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-forwarded-proto': 'https', ...options.headers };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/**
 * An OAuth 1.0a (HMAC-SHA1) authorization for GET `publicUrl + path`, with a fresh nonce,
 * stamped now or `aheadSeconds` ahead (a client whose clock is ahead).
 */
export function signed(publicUrl: string, path: string, key: { id: string; secret: string }, aheadSeconds = 0): string {
  return signOAuth1({
    method: 'GET',
    url: `${publicUrl}${path}`,
    consumerKey: key.id,
    consumerSecret: key.secret,
    nonce: randomBytes(16).toString('hex'),
    timestamp: Math.floor(Date.now() / 1000) + aheadSeconds,
  }).authorization;
}

/** A private temp directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** 32 random bytes as hex: a master key or pepper for KEYWARD_MASTER_KEY / KEYWARD_PEPPER. */
export const hexKey = () => randomBytes(32).toString('hex');
