// The gateway benchmark: one tiny upstream (node:http answering 200 "ok") measured alone, behind
// `keyward gateway` (Basic, API key, OAuth 1.0a), behind nginx `auth_basic` with an apr1
// htpasswd, and behind nginx `auth_request` → Keyward's /v1/forward-auth (Basic), in one run.
//
// - Every server is its own process on 127.0.0.1: the upstream, `keyward gateway`, `keyward
//   serve` (the forward-auth service) and one nginx per nginx variant. The load generator
//   (autocannon) runs in this process; only one variant is under load at a time.
// - nginx runs with `worker_processes 1` (one core, as Node's event loop has), `access_log off`,
//   keep-alive to its upstreams (as the gateway has) and no practical cap on requests per client
//   connection. Keyward runs with log level `warn` (no line per request, as nginx without its
//   access log) and `maxRequestsPerSocket` 0 (autocannon ignores `Connection: close`, and Node
//   answers 503 past the cap). The auth_request configuration is the
//   README's ("Protect an existing API"), but for ports, plain HTTP on loopback and keep-alive.
// - The same credential everywhere: the Keyward key's id and secret as HTTP Basic; nginx's
//   htpasswd holds that secret as apr1 (`openssl passwd -apr1`). OAuth 1.0a requests are
//   pre-signed with node-oauth (HMAC-SHA1, one nonce per request) against the gateway's origin.
// - Before measuring, each variant must answer 200 "ok" and refuse a request without credentials;
//   during the runs any non-2xx answer, socket error or timeout fails the benchmark.
// - Target: the gateway's Basic throughput ≥ 1.5× nginx auth_basic (apr1), the median of the
//   per-round ratios. The other ratios are printed for information.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, nextNonce, signer } from './load.mjs';
import { fmt, median } from './stats.mjs';

const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 3);
const WARMUP_SECONDS = Number(process.env.BENCH_GATEWAY_WARMUP_SECONDS ?? 1);
const CONNECTIONS = Number(process.env.BENCH_GATEWAY_CONNECTIONS ?? 10);
/** Most signed requests prepared for one measurement of the OAuth 1.0a variant. */
const MAX_SIGNED = Number(process.env.BENCH_GATEWAY_MAX_SIGNED ?? 50_000);
const VERBOSE = process.env.BENCH_GATEWAY_VERBOSE === '1';
const NGINX = process.env.BENCH_NGINX ?? '/usr/sbin/nginx';
const TARGET = 1.5;

const KEYWARD_BIN = fileURLToPath(new URL('../packages/server/bin/keyward.js', import.meta.url));
const README = fileURLToPath(new URL('../README.md', import.meta.url));
const PATH = '/private';

