// The one table of `npm run bench`: every contender on loopback, each in its own process
// (bench/contenders/), loaded by the same generator in another process (wrk when installed, else
// autocannon), with the same pre-signed requests, in one run.
//
// - Rows: node:http, node:http spending a fixed 20 µs of CPU per request (calibration: what that
//   much more work per request costs in this row's ratio here), bare Fastify, Express
//   unprotected, the tutorial's Express + passport-http-2legged-oauth, Express + passport-http
//   Basic with bcrypt, nginx `auth_basic` apr1 (when installed); the Keyward server's `/v1/whoami` for every method, `/oauth/token` issuance,
//   Basic with 10⁶ keys in the store; Keyward's Express middleware for every method; Keyward
//   server Basic and node:http at 1, 100 and 1,000 connections (the other rows use 10); and the
//   heap held by 10⁶ live nonces (nonce-memory.mjs, in a process of its own).
// - Each row: req/s, p50, p99, errors (any answer but 2xx, socket errors, timeouts), the peak
//   resident set of the server's process(es) over the whole run, and the ratio to node:http at
//   the same connection count, the median of the per-round ratios.
// - Requests that carry a signature (OAuth 1.0a, signed sessions) are signed before the clock
//   starts, one nonce each (node-oauth, the tutorial's client), stamped when the run starts;
//   wrk reads them from a file (a Lua script rotates through the Authorization values). Rows
//   without a signature rotate through theirs (Keyward Basic: 100 keys in turn).
// - The control run: each row that verifies gets the same load with a wrong secret (or a
//   tampered token) and must get 401 for every request; anything else fails the row.
// - Results: bench/results/table.json, table.svg (Vega-Lite, rendered to SVG in Node) and
//   table.md (the Markdown table the README shows).
//
// Knobs: --quick (or BENCH_QUICK=1: one round of 1 s per row, no warm-up per row), BENCH_TABLE_ROUNDS
// (3), BENCH_TABLE_SECONDS (5 per row and round), BENCH_TABLE_WARMUP_SECONDS (1 per row),
// BENCH_TABLE_CONTENDER_WARMUP_SECONDS (3 per contender, before its first row),
// BENCH_TABLE_CONTROL_SECONDS (1), BENCH_TABLE_KEYS (1000000), BENCH_TABLE_NONCES (1000000),
// BENCH_TABLE_OFFERED (5000: the load of the paced rows, whose clients pause between requests),
// BENCH_LOAD=wrk|autocannon, BENCH_NGINX (/usr/sbin/nginx).
import { execFile, execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import oauth from 'oauth';
import { nextNonce } from './load.mjs';
import { fmt, median } from './stats.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const NGINX = process.env.BENCH_NGINX ?? '/usr/sbin/nginx';
const RESULTS = here('./results/');

/**
 * The calibration row's added CPU per request, in µs: of the order of what a framework, an
 * access log and a verification add to node:http's own work (the README's "Where a request's
 * time goes").
 */
const BUSY_US = 20;

/** The targets of the tracker's "Performance" issue, all measured in this run. */
const TARGETS = {
  serverVsNode: 0.6,
  oauth1VsNode: 0.45,
  oauth1VsTutorial: 4,
  expressVsUnprotected: 0.85,
  expressOAuth1VsUnprotected: 0.7,
  tokensPerSecond: 5000,
  manyKeys: 0.9,
  nonceMegabytes: 150,
  p99Growth: 10,
};

/** What this machine is, for the table's heading and the JSON. */
export function machine() {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {}
  const version = (cmd, args) => {
    const out = spawnSync(cmd, args, { encoding: 'utf8' });
    return out.error === undefined ? `${out.stdout}${out.stderr}`.split('\n')[0].trim() : undefined;
  };
  return {
    cpu: model,
    // os.cpus() reports 0 MHz in some virtual machines; /proc/cpuinfo has it.
    cpuMHz: Number(
      /cpu MHz\s*:\s*([\d.]+)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ??
        cpus()[0]?.speed,
    ),
    nproc,
    kernel: release(),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    wrk: version('wrk', ['--version']),
    nginx: version(NGINX, ['-v']),
  };
}

function hasWrk() {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

// wrk's script (one thread): Authorization values from a file, one a line ("-" for none), in
// turn; `rotate` starts over at the end, otherwise (pre-signed requests, each to be sent once)
// the last is repeated and counted as `exhausted`, which fails the row. Answers are counted as
// 2xx, 401 and other; done() prints them with the latency percentiles, in microseconds.
const LUA = `
local values, n, i = {}, 0, 0
local rotate, method, body
ok, s401, other, exhausted = 0, 0, 0, 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
local pause = 0
function init(args)
  for line in io.lines(args[1]) do n = n + 1; values[n] = line end
  rotate = args[2] == "rotate"
  method = args[3]
  if args[4] ~= nil and args[4] ~= "" then body = args[4] end
  if args[5] ~= nil then pause = tonumber(args[5]) end
end
function request()
  i = i + 1
  if i > n then
    if rotate then i = 1 else exhausted = exhausted + 1; i = n end
  end
  local headers = {}
  if values[i] ~= "-" then headers["Authorization"] = values[i] end
  if body then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  return wrk.format(method, nil, headers, body)
end
function response(status)
  if status >= 200 and status < 300 then ok = ok + 1
  elseif status == 401 then s401 = s401 + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local t = { ok = 0, s401 = 0, other = 0, exhausted = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  local e = summary.errors
  io.write(string.format('RESULT {"ok":%d,"s401":%d,"other":%d,"exhausted":%d,"socketErrors":%d,"seconds":%f,"p50Us":%d,"p99Us":%d}\\n',
    t.ok, t.s401, t.other, t.exhausted, e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99)))
end
`;

// The same, with each connection waiting about `pause` ms after an answer before its next request
// (a client's think time; wrk's latency excludes it): drawn from 0 to twice that, since equal
// pauses keep 1,000 connections in step and make bursts of 1,000 requests (node:http's p99 went
// from 1 to 39 ms). A script of its own: wrk schedules a timer per request once delay() exists.
const LUA_PAUSED = `${LUA}
function delay() return math.random(0, 2 * pause) end
`;

/**
 * One load: `seconds` at `connections` on `url`, the Authorization values of `values` (sent in
 * turn; each once unless `rotate`). Resolves the counts, the rate of 2xx answers and p50/p99.
 */
function drive(work, generator, { url, values, rotate, method = 'GET', body = '', seconds, connections, pause = 0 }) {
  const file = join(work, 'values.txt');
  writeFileSync(file, `${values.join('\n')}\n`);
  const parse = (json) => {
    const r = JSON.parse(json);
    return { ...r, rate: r.ok / r.seconds, errors: r.other + r.socketErrors + r.exhausted };
  };
  if (generator === 'wrk') {
    const script = join(work, pause > 0 ? 'values-paused.lua' : 'values.lua');
    if (!existsSync(script)) writeFileSync(script, pause > 0 ? LUA_PAUSED : LUA);
    return new Promise((resolve, reject) => {
      execFile(
        'wrk',
        [
          '-t1',
          `-c${connections}`,
          `-d${seconds}s`,
          '--timeout',
          '10s',
          '-s',
          script,
          url,
          '--',
          file,
          rotate ? 'rotate' : 'once',
          method,
          body,
          String(pause),
        ],
        { maxBuffer: 1 << 20 },
        (error, stdout, stderr) => {
          if (error) return reject(new Error(`wrk: ${error.message}\n${stderr}`));
          const line = /RESULT (\{.*\})/.exec(stdout);
          if (line === null) return reject(new Error(`unexpected wrk output:\n${stdout}`));
          resolve(parse(line[1]));
        },
      );
    });
  }
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        here('./contenders/autocannon-load.mjs'),
        JSON.stringify({ url, file, rotate, method, body, seconds, connections, pause }),
      ],
      { maxBuffer: 1 << 20 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`autocannon: ${error.message}\n${stderr}`)) : resolve(parse(stdout)),
    );
  });
}

