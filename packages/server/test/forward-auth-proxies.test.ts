// Real nginx (auth_request) and real Caddy (forward_auth) in front of an upstream this test
// starts, with Keyward's /v1/forward-auth as the auth service: every method through, refusals
// and challenges back to the client, spoofed identity headers never reaching the upstream, 429
// and body_not_forwarded as each proxy really passes them. The proxy configurations are the
// README's ("Protect an existing API"), verbatim but for ports and file paths.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as httpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signOAuth1 } from '@keyward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.js';
import { startTestServer, type TestServer } from './support/server.js';
import { selfSignedCertificate } from './support/tls.js';

const PASSWORD = 'a long enough passphrase';
const NGINX = '/usr/sbin/nginx';
const CADDY = '/usr/bin/caddy';
const IDENTITY = ['keyward-account', 'keyward-key', 'keyward-scopes', 'keyward-method', 'keyward-session'];

/** Resolves once something accepts connections on the port; bounded (about 10 s). */
async function waitForPort(port: number, child: ChildProcess, name: string, log: () => string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not listen on 127.0.0.1:${port}: ${log()}`);
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The upstream: answers every request with what reached it. */
async function startUpstream(): Promise<{ server: Server; port: number }> {
  const server = httpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One HTTPS request to the proxy, trusting the test's certificate. */
function call(
  origin: string,
  ca: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${origin}${path}`,
      { method: init.method ?? 'GET', headers: init.headers ?? {}, ca, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${init.method ?? 'GET'} ${path}`)));
    req.end(init.body);
  });
}

const README = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');

/** The README's `<!-- forward-auth: name -->` block. */
function readmeBlock(name: string): string {
  const block = new RegExp(`<!-- forward-auth: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(README)?.[1];
  if (block === undefined) throw new Error(`README.md has no <!-- forward-auth: ${name} --> block`);
  return block;
}

/** `text` with each `[from, to]` replaced; every `from` must be there (the README may not drift). */
function substitute(text: string, pairs: readonly (readonly [string, string])[]): string {
  let out = text;
  for (const [from, to] of pairs) {
    if (!out.includes(from)) throw new Error(`README block no longer contains ${JSON.stringify(from)}`);
    out = out.split(from).join(to);
  }
  return out;
}

interface Ports {
  readonly dir: string;
  readonly port: number;
  readonly keyward: number;
  readonly upstream: number;
}

/**
 * The README's nginx configuration, verbatim but for loopback ports and the test's certificate,
 * inside the few lines that run nginx from a temporary directory in the foreground.
 */
function nginxConfig(p: Ports): string {
  const server = substitute(readmeBlock('nginx'), [
    ['127.0.0.1:4000', `127.0.0.1:${p.keyward}`],
    ['127.0.0.1:8080', `127.0.0.1:${p.upstream}`],
    ['listen 443 ssl;', `listen 127.0.0.1:${p.port} ssl;`],
    ['/etc/nginx/tls/', `${p.dir}/`],
  ]);
  return `daemon off;
pid ${p.dir}/nginx.pid;
error_log ${p.dir}/error.log;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${p.dir}/body;
  proxy_temp_path ${p.dir}/proxy;
  fastcgi_temp_path ${p.dir}/fastcgi;
  uwsgi_temp_path ${p.dir}/uwsgi;
  scgi_temp_path ${p.dir}/scgi;
${server}}
`;
}

/** The README's Caddyfile, verbatim but for loopback ports and the test's certificate; no admin API. */
function caddyfile(p: Ports): string {
  const site = substitute(readmeBlock('caddy'), [
    ['127.0.0.1:4000', `127.0.0.1:${p.keyward}`],
    ['127.0.0.1:8080', `127.0.0.1:${p.upstream}`],
    ['api.example.com {', `https://127.0.0.1:${p.port} {\n\ttls ${p.dir}/cert.pem ${p.dir}/key.pem`],
  ]);
  return `{
\tadmin off
\tauto_https off
}

${site}`;
}

/** `1.22.1`: the installed nginx's version (`nginx -v` writes it to stderr). */
function nginxVersion(): string {
  const out = spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr;
  return /nginx\/(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? '0.0.0';
}

type Proxy = 'nginx' | 'caddy';

function requireBinary(proxy: Proxy): void {
  const path = proxy === 'nginx' ? NGINX : CADDY;
  if (!existsSync(path)) {
    // Not a skip: CI installs both (.ci/run), and a missing proxy must not pass as green.
    throw new Error(`${path} not found: install the Debian package "${proxy}" (apt-get install ${proxy})`);
  }
}

describe.each<Proxy>(['nginx', 'caddy'])('forward-auth behind %s', (proxy) => {
  const dir = mkdtempSync(join(tmpdir(), `keyward-${proxy}-`));
  let t: TestServer;
  let upstream: { server: Server; port: number };
  let child: ChildProcess | undefined;
  let origin = '';
  let ca = '';
  let accountId = '';
  let key = { id: '', secret: '', token: '' };
  // A well-formed secret that is not the key's (a mangled one is refused before any lookup).
  let otherSecret = '';
  let session = '';
  let sessionId = '';
  let signed = { token: '', secret: '', sessionId: '' };
  let accessToken = '';
  let childLog = '';

  const send = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    call(origin, ca, path, init);
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const oauth1 = (
    path: string,
    consumerKey: string,
    consumerSecret: string,
    extra: { method?: string; token?: string; tokenSecret?: string; body?: string; contentType?: string } = {},
  ) =>
    signOAuth1({
      method: extra.method ?? 'GET',
      // Signed for the proxy's public origin, which is Keyward's publicUrl.
      url: `${origin}${path}`,
      consumerKey,
      consumerSecret,
      ...(extra.token === undefined ? {} : { token: extra.token, tokenSecret: extra.tokenSecret ?? '' }),
      ...(extra.body === undefined ? {} : { body: extra.body, contentType: extra.contentType }),
      nonce: randomBytes(16).toString('hex'),
      timestamp: Math.floor(Date.now() / 1000),
    }).authorization;
  const upstreamSaw = (answer: Answer) => {
    expect(answer.status, answer.text).toBe(200);
    return JSON.parse(answer.text) as { method: string; url: string; headers: IncomingHttpHeaders };
  };

  beforeAll(async () => {
    requireBinary(proxy);
    ca = selfSignedCertificate(dir).cert;
    const port = await freePort();
    origin = `https://127.0.0.1:${port}`;
    const routesFile = join(dir, 'routes.json');
    writeFileSync(
      routesFile,
      JSON.stringify({
        routes: [
          { prefix: '/api' },
          { prefix: '/api/admin', scopes: ['orders:admin'] },
          { prefix: '/health', public: true },
        ],
      }),
    );
    t = await startTestServer('sqlite', {
      trustProxy: ['127.0.0.1'],
      publicUrl: origin,
      routesFile,
      // A small per-key limit so that the 429 case is quick; the per-address one out of the way.
      limits: { failuresPerKey: { limit: 3, windowSeconds: 60 }, failuresPerIp: { limit: 1000, windowSeconds: 60 } },
    });
    upstream = await startUpstream();
    const keyward = Number(new URL(t.url).port);
    const settings = { dir, port, keyward, upstream: upstream.port };
    if (proxy === 'nginx') {
      for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(settings));
      child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    } else {
      writeFileSync(join(dir, 'Caddyfile'), caddyfile(settings));
      // Caddy keeps state under $HOME / XDG folders: the temp dir, not the user's.
      const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir };
      child = spawn(CADDY, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    }
    child.stdout?.on('data', (c: Buffer) => {
      childLog += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      childLog += c.toString();
    });
    const log = () => {
      const errorLog = join(dir, 'error.log');
      return `${childLog.slice(-2000)}${existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-2000) : ''}`;
    };
    await waitForPort(port, child, proxy, log);

    // An account, a key, a session, a signed session and an access token, straight from Keyward.
    // 127.0.0.1 is a trusted proxy here, so it is not "loopback" to the transport rule: the set-up
    // says what the proxies say, that the client's connection was TLS.
    const viaTls = { 'x-forwarded-proto': 'https' };
    const json = async (path: string, body: unknown, authorization?: string) => {
      const res = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...viaTls,
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: fixture set-up reads known fields
      return (await res.json()) as any;
    };
    const email = `${proxy}@example.com`;
    accountId = (await json('/v1/accounts', { email, password: PASSWORD })).id;
    const login = await json('/v1/sessions', { email, password: PASSWORD });
    session = login.token;
    sessionId = login.session.id;
    const signedLogin = await json('/v1/sessions', { email, password: PASSWORD, signed: true });
    signed = { token: signedLogin.token, secret: signedLogin.secret, sessionId: signedLogin.session.id };
    const created = await json('/v1/keys', { name: proxy, scopes: ['orders:read'] }, `Bearer ${session}`);
    key = { id: created.id, secret: created.secret, token: created.token };
    otherSecret = (await json('/v1/keys', { name: `${proxy}-other` }, `Bearer ${session}`)).secret;
    const issued = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: basic(key.id, key.secret),
        'content-type': 'application/x-www-form-urlencoded',
        ...viaTls,
      },
      body: 'grant_type=client_credentials',
    });
    accessToken = ((await issued.json()) as { access_token: string }).access_token;
  }, 60_000);

  afterAll(async () => {
    await stop(child);
    await new Promise((resolve) => upstream?.server.close(resolve));
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets every method through, with the identity headers at the upstream', async () => {
    const keyIdentity = (method: string) => ({
      'keyward-account': accountId,
      'keyward-key': key.id,
      'keyward-scopes': 'orders:read',
      'keyward-method': method,
    });
    const cases: [string, string, Record<string, string>][] = [
      ['basic', basic(key.id, key.secret), keyIdentity('basic')],
      ['api-key', `Bearer ${key.token}`, keyIdentity('api-key')],
      ['oauth2', `Bearer ${accessToken}`, keyIdentity('oauth2')],
      ['oauth1', oauth1('/api/orders?page=2&q=a%20b', key.id, key.secret), keyIdentity('oauth1')],
      [
        'session',
        `Bearer ${session}`,
        { 'keyward-account': accountId, 'keyward-method': 'session', 'keyward-session': sessionId },
      ],
      [
        'signed-session',
        oauth1('/api/orders?page=2&q=a%20b', accountId, '', { token: signed.token, tokenSecret: signed.secret }),
        { 'keyward-account': accountId, 'keyward-method': 'signed-session', 'keyward-session': signed.sessionId },
      ],
    ];
    for (const [name, authorization, identity] of cases) {
      const seen = upstreamSaw(await send('/api/orders?page=2&q=a%20b', { headers: { authorization } }));
      expect(seen.url, name).toBe('/api/orders?page=2&q=a%20b');
      expect(seen.headers, name).toMatchObject(identity);
      // Parts the principal lacks: nginx sends no header, Caddy an empty one.
      for (const absent of IDENTITY.filter((h) => !(h in identity)))
        expect(seen.headers[absent] ?? '', `${name} ${absent}`).toBe('');
    }
    // Every HTTP method of the original request reaches the verifier and the upstream.
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const body = method === 'GET' || method === 'OPTIONS' ? undefined : '{"n":1}';
      const seen = upstreamSaw(
        await send('/api/orders', {
          method,
          headers: {
            authorization: basic(key.id, key.secret),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body,
        }),
      );
      expect(seen.method).toBe(method);
      expect(seen.headers['keyward-method']).toBe('basic');
    }
    const head = await send('/api/orders', { method: 'HEAD', headers: { authorization: basic(key.id, key.secret) } });
    expect(head.status).toBe(200);
    // A public route: no credential, no identity.
    const pub = upstreamSaw(await send('/health'));
    expect(pub.headers['keyward-account'] ?? '').toBe('');
  });

  it('never lets a client-sent identity header reach the upstream', async () => {
    const spoofed = Object.fromEntries(IDENTITY.map((name) => [name, 'acc_spoofed']));
    const seen = upstreamSaw(
      await send('/api/orders', { headers: { ...spoofed, authorization: basic(key.id, key.secret) } }),
    );
    expect(seen.headers['keyward-account']).toBe(accountId);
    expect(seen.headers['keyward-key']).toBe(key.id);
    expect(seen.headers['keyward-method']).toBe('basic');
    // A part Keyward has none of (no session behind a key) is emptied, not passed on.
    expect(seen.headers['keyward-session'] ?? '').toBe('');
    const viaSession = upstreamSaw(await send('/health', { headers: { ...spoofed } }));
    for (const name of IDENTITY) expect(viaSession.headers[name] ?? '', name).toBe('');
  });

  it('passes refusals and their challenges to the client', async () => {
    const missing = await send('/api/orders');
    expect(missing.status).toBe(401);
    const challenges = ([] as string[]).concat(missing.headers['www-authenticate'] ?? []);
    expect(challenges.length).toBeGreaterThan(0);
    expect(challenges[0]).toMatch(/^(Basic|Bearer|OAuth) realm=/);
    if (proxy === 'nginx') {
      // nginx before 1.23 copies the first challenge only; later ones copy them all.
      const [major = 0, minor = 0] = nginxVersion().split('.').map(Number);
      expect(challenges.length > 1).toBe(major > 1 || minor >= 23);
    }
    if (proxy === 'caddy') {
      // Caddy passes Keyward's whole answer: every challenge and the JSON error.
      expect(challenges.join(',')).toMatch(/Basic realm=/);
      expect(challenges.join(',')).toMatch(/OAuth realm=/);
      expect(JSON.parse(missing.text).error.code).toBe('credentials_missing');
    }
    const wrong = await send('/api/orders', { headers: { authorization: basic(key.id, otherSecret) } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBeDefined();
    if (proxy === 'caddy') expect(JSON.parse(wrong.text).error.code).toBe('key_unknown');
    // A route's scope: 403 insufficient_scope (nginx passes the status, Caddy the body too).
    const scoped = await send('/api/admin/x', { headers: { authorization: basic(key.id, key.secret) } });
    expect(scoped.status).toBe(403);
    if (proxy === 'caddy') expect(JSON.parse(scoped.text).error.code).toBe('insufficient_scope');
    // No rule for the route: 403 route_not_allowed.
    const unrouted = await send('/other', { headers: { authorization: basic(key.id, key.secret) } });
    expect(unrouted.status).toBe(403);
    if (proxy === 'caddy') expect(JSON.parse(unrouted.text).error.code).toBe('route_not_allowed');
  });

  it('fails closed on an OAuth 1.0a form-signed POST: the proxy does not forward the body', async () => {
    const body = 'item=7&qty=2';
    const authorization = oauth1('/api/orders', key.id, key.secret, {
      method: 'POST',
      body,
      contentType: 'application/x-www-form-urlencoded',
    });
    const answer = await send('/api/orders', {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(answer.status).toBe(400);
    if (proxy === 'caddy') expect(JSON.parse(answer.text).error.code).toBe('body_not_forwarded');
  });

  it('tells the client to slow down after repeated failures (429 with Retry-After)', async () => {
    let last: Answer | undefined;
    for (let attempt = 0; attempt < 6; attempt++) {
      last = await send('/api/orders', { headers: { authorization: basic(key.id, otherSecret) } });
      if (last.status === 429) break;
    }
    expect(last?.status).toBe(429);
    expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
    if (proxy === 'caddy') expect(JSON.parse(last?.text ?? '').error.code).toBe('rate_limited');
  });
});