// The upstream: every request answered 200 "ok"; prints its port once listening.
const UPSTREAM_SOURCE = `
const { createServer } = require('node:http');
const server = createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  req.resume();
  res.setHeader('content-type', 'text/plain');
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

/** Every child started here, killed (by process group) if this process exits before stopping them. */
const children = new Set();
const killAll = () => {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
};

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = netServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject()));
    });
  });
}

/** Starts a child in its own process group, its output kept for error messages. */
function start(name, command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let log = '';
  child.stdout.on('data', (c) => {
    log = (log + c.toString()).slice(-4000);
  });
  child.stderr.on('data', (c) => {
    log = (log + c.toString()).slice(-4000);
  });
  return { name, child, log: () => log };
}

/** Stops a child: SIGTERM, then SIGKILL of its process group after 5 s. */
async function stop(proc) {
  const { child } = proc;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  }
  // nginx's worker, should the master have been killed.
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is gone.
  }
  children.delete(child);
}

/** Resolves once something accepts connections on the port; bounded (about 15 s). */
async function waitForPort(port, proc, extraLog = () => '') {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(
        `${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}): ${proc.log()}${extraLog()}`,
      );
    const open = await new Promise((resolve) => {
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
  throw new Error(`${proc.name} did not listen on 127.0.0.1:${port}: ${proc.log()}${extraLog()}`);
}

/** The upstream's port, from the first line it prints; bounded (about 10 s). */
function upstreamPort(proc) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`upstream did not start: ${proc.log()}`)), 10_000);
    proc.child.stdout.on('data', (c) => {
      out += c.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    });
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`upstream exited (${code}): ${proc.log()}`));
    });
  });
}

/** The environment for a `keyward` command: ours without any KEYWARD_* or PORT, plus `vars`. */
function keywardEnv(vars) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('KEYWARD_') && name !== 'PORT'),
  );
  // No cap on requests per connection: Node answers 503 past the cap, and autocannon keeps
  // sending on a connection the server asked to close (nginx gets the same: keepalive_requests).
  return {
    ...env,
    KEYWARD_HOST: '127.0.0.1',
    KEYWARD_LOG_LEVEL: 'warn',
    KEYWARD_MAX_REQUESTS_PER_SOCKET: '0',
    ...vars,
  };
}

/** `text` with each `[from, to]` replaced; every `from` must be there (the README may not drift). */
function substitute(text, pairs) {
  let out = text;
  for (const [from, to] of pairs) {
    if (!out.includes(from)) throw new Error(`README nginx block no longer contains ${JSON.stringify(from)}`);
    out = out.split(from).join(to);
  }
  return out;
}

/** Keep-alive to an upstream: HTTP/1.1 and no `Connection: close`, before a `proxy_pass`. */
const keepAlive = (proxyPass) => `proxy_http_version 1.1;\n    proxy_set_header Connection "";\n    ${proxyPass}`;

/** The README's auth_request server block, for plain HTTP on loopback, with keep-alive upstreams. */
function authRequestServer({ port, keyward, upstream }) {
  const readme = readFileSync(README, 'utf8');
  const block = /<!-- forward-auth: nginx -->\n```\w+\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no <!-- forward-auth: nginx --> block');
  return substitute(block, [
    ['upstream keyward { server 127.0.0.1:4000; }', `upstream keyward { server 127.0.0.1:${keyward}; keepalive 32; }`],
    ['upstream api { server 127.0.0.1:8080; }', `upstream api { server 127.0.0.1:${upstream}; keepalive 32; }`],
    ['listen 443 ssl;', `listen 127.0.0.1:${port};`],
    ['  ssl_certificate /etc/nginx/tls/cert.pem;\n', ''],
    ['  ssl_certificate_key /etc/nginx/tls/key.pem;\n', ''],
    // Plain HTTP on loopback stands for the TLS nginx terminates in the README's setup: nginx
    // vouches for https, as it would there (Keyward refuses Basic over plain HTTP otherwise).
    ['proxy_set_header X-Forwarded-Proto $scheme;', 'proxy_set_header X-Forwarded-Proto https;'],
    ['proxy_pass http://api;', keepAlive('proxy_pass http://api;')],
    ['proxy_pass http://keyward/v1/forward-auth;', keepAlive('proxy_pass http://keyward/v1/forward-auth;')],
  ]);
}

/** nginx auth_basic with the apr1 htpasswd, in front of the upstream. */
function authBasicServer({ port, upstream, htpasswd }) {
  return `upstream api { server 127.0.0.1:${upstream}; keepalive 32; }

server {
  listen 127.0.0.1:${port};

  location / {
    auth_basic "bench";
    auth_basic_user_file ${htpasswd};
    ${keepAlive('proxy_pass http://api;')}
  }
}
`;
}