/** A forked contender: resolves once it reported `ready` (its URL and credentials). */
function forkContender(name, script, args = []) {
  const child = fork(script, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => (m?.type === 'ready' ? resolve({ name, child, pids: [child.pid], ...m }) : reject(m)));
    child.once('exit', (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before it was ready`)));
  });
}

async function stopContender(c) {
  if (c.stop !== undefined) return c.stop();
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  const exited = new Promise((resolve) => c.child.once('exit', resolve));
  c.child.send({ type: 'close' });
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** nginx `auth_basic` with an apr1 htpasswd in front of a small static file, one worker. */
async function startNginx(user, password) {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-table-nginx-'));
  chmodSync(dir, 0o755);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'www']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'www', 'whoami'), '{"ok":true}', { mode: 0o644 });
  const hash = spawnSync('openssl', ['passwd', '-apr1', '-stdin'], { input: `${password}\n`, encoding: 'utf8' });
  if (hash.status !== 0 || !hash.stdout.startsWith('$apr1$')) throw new Error(`openssl passwd -apr1: ${hash.stderr}`);
  writeFileSync(join(dir, 'htpasswd'), `${user}:${hash.stdout.trim()}\n`, { mode: 0o644 });
  const probe = await import('./contenders/ipc.mjs');
  const port = await probe.freePort();
  // `return 200` would answer before the access phase, where auth_basic runs: a file is served
  // in the content phase, after it.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
worker_processes 1;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /v1/whoami {
      auth_basic "bench";
      auth_basic_user_file ${dir}/htpasswd;
      default_type application/json;
      alias ${dir}/www/whoami;
    }
  }
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}/v1/whoami`;
  for (let i = 0; ; i++) {
    const up = await fetch(url).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null || i > 100) {
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
      throw new Error(`nginx did not start: ${log.slice(-1000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let workers = [];
  try {
    workers = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  } catch {}
  return {
    name: 'nginx',
    child,
    pids: [child.pid, ...workers],
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Peak resident set (VmHWM) of the processes, in MB; undefined once they are gone. */
function peakRss(pids) {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      return undefined;
    }
  }
  return kb / 1000;
}

/** node-oauth signing one request per nonce (a token and its secret for signed sessions). */
function oauth1Signer(consumerKey, consumerSecret, signatureMethod, token, tokenSecret) {
  const client = new oauth.OAuth(null, null, consumerKey, consumerSecret, '1.0', null, signatureMethod);
  let nonce = '';
  let timestamp = 0;
  client._getNonce = () => nonce;
  client._getTimestamp = () => timestamp;
  return (url, count) => {
    timestamp = Math.floor(Date.now() / 1000);
    const values = new Array(count);
    for (let i = 0; i < count; i++) {
      nonce = nextNonce();
      values[i] = client.authHeader(url, token, tokenSecret, 'GET');
    }
    return values;
  };
}

const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The same string with one character in its middle changed: a forged token. */
function tamper(token) {
  const at = Math.floor(token.length / 2);
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

/** `node --expose-gc nonce-memory.mjs <count>`, in a process of its own: the heap in MB. */
function nonceMemory(count) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', here('./nonce-memory.mjs'), String(count)],
      { maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`nonce-memory.mjs: ${error.message}\n${stderr}`));
        const m = /heap used \+([\d.]+) MB \((\d+) bytes per nonce\), resident set \+([\d.-]+) MB/.exec(stdout);
        if (m === null) return reject(new Error(`unexpected nonce-memory.mjs output:\n${stdout}`));
        resolve({ heapMb: Number(m[1]), bytesPerNonce: Number(m[2]), rssMb: Number(m[3]) });
      },
    );
  });
}

/** The rows: what each sends, to which contender, and what a wrong secret looks like. */
function rows(c, { hasNginx, offered }) {
  const { server, jwtServer, manyKeys, express, http } = c;
  const k0 = server.keys[0];
  const k1 = server.keys[1];
  const keyBasics = server.keys.map((k) => basic(k.id, k.secret));
  const ss = server.signedSession;
  const wrongSessionSecret = randomBytes(32).toString('base64url');
  const R = [];
  const row = (r) => R.push({ connections: 10, rotate: true, ...r });
  const fixed = (value) => () => [value];

  row({
    id: 'node-http',
    group: 'peer',
    label: 'node:http (no authentication)',
    contender: c.nodeHttp,
    values: fixed('-'),
  });
  row({
    id: `node-http-busy${BUSY_US}`,
    group: 'peer',
    label: `node:http spending ${BUSY_US} µs of CPU per request (calibration)`,
    contender: c.nodeHttpBusy,
    values: fixed('-'),
  });
  row({ id: 'fastify', group: 'peer', label: 'Fastify, bare', contender: c.fastify, values: fixed('-') });
  row({ id: 'express', group: 'peer', label: 'Express, unprotected', contender: http.unprotected, values: fixed('-') });
  const tutorial = oauth1Signer(http.passport.key, http.passport.secret, 'HMAC-SHA1');
  const tutorialWrong = oauth1Signer(http.passport.key, 'wrong secret', 'HMAC-SHA1');
  row({
    id: 'passport-oauth1',
    group: 'peer',
    label: 'Express + passport-http-2legged-oauth (tutorial), OAuth 1.0a HMAC-SHA1',
    contender: http.passport,
    signed: (n) => tutorial(http.passport.url, n),
    control: (n) => tutorialWrong(http.passport.url, n),
  });
  row({
    id: 'passport-basic-bcrypt',
    group: 'peer',
    label: 'Express + passport-http Basic, bcrypt (cost 10)',
    contender: c.passportBasic,
    values: fixed(basic(c.passportBasic.user, c.passportBasic.password)),
    control: () => [basic(c.passportBasic.user, `${c.passportBasic.password}x`)],
  });
  if (hasNginx) {
    row({
      id: 'nginx-auth-basic',
      group: 'peer',
      label: 'nginx auth_basic, apr1 htpasswd (1 worker)',
      contender: c.nginx,
      values: fixed(basic(k0.id, k0.secret)),
      control: () => [basic(k0.id, k1.secret)],
    });
  }

  const whoami = (s) => `${s.url}/v1/whoami`;
  const serverRows = (prefix, label, target, keywardUrl) => {
    const url = keywardUrl;
    const sha1 = oauth1Signer(k0.id, k0.secret, 'HMAC-SHA1');
    const sha256 = oauth1Signer(k0.id, k0.secret, 'HMAC-SHA256');
    const sha1Wrong = oauth1Signer(k0.id, k1.secret, 'HMAC-SHA1');
    const sha256Wrong = oauth1Signer(k0.id, k1.secret, 'HMAC-SHA256');
    const signedSession = oauth1Signer(ss.accountId, '', 'HMAC-SHA1', ss.token, ss.secret);
    const signedSessionWrong = oauth1Signer(ss.accountId, '', 'HMAC-SHA1', ss.token, wrongSessionSecret);
    const g = prefix;
    row({
      id: `${g}-basic`,
      group: g,
      label: `${label} Basic (100 keys in turn)`,
      contender: target,
      url,
      values: () => keyBasics,
      control: () => server.keys.map((k, i) => basic(k.id, server.keys[(i + 1) % server.keys.length].secret)),
    });
    row({
      id: `${g}-api-key`,
      group: g,
      label: `${label} API key (Bearer kw_key_…)`,
      contender: target,
      url,
      values: fixed(`Bearer ${k0.token}`),
      control: () => [`Bearer ${tamper(k0.token)}`],
    });
    row({
      id: `${g}-oauth1-sha1`,
      group: g,
      label: `${label} OAuth 1.0a HMAC-SHA1 + nonce store`,
      contender: target,
      url,
      signed: (n) => sha1(url, n),
      control: (n) => sha1Wrong(url, n),
    });
    row({
      id: `${g}-oauth1-sha256`,
      group: g,
      label: `${label} OAuth 1.0a HMAC-SHA256 + nonce store`,
      contender: target,
      url,
      signed: (n) => sha256(url, n),
      control: (n) => sha256Wrong(url, n),
    });
    row({
      id: `${g}-oauth2-opaque`,
      group: g,
      label: `${label} OAuth 2.0 opaque access token`,
      contender: target,
      url,
      values: fixed(`Bearer ${c.opaque}`),
      control: () => [`Bearer ${tamper(c.opaque)}`],
    });
    row({
      id: `${g}-oauth2-jwt`,
      group: g,
      label: `${label} OAuth 2.0 JWT access token (EdDSA)`,
      contender: g === 'server' ? jwtServer : target,
      url: g === 'server' ? whoami(jwtServer) : url,
      values: fixed(`Bearer ${c.jwt}`),
      control: () => [`Bearer ${tamper(c.jwt)}`],
    });
    row({
      id: `${g}-session`,
      group: g,
      label: `${label} session (Bearer kw_st_…)`,
      contender: target,
      url,
      values: fixed(`Bearer ${server.session}`),
      control: () => [`Bearer ${tamper(server.session)}`],
    });
    row({
      id: `${g}-signed-session`,
      group: g,
      label: `${label} signed session (OAuth 1.0a, HMAC-SHA1)`,
      contender: target,
      url,
      signed: (n) => signedSession(url, n),
      control: (n) => signedSessionWrong(url, n),
    });
  };
  serverRows('server', 'Keyward server', server, whoami(server));
  row({
    id: 'server-token',
    group: 'server',
    label: 'Keyward server POST /oauth/token (opaque, SQLite)',
    contender: server,
    url: `${server.url}/oauth/token`,
    method: 'POST',
    body: 'grant_type=client_credentials',
    values: () => keyBasics,
    control: () => server.keys.map((k, i) => basic(k.id, server.keys[(i + 1) % server.keys.length].secret)),
  });
  const manyKeyBasics = manyKeys.keys.map((k) => basic(k.id, k.secret));
  row({
    id: 'server-basic-1e6-keys',
    group: 'server',
    label: `Keyward server Basic, ${fmt(manyKeys.keyCount)} keys in the store`,
    contender: manyKeys,
    url: whoami(manyKeys),
    values: () => manyKeyBasics,
    control: () => manyKeys.keys.map((k, i) => basic(k.id, manyKeys.keys[(i + 1) % manyKeys.keys.length].secret)),
  });
  serverRows('express', 'Keyward Express middleware,', express, express.url);
  for (const connections of [1, 100, 1000]) {
    row({
      id: `node-http-c${connections}`,
      group: 'connections',
      label: `node:http, ${fmt(connections)} connections`,
      contender: c.nodeHttp,
      connections,
      values: fixed('-'),
    });
    row({
      id: `server-basic-c${connections}`,
      group: 'connections',
      label: `Keyward server Basic, ${fmt(connections)} connections`,
      contender: server,
      url: whoami(server),
      connections,
      values: () => keyBasics,
    });
  }
  // The same load from 10 and from 1,000 clients, each pausing between its requests (`pause`
  // ms on average, 1,000 × the connection count over `offered`), so that both offer about `offered`
  // requests a second. With every connection kept busy (the rows above) the time a request
  // waits is the connection count over the throughput (Little's law): p99 at 1,000 connections
  // grows with the connection count whatever the server does. At the same load below capacity,
  // it shows what many clients cost the server itself.
  for (const connections of [10, 1000]) {
    const pause = Math.round((1000 * connections) / offered);
    const label = `${fmt(connections)} clients pausing ${fmt(pause)} ms on average (≈ ${fmt(offered)} req/s)`;
    row({
      id: `node-http-paced-c${connections}`,
      group: 'paced',
      label: `node:http, ${label}`,
      contender: c.nodeHttp,
      connections,
      pause,
      values: fixed('-'),
    });
    row({
      id: `server-basic-paced-c${connections}`,
      group: 'paced',
      label: `Keyward server Basic, ${label}`,
      contender: server,
      url: whoami(server),
      connections,
      pause,
      values: () => keyBasics,
    });
  }
  for (const r of R) r.url ??= r.contender.url;
  return R;
}

/** An ANSI-free fixed-width table. */
function textTable(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const fmtLine = (l) =>
    l.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ');
  return [fmtLine(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmtLine)].join('\n');
}

/** The chart of a run (the JSON table.mjs writes) as SVG: Vega-Lite, rendered in Node without a browser. */
export async function renderSvg(results) {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const values = results.rows
    .filter((r) => r.rate !== undefined)
    .map((r) => ({ row: r.label, group: r.group, rate: Math.max(1, Math.round(r.rate)), ratio: r.ratio }));
  const spec = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Keyward: requests per second on loopback, one process per contender',
      subtitle: `${results.machine.cpu}, ${results.machine.nproc} cores, Node ${results.machine.node}${results.quick ? ' — quick run' : ''}`,
    },
    data: { values },
    width: 520,
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'row', type: 'nominal', sort: null, title: null, axis: { labelLimit: 800 } },
      // A log scale: bcrypt's few requests per second and node:http's tens of thousands on one chart.
      x: {
        field: 'rate',
        type: 'quantitative',
        scale: { type: 'log', domainMin: 1 },
        title: 'requests per second (2xx answers), log scale',
      },
      // Bars on a log scale start at 1, not at 0 (which a log scale cannot show).
      x2: { datum: 1 },
      color: { field: 'group', type: 'nominal', title: null },
    },
  }).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/**
 * Runs the table; returns how many targets were missed. `quick`: one round of 1 s per row.
 */
export async function runTable({ quick = false } = {}) {
  const started = performance.now();
  const env = process.env;
  const ROUNDS = Number(env.BENCH_TABLE_ROUNDS ?? (quick ? 1 : 3));
  const SECONDS = Math.max(1, Math.round(Number(env.BENCH_TABLE_SECONDS ?? (quick ? 1 : 5))));
  // wrk takes whole seconds.
  const WARMUP = Math.round(Number(env.BENCH_TABLE_WARMUP_SECONDS ?? (quick ? 0 : 1)));
  const CONTENDER_WARMUP = Math.round(Number(env.BENCH_TABLE_CONTENDER_WARMUP_SECONDS ?? 3));
  const CONTROL = Math.max(1, Math.round(Number(env.BENCH_TABLE_CONTROL_SECONDS ?? 1)));
  const KEYS = Number(env.BENCH_TABLE_KEYS ?? 1_000_000);
  const NONCES = Number(env.BENCH_TABLE_NONCES ?? 1_000_000);
  // The paced rows' load: about half of what the Keyward server answers with Basic here.
  const OFFERED = Number(env.BENCH_TABLE_OFFERED ?? 5000);
  const generator = env.BENCH_LOAD ?? (hasWrk() ? 'wrk' : 'autocannon');
  const hasNginx = existsSync(NGINX);
  const host = machine();
  const work = mkdtempSync(join(tmpdir(), 'keyward-table-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-table-data-'));
  const manyDir = mkdtempSync(join(tmpdir(), 'keyward-table-keys-'));
  const contenders = [];
  const add = async (promise) => {
    const c = await promise;
    contenders.push(c);
    return c;
  };
  console.log(
    `The table — every contender in its own process on 127.0.0.1, ${generator} (1 thread) in another;\n` +
      `${ROUNDS} round(s) of ${SECONDS} s per row after ${CONTENDER_WARMUP} s of warm-up per contender and ${WARMUP} s per row, 10 connections unless said;` +
      ` control runs of ${CONTROL} s with a wrong secret.\n` +
      `Machine: ${host.cpu}, ${host.nproc} cores, ${host.memoryGiB} GiB, Node ${host.node}, load average ${host.loadAverage.join(' ')}` +
      `${host.loadAverage[0] > host.nproc ? ' (busy: the figures are noisy)' : ''}\n`,
  );
  let missed = 0;
  try {
    const script = (name) => here(`./contenders/${name}.mjs`);
    // The heap of 10⁶ live nonces does not depend on the CPU the others use: measured meanwhile.
    const noncesPromise = nonceMemory(NONCES);
    noncesPromise.catch(() => {});
    const c = {};
    const fillStarted = performance.now();
    // The contenders that depend on nothing start at once; the JWT server needs the provisioned
    // data directory, the Express middleware the JWT server's keys.
    [c.nodeHttp, c.nodeHttpBusy, c.fastify, c.httpUnprotected, c.httpPassport, c.passportBasic, c.server, c.manyKeys] =
      await Promise.all([
        add(forkContender('node:http', script('node-http'))),
        add(forkContender('node:http-busy', script('node-http'), [String(BUSY_US)])),
        add(forkContender('fastify', script('fastify'))),
        add(forkContender('express', here('./http-server.mjs'), ['unprotected'])),
        add(forkContender('passport-oauth1', here('./http-server.mjs'), ['passport'])),
        add(forkContender('passport-basic', script('passport-basic'))),
        add(
          forkContender('keyward-server', script('keyward-server'), [
            JSON.stringify({ dataDir, provision: true, keys: 100 }),
          ]),
        ),
        add(
          forkContender('keyward-server-1e6', script('keyward-server'), [
            JSON.stringify({ dataDir: manyDir, provision: true, keys: 100, fill: Math.max(0, KEYS - 100) }),
          ]),
        ).then((x) => {
          x.keyCount = Math.max(KEYS, 100);
          x.fillSeconds = (performance.now() - fillStarted) / 1000;
          return x;
        }),
      ]);
    c.http = { unprotected: c.httpUnprotected, passport: c.httpPassport };
    for (const h of Object.values(c.http)) h.url = `http://127.0.0.1:${h.port}/private`;
    // A second server on the same data directory issues (and verifies) JWT access tokens.
    c.jwtServer = await add(
      forkContender('keyward-server-jwt', script('keyward-server'), [
        JSON.stringify({ dataDir, tokenFormat: 'jwt', usageFlushSeconds: 0 }),
      ]),
    );
    const token = async (s) => {
      const k = c.server.keys[0];
      const response = await fetch(`${s.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(k.id, k.secret) },
        body: 'grant_type=client_credentials',
      });
      const body = await response.json();
      if (!response.ok) throw new Error(`/oauth/token: ${response.status} ${JSON.stringify(body)}`);
      return body.access_token;
    };
    c.opaque = await token(c.server);
    c.jwt = await token(c.jwtServer);
    c.express = await add(
      forkContender('keyward-express', script('keyward-express'), [
        JSON.stringify({ dataDir, jwt: { url: c.jwtServer.url } }),
      ]),
    );
    if (hasNginx) c.nginx = await add(startNginx(c.server.keys[0].id, c.server.keys[0].secret));
    else console.log(`  ${NGINX} not found: the nginx row is left out (Debian package "nginx")\n`);
    const setupSeconds = (performance.now() - started) / 1000;

    const all = rows(c, { hasNginx, offered: OFFERED });
    // Correctness first: one request of each row must be answered 2xx, its wrong secret 401.
    // (Not part of the control run's counts; the control run below is the same load as the row.)
    for (const r of all) {
      const values = r.signed ? r.signed(1) : r.values();
      const init = (value) => ({
        method: r.method ?? 'GET',
        headers: {
          ...(value === '-' ? {} : { authorization: value }),
          ...(r.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: r.body,
      });
      const ok = await fetch(r.url, init(values[0]));
      const text = await ok.text();
      if (!ok.ok) throw new Error(`preflight ${r.id}: expected 2xx, got ${ok.status} ${text.slice(0, 300)}`);
      // Keyward's signed requests are measured with replay protection on: the same request again is refused.
      if (r.signed && r.group !== 'peer') {
        const again = await fetch(r.url, init(values[0]));
        await again.text();
        if (again.status !== 401) throw new Error(`preflight ${r.id}: a replayed request answered ${again.status}`);
      }
      if (r.control) {
        const bad = await fetch(r.url, init(r.control(1)[0]));
        const badText = await bad.text();
        if (bad.status !== 401)
          throw new Error(`preflight ${r.id}: wrong secret answered ${bad.status} ${badText.slice(0, 300)}`);
      }
    }

    console.log(
      `  preflight: ${all.length} rows answer 2xx; each that verifies answers a wrong secret 401; a replayed Keyward OAuth 1.0a or signed-session request 401\n`,
    );
    const best = {};
    const once = async (r, seconds) => {
      // Three times what the fastest run of the row so far could use (the shared machine's pace
      // varies that much), 30,000 a second before the row has been measured. Not many more:
      // signing takes about 35 µs each, the requests are stamped when it starts, and the
      // tutorial's stack refuses timestamps 10 s old.
      const perSecond = best[r.id] === undefined ? 30_000 : Math.max(5000, 3 * best[r.id]);
      const count = r.signed ? Math.ceil(seconds * perSecond) : 0;
      const values = r.signed ? r.signed(count) : r.values();
      const m = await drive(work, generator, {
        url: r.url,
        values,
        rotate: !r.signed,
        method: r.method,
        body: r.body,
        seconds,
        connections: r.connections,
        pause: r.pause,
      });
      best[r.id] = Math.max(best[r.id] ?? 0, m.rate);
      return m;
    };
    // Warm-up. A freshly started Keyward server on this 2-core machine takes seconds to reach its
    // pace (JIT, its caches filling: 100 keys in turn ran at a fifth of their later rate in the
    // first 2 s), so each contender first gets BENCH_TABLE_CONTENDER_WARMUP_SECONDS on its first
    // row, then every row BENCH_TABLE_WARMUP_SECONDS (none in a quick run).
    const warmed = new Set();
    for (const r of all) {
      if (!warmed.has(r.contender) && CONTENDER_WARMUP > 0) await once(r, CONTENDER_WARMUP);
      warmed.add(r.contender);
      if (WARMUP > 0) await once(r, WARMUP);
    }
    const samples = Object.fromEntries(all.map((r) => [r.id, []]));
    // Measured next to the rows compared with it: Express unprotected just before the Express
    // middleware rows, not minutes earlier with the other peers (its rate moved from 5,704 to
    // 9,013 req/s between two runs while the middleware rows hardly did).
    const measured = all.filter((r) => r.id !== 'express');
    measured.splice(
      measured.findIndex((r) => r.id.startsWith('express-')),
      0,
      ...all.filter((r) => r.id === 'express'),
    );
    for (let round = 0; round < ROUNDS; round++) {
      // The rows in turn, the order reversed every other round, so that a drift of the shared
      // machine's speed weighs on the compared rows alike.
      const order = round % 2 ? [...measured].reverse() : measured;
      for (const r of order) samples[r.id].push(await once(r, SECONDS));
    }
    const controls = {};
    for (const r of all) {
      if (!r.control) continue;
      const count = Math.ceil(Math.max(5000, 2 * (best[r.id] ?? 2000) * CONTROL * 4));
      controls[r.id] = await drive(work, generator, {
        url: r.url,
        values: r.signed ? r.control(count) : r.control(),
        rotate: true,
        method: r.method,
        body: r.body,
        seconds: CONTROL,
        connections: r.connections,
      });
    }
    const nonces = await noncesPromise;

    // Peak resident set of each contender over the whole run (the processes are still up).
    for (const ctd of contenders) ctd.peakRss = peakRss(ctd.pids);

    const nodeAt = (connections, pause) =>
      all.find((r) => r.contender === c.nodeHttp && r.connections === connections && r.pause === pause);
    const results = {
      date: new Date().toISOString(),
      quick,
      machine: { ...host, loadAverageAtEnd: loadavg().map((x) => Number(x.toFixed(2))) },
      generator,
      settings: { rounds: ROUNDS, seconds: SECONDS, warmupSeconds: WARMUP, controlSeconds: CONTROL, keys: KEYS },
      setupSeconds,
      fillSeconds: c.manyKeys.fillSeconds,
      rows: [],
      nonces: { count: NONCES, ...nonces },
      targets: [],
    };
    for (const r of all) {
      const s = samples[r.id];
      const base = samples[nodeAt(r.connections, r.pause).id];
      const ctl = controls[r.id];
      results.rows.push({
        id: r.id,
        label: r.label,
        group: r.group,
        contender: r.contender.name,
        connections: r.connections,
        pauseMs: r.pause ?? 0,
        rate: median(s.map((x) => x.rate)),
        p50Ms: median(s.map((x) => x.p50Us)) / 1000,
        p99Ms: median(s.map((x) => x.p99Us)) / 1000,
        errors: s.reduce((a, x) => a + x.errors, 0),
        exhausted: s.reduce((a, x) => a + x.exhausted, 0),
        responses: s.reduce((a, x) => a + x.ok, 0),
        peakRssMb: r.contender.peakRss,
        ratio: median(s.map((x, i) => x.rate / base[i].rate)),
        rounds: s.map((x) => Math.round(x.rate)),
        control:
          ctl === undefined
            ? null
            : { requests: ctl.ok + ctl.s401 + ctl.other, s401: ctl.s401, other: ctl.ok + ctl.other + ctl.socketErrors },
      });
    }
    const byId = Object.fromEntries(results.rows.map((r) => [r.id, r]));
    const roundRatio = (a, b) => median(samples[a].map((x, i) => x.rate / samples[b][i].rate));
    const target = (what, measured, op, limit) => {
      const met = op === '≥' ? measured >= limit : measured <= limit;
      results.targets.push({ what, measured, op, target: limit, met });
    };
    for (const [id, what] of [
      ['server-basic', 'Keyward server Basic vs node:http'],
      ['server-api-key', 'Keyward server API key vs node:http'],
      ['server-oauth2-opaque', 'Keyward server OAuth 2.0 opaque token vs node:http'],
    ])
      target(what, byId[id].ratio, '≥', TARGETS.serverVsNode);
    target(
      'Keyward server OAuth 1.0a (+ nonce store) vs node:http',
      byId['server-oauth1-sha1'].ratio,
      '≥',
      TARGETS.oauth1VsNode,
    );
    target(
      'Keyward server OAuth 1.0a vs the tutorial stack',
      roundRatio('server-oauth1-sha1', 'passport-oauth1'),
      '≥',
      TARGETS.oauth1VsTutorial,
    );
    target(
      'Express middleware Basic vs Express unprotected',
      roundRatio('express-basic', 'express'),
      '≥',
      TARGETS.expressVsUnprotected,
    );
    target(
      'Express middleware API key vs Express unprotected',
      roundRatio('express-api-key', 'express'),
      '≥',
      TARGETS.expressVsUnprotected,
    );
    target(
      'Express middleware OAuth 1.0a vs Express unprotected',
      roundRatio('express-oauth1-sha1', 'express'),
      '≥',
      TARGETS.expressOAuth1VsUnprotected,
    );
    target('/oauth/token tokens per second (SQLite)', byId['server-token'].rate, '≥', TARGETS.tokensPerSecond);
    target(
      `Basic with ${fmt(KEYS)} keys vs with 10² keys`,
      roundRatio('server-basic-1e6-keys', 'server-basic'),
      '≥',
      TARGETS.manyKeys,
    );
    target(
      `10⁶ live nonces, MB of heap (measured with ${fmt(NONCES)})`,
      (nonces.heapMb * 1e6) / NONCES,
      '≤',
      TARGETS.nonceMegabytes,
    );
    const p99Growth = byId['server-basic-c1000'].p99Ms / byId['server-basic'].p99Ms;
    target('Keyward server p99 at 1,000 connections vs at 10', p99Growth, '≤', TARGETS.p99Growth);
    target('Keyward server errors at 1,000 connections', byId['server-basic-c1000'].errors, '≤', 0);
    target(
      `Keyward server p99 with 1,000 paced clients vs 10, ≈ ${fmt(OFFERED)} req/s either way`,
      byId['server-basic-paced-c1000'].p99Ms / byId['server-basic-paced-c10'].p99Ms,
      '≤',
      TARGETS.p99Growth,
    );
    target('Keyward server errors with 1,000 paced clients', byId['server-basic-paced-c1000'].errors, '≤', 0);

    // Every measured row answered 2xx only; every control only 401.
    const failures = [];
    for (const r of results.rows) {
      if (r.exhausted > 0) failures.push(`${r.id}: ran out of pre-signed requests (${r.exhausted} more were needed)`);
      else if (r.errors > 0)
        failures.push(`${r.id}: ${r.errors} answers other than 2xx, socket errors or timeouts during the measurement`);
      if (r.control && (r.control.other > 0 || r.control.s401 === 0))
        failures.push(
          `${r.id}: control run with a wrong secret got ${r.control.other} answers other than 401 (of ${r.control.requests})`,
        );
    }

    const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
    const header = [
      'row',
      'conns',
      'req/s',
      '× node:http',
      'p50 ms',
      'p99 ms',
      'errors',
      'peak RSS MB',
      'control (401s)',
    ];
    const lines = results.rows.map((r) => [
      r.label,
      r.connections,
      fmt(r.rate),
      r.ratio.toFixed(2),
      ms(r.p50Ms),
      ms(r.p99Ms),
      r.errors,
      r.peakRssMb === undefined ? '–' : r.peakRssMb.toFixed(0),
      r.control === null ? 'n/a' : `${fmt(r.control.s401)}/${fmt(r.control.requests)}`,
    ]);
    console.log(textTable(header, lines));
    console.log(
      `\n  ${fmt(NONCES)} live nonces (MemoryNonceStore, nonce-memory.mjs): heap +${nonces.heapMb} MB (${nonces.bytesPerNonce} bytes each), resident set +${nonces.rssMb} MB`,
    );
    console.log(
      `  set-up ${setupSeconds.toFixed(0)} s (the ${fmt(KEYS)}-key server ready after ${c.manyKeys.fillSeconds.toFixed(0)} s); peak RSS is the contender process's over the whole run\n`,
    );
    for (const t of results.targets) {
      const value = Number.isInteger(t.measured) || t.measured >= 100 ? fmt(t.measured) : t.measured.toFixed(2);
      console.log(`  ${t.what}: ${value}, target ${t.op} ${t.target}: ${t.met ? 'met' : 'MISSED'}`);
      if (!t.met) missed++;
    }
    for (const f of failures) console.log(`  FAILED ${f}`);
    missed += failures.length;
    results.failures = failures;
    results.seconds = (performance.now() - started) / 1000;

    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'table.json'), `${JSON.stringify(results, null, 2)}\n`);
    const md = [
      `| ${header.join(' | ')} |`,
      `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
      ...lines.map((l) => `| ${l.join(' | ')} |`),
    ].join('\n');
    writeFileSync(join(RESULTS, 'table.md'), `${md}\n`);
    writeFileSync(join(RESULTS, 'table.svg'), await renderSvg(results));
    console.log(`\n  ${results.seconds.toFixed(0)} s; written: bench/results/table.json, table.svg, table.md\n`);
    return missed;
  } finally {
    // One at a time: the processes that share a SQLite data directory write their usage as they stop.
    for (const ctd of contenders) await stopContender(ctd);
    for (const dir of [work, dataDir, manyDir]) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  process.exitCode = (await runTable({ quick })) > 0 ? 1 : 0;
}