/** One nginx, foreground, from its own temporary directory (readable by its worker user). */
async function startNginx(name, port, server) {
  const dir = mkdtempSync(join(tmpdir(), `keyward-bench-${name}-`));
  chmodSync(dir, 0o755);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const conf = `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${server(dir)}}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const proc = start(name, NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')]);
  proc.dir = dir;
  const errorLog = () => {
    const file = join(dir, 'error.log');
    return existsSync(file) ? readFileSync(file, 'utf8').slice(-2000) : '';
  };
  proc.errorLog = errorLog;
  await waitForPort(port, proc, errorLog);
  return proc;
}

/** One measurement: `seconds` of load on `variant`. */
async function measure(variant, seconds, poolSize) {
  const { ok, elapsed, result } = await load(variant, {
    seconds,
    connections: CONNECTIONS,
    poolSize,
    knobs: 'BENCH_GATEWAY',
  });
  return { hz: ok / elapsed, responses: ok, p50: result.latency.p50, p99: result.latency.p99 };
}

/** Correctness first: the bench must not pass by measuring refusals. */
async function preflight(v) {
  const get = async (variant, authorization) => {
    const res = await fetch(variant.url, {
      headers: authorization === undefined ? {} : { authorization },
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: await res.text() };
  };
  const expect = (what, answer, status, body) => {
    if (answer.status !== status || (body !== undefined && answer.body !== body))
      throw new Error(
        `preflight: ${what}: expected ${status}${body ? ` "${body}"` : ''}, got ${answer.status} ${answer.body}`,
      );
  };
  const signed = (variant) => variant.sign(variant.url, nextNonce(), Math.floor(Date.now() / 1000));
  expect('upstream', await get(v.upstream), 200, 'ok');
  for (const variant of [v.gatewayBasic, v.gatewayApiKey, v.nginxBasic, v.nginxAuthRequest]) {
    expect(variant.name, await get(variant, variant.headers.authorization), 200, 'ok');
    expect(`${variant.name} without credentials`, await get(variant), 401);
  }
  const wrong = `Basic ${Buffer.from(`${v.key.id}:${v.key.otherSecret}`).toString('base64')}`;
  for (const variant of [v.gatewayBasic, v.nginxBasic, v.nginxAuthRequest])
    expect(`${variant.name} with a wrong secret`, await get(variant, wrong), 401);
  const once = signed(v.gatewayOAuth1);
  expect('gateway OAuth 1.0a', await get(v.gatewayOAuth1, once), 200, 'ok');
  expect('gateway OAuth 1.0a replayed', await get(v.gatewayOAuth1, once), 401);
}

/** The key the benchmark uses, made in a fresh data directory that the Keyward processes share. */
async function makeStore() {
  const { openStore } = await import('@keyward/server');
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-bench-gateway-'));
  const store = await openStore({ dataDir });
  try {
    const actor = { type: 'cli', id: 'bench' };
    const account = await store.accounts.create({ email: 'bench@example.com', password: 'bench password 1234' }, actor);
    if (!account.ok) throw new Error(`account: ${account.code}`);
    const created = await store.keys.create('bench@example.com', { name: 'bench' }, actor);
    if (!created.ok) throw new Error(`key: ${created.code}`);
    const other = await store.keys.create('bench@example.com', { name: 'other' }, actor);
    if (!other.ok) throw new Error(`key: ${other.code}`);
    const { id, secret, token } = created.value;
    return { dataDir, key: { id, secret, token, otherSecret: other.value.secret } };
  } finally {
    await store.close();
  }
}

/** `user:$apr1$…`, as `htpasswd -m` or `openssl passwd -apr1` make it. */
function apr1(user, password) {
  const out = spawnSync('openssl', ['passwd', '-apr1', '-stdin'], { input: `${password}\n`, encoding: 'utf8' });
  if (out.status !== 0 || !out.stdout.startsWith('$apr1$'))
    throw new Error(`openssl passwd -apr1 failed: ${out.error?.message ?? out.stderr}`);
  return `${user}:${out.stdout.trim()}\n`;
}

function nginxVersion() {
  const out = spawnSync(NGINX, ['-v'], { encoding: 'utf8' });
  return /nginx\/([\d.]+)/.exec(`${out.stderr}${out.stdout}`)?.[1] ?? 'unknown';
}

/**
 * Runs the gateway section; returns how many targets were missed (nginx missing counts as one).
 * Throws (after stopping every process it started) when a variant answers anything but 2xx.
 */
export async function runGateway({ rounds }) {
  if (!existsSync(NGINX)) {
    console.log(
      `Gateway — ${NGINX} not found: install the Debian package "nginx" (apt-get install nginx); ` +
        'the gateway vs nginx auth_basic target cannot be measured: MISSED\n',
    );
    return 1;
  }
  const procs = [];
  const dirs = [];
  // The children have process groups of their own (so that nginx's worker goes with its master):
  // a Ctrl-C to this one does not reach them, so it is passed on.
  const interrupted = (signal) => {
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', killAll);
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    const { dataDir, key } = await makeStore();
    dirs.push(dataDir);

    const upstreamProc = start('upstream', process.execPath, ['-e', UPSTREAM_SOURCE]);
    procs.push(upstreamProc);
    const upstream = await upstreamPort(upstreamProc);

    const gatewayPort = await freePort();
    const gateway = start(
      'keyward gateway',
      process.execPath,
      [KEYWARD_BIN, 'gateway', '--upstream', `http://127.0.0.1:${upstream}`, '--port', String(gatewayPort)],
      { cwd: dataDir, env: keywardEnv({ KEYWARD_DATA_DIR: dataDir }) },
    );
    procs.push(gateway);

    const keywardPort = await freePort();
    const authRequestPort = await freePort();
    const serve = start('keyward serve', process.execPath, [KEYWARD_BIN, 'serve'], {
      cwd: dataDir,
      env: keywardEnv({
        KEYWARD_DATA_DIR: dataDir,
        PORT: String(keywardPort),
        KEYWARD_TRUST_PROXY: '127.0.0.1',
        KEYWARD_PUBLIC_URL: `http://127.0.0.1:${authRequestPort}`,
      }),
    });
    procs.push(serve);
    await waitForPort(gatewayPort, gateway);
    await waitForPort(keywardPort, serve);

    const basicPort = await freePort();
    const nginxBasic = await startNginx('nginx-auth-basic', basicPort, (dir) => {
      const htpasswd = join(dir, 'htpasswd');
      writeFileSync(htpasswd, apr1(key.id, key.secret), { mode: 0o644 });
      return authBasicServer({ port: basicPort, upstream, htpasswd });
    });
    procs.push(nginxBasic);
    dirs.push(nginxBasic.dir);
    const nginxAuthRequest = await startNginx('nginx-auth-request', authRequestPort, () =>
      authRequestServer({ port: authRequestPort, keyward: keywardPort, upstream }),
    );
    procs.push(nginxAuthRequest);
    dirs.push(nginxAuthRequest.dir);

    const basic = { authorization: `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}` };
    const at = (port) => `http://127.0.0.1:${port}${PATH}`;
    const v = {
      key,
      upstream: { name: 'upstream', label: 'upstream alone (node:http, 200 "ok")', url: at(upstream) },
      gatewayBasic: { name: 'gateway-basic', label: 'keyward gateway, Basic', url: at(gatewayPort), headers: basic },
      gatewayApiKey: {
        name: 'gateway-api-key',
        label: 'keyward gateway, API key (Bearer)',
        url: at(gatewayPort),
        headers: { authorization: `Bearer ${key.token}` },
      },
      gatewayOAuth1: {
        name: 'gateway-oauth1',
        label: 'keyward gateway, OAuth 1.0a (HMAC-SHA1)',
        url: at(gatewayPort),
        sign: signer(key.id, key.secret),
      },
      nginxBasic: {
        name: 'nginx-auth-basic',
        label: 'nginx auth_basic (apr1 htpasswd)',
        url: at(basicPort),
        headers: basic,
      },
      nginxAuthRequest: {
        name: 'nginx-auth-request',
        label: 'nginx auth_request → Keyward, Basic',
        url: at(authRequestPort),
        headers: basic,
      },
    };
    const variants = [v.upstream, v.gatewayBasic, v.gatewayApiKey, v.gatewayOAuth1, v.nginxBasic, v.nginxAuthRequest];
    await preflight(v);

    console.log(
      `Gateway — an upstream (node:http answering 200 "ok") alone and behind each guard; every server its own process\n` +
        `on 127.0.0.1; autocannon, ${CONNECTIONS} connections; ${rounds} interleaved rounds of ${SECONDS} s per variant, after ${WARMUP_SECONDS} s\n` +
        `of warm-up each. keyward gateway and keyward serve (forward-auth): SQLite store, log level warn, no cap on requests per connection. nginx ${nginxVersion()}:\n` +
        'worker_processes 1, access_log off, keepalive_requests 1000000, keep-alive to its upstreams. The same key id and secret for every Basic\n' +
        'variant (apr1 in the htpasswd). OAuth 1.0a: pre-signed by node-oauth against the gateway origin, one nonce per request.\n',
    );
    console.log(
      '  preflight: every variant 200 "ok"; without credentials 401; a wrong secret 401; OAuth 1.0a replay 401\n',
    );

    const fastest = {};
    const poolSize = (variant, seconds) =>
      Math.min(MAX_SIGNED, Math.max(20_000, Math.ceil(2 * (fastest[variant.name] ?? 0) * seconds)));
    const run = async (variant, seconds) => {
      const sample = await measure(variant, seconds, poolSize(variant, seconds));
      fastest[variant.name] = Math.max(fastest[variant.name] ?? 0, sample.hz);
      return sample;
    };
    for (const variant of variants) await run(variant, WARMUP_SECONDS);

    const samples = Object.fromEntries(variants.map((x) => [x.name, []]));
    for (let round = 0; round < rounds; round++) {
      // The target's pair next to each other (order alternating), then the rest (rotated); the
      // two groups alternate too.
      const pair = round % 2 ? [v.nginxBasic, v.gatewayBasic] : [v.gatewayBasic, v.nginxBasic];
      const rest = [v.upstream, v.gatewayApiKey, v.gatewayOAuth1, v.nginxAuthRequest];
      const rotated = rest.map((_, i) => rest[(i + round) % rest.length]);
      const order = round % 2 ? [...rotated, ...pair] : [...pair, ...rotated];
      for (const variant of order) {
        const sample = await run(variant, SECONDS);
        samples[variant.name].push(sample);
        if (VERBOSE) {
          console.log(
            `  round ${round + 1} ${variant.name.padEnd(18)} ${fmt(sample.hz).padStart(6)} req/s p50 ${sample.p50} ms p99 ${sample.p99} ms`,
          );
        }
      }
    }

    const pick = (name, field) => samples[name].map((s) => s[field]);
    const ms = (x) => `${Number(x.toFixed(1))}`.padStart(4);
    let total = 0;
    for (const variant of variants) {
      total += pick(variant.name, 'responses').reduce((a, b) => a + b, 0);
      console.log(
        `  ${variant.label.padEnd(42)} ${fmt(median(pick(variant.name, 'hz'))).padStart(6)} req/s` +
          `  p50 ${ms(median(pick(variant.name, 'p50')))} ms  p99 ${ms(median(pick(variant.name, 'p99')))} ms`,
      );
    }
    console.log(`  ${fmt(total)} responses measured, all 2xx\n`);

    const ratioOf = (a, b) => {
      const x = pick(a.name, 'hz');
      const y = pick(b.name, 'hz');
      const ratios = x.map((r, i) => r / y[i]);
      return { ratio: median(ratios), rounds: ratios.map((r) => r.toFixed(2)).join(', ') };
    };
    let missed = 0;
    {
      const { ratio, rounds: each } = ratioOf(v.gatewayBasic, v.nginxBasic);
      const ok = ratio >= TARGET;
      if (!ok) missed++;
      console.log(
        `  keyward gateway Basic vs nginx auth_basic (apr1): ratio ${ratio.toFixed(2)} (rounds: ${each}), target ≥ ${TARGET}: ${ok ? 'met' : 'MISSED'}`,
      );
    }
    const info = [
      ['keyward gateway Basic vs the upstream alone', v.gatewayBasic, v.upstream],
      ['keyward gateway API key vs the upstream alone', v.gatewayApiKey, v.upstream],
      ['keyward gateway OAuth 1.0a vs the upstream alone', v.gatewayOAuth1, v.upstream],
      ['nginx auth_basic vs the upstream alone', v.nginxBasic, v.upstream],
      ['nginx auth_request → Keyward vs the upstream alone', v.nginxAuthRequest, v.upstream],
      ['keyward gateway Basic vs nginx auth_request → Keyward', v.gatewayBasic, v.nginxAuthRequest],
    ];
    for (const [what, a, b] of info) {
      const { ratio, rounds: each } = ratioOf(a, b);
      console.log(`  ${what}: ${ratio.toFixed(2)} (rounds: ${each}), for information`);
    }
    console.log('');
    return missed;
  } finally {
    await Promise.all(procs.map(stop));
    process.off('exit', killAll);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
