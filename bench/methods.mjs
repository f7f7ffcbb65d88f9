// `/v1/whoami` of the Keyward server, method by method, under wrk: where each method's request
// path spends its time, and before/after comparisons of two builds.
//
//   node bench/methods.mjs [--methods basic,api-key,oauth1,oauth2,session,signed-session,token]
//     [--runs 5] [--seconds 5] [--connections 32] [--roots <build root>,<build root>…]
//     [--cpu-prof <dir>]
//
// - `none` is `GET /healthz` without credentials: the server's own cost, for scale.
// - `token` is `POST /oauth/token` (client credentials, the key in Basic): token issuance.
// - Each build root (a checkout whose packages are built; default: this workspace) gets its own
//   server process (methods-server.mjs: the real createServer on SQLite, default configuration);
//   wrk (`-t1`, one connection count) is a separate process. The machine is shared, so runs of
//   the builds alternate, method by method, their order flipping each run, and medians are
//   reported.
// - OAuth 1.0a and signed sessions send a different pre-signed request each time (node-oauth,
//   HMAC-SHA1, one nonce per request, stamped when the run starts): wrk reads them from a file.
//   Any answer but 200 fails the benchmark: it must not measure refusals.
// - `--cpu-prof <dir>`: the servers run with `--cpu-prof` and write their profiles there when
//   the benchmark ends (read them with profile-summary.mjs).
import { execFile, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import oauth from 'oauth';
import { nextNonce, signer } from './load.mjs';
import { fmt, median } from './stats.mjs';

const { values: args } = parseArgs({
  options: {
    methods: { type: 'string', default: 'basic,api-key,oauth1,oauth2,session,signed-session' },
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    roots: { type: 'string', default: '' },
    'cpu-prof': { type: 'string' },
  },
});
const METHODS = args.methods.split(',');
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const ROOTS = args.roots === '' ? [''] : args.roots.split(',');
const SERVER_SCRIPT = fileURLToPath(new URL('./methods-server.mjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'keyward-wrk-'));

// wrk's script: the Authorization header of each request from a file (one per line; the last
// repeats when they run out, which the server refuses as a replay and the run then fails), and a
// count of non-200 answers, printed at the end.
const LUA = `
local values = {}
local i = 0
bad = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
local body = nil
function init(args)
  for line in io.lines(args[1]) do values[#values + 1] = line end
  body = args[2]
end
function request()
  i = i + 1
  local value = values[i] or values[#values]
  if value == "" then return wrk.format("GET", nil, {}) end
  if body then
    return wrk.format("POST", nil, { ["Authorization"] = value, ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
  end
  return wrk.format("GET", nil, { ["Authorization"] = value })
end
function response(status) if status ~= 200 then bad = bad + 1 end end
function done()
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write("NON200 " .. total .. "\\n")
end
`;
const luaPath = join(work, 'headers.lua');
writeFileSync(luaPath, LUA);

function message(child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m?.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(m);
    };
    const onExit = (code, signal) => reject(new Error(`server exited (${signal ?? code}) before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function start(root, index) {
  const execArgv = args['cpu-prof']
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${args['cpu-prof']}`,
        `--cpu-prof-name=keyward-${index}-${METHODS.join('+')}.cpuprofile`,
      ]
    : [];
  const child = fork(SERVER_SCRIPT, root === '' ? [] : [root], {
    execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return { root, child, ready: await message(child, 'ready') };
}

/** CPU time (µs) the server process has used so far. */
async function serverCpu(server) {
  const reply = message(server.child, 'cpu');
  server.child.send({ type: 'cpu' });
  const { usage } = await reply;
  return usage.user + usage.system;
}

/** The Authorization header values of one run of `method` against `server`. */
function headersFor(method, ready, count) {
  const url = `${ready.url}/v1/whoami`;
  if (method === 'none') return [''];
  if (method === 'basic' || method === 'token')
    return [`Basic ${Buffer.from(`${ready.keyId}:${ready.secret}`).toString('base64')}`];
  if (method === 'api-key') return [`Bearer ${ready.token}`];
  if (method === 'oauth2') return [`Bearer ${ready.access}`];
  if (method === 'session') return [`Bearer ${ready.session}`];
  const t = Math.floor(Date.now() / 1000);
  const values = new Array(count);
  if (method === 'oauth1') {
    const sign = signer(ready.keyId, ready.secret);
    for (let i = 0; i < count; i++) values[i] = sign(url, nextNonce(), t);
    return values;
  }
  if (method === 'signed-session') {
    const { accountId, token, secret } = ready.signedSession;
    const sign = signedSigner(accountId, token, secret);
    for (let i = 0; i < count; i++) values[i] = sign(url, nextNonce(), t);
    return values;
  }
  throw new Error(`unknown method ${method}`);
}

/** node-oauth with a token (a signed session: empty consumer secret, the session secret). */
function signedSigner(consumerKey, token, tokenSecret) {
  const client = new oauth.OAuth(null, null, consumerKey, '', '1.0', null, 'HMAC-SHA1');
  let nonce = '';
  let timestamp = 0;
  client._getNonce = () => nonce;
  client._getTimestamp = () => timestamp;
  return (url, n, t) => {
    nonce = n;
    timestamp = t;
    return client.authHeader(url, token, tokenSecret, 'GET');
  };
}

function wrk(url, file, body) {
  return new Promise((resolve, reject) => {
    execFile(
      'wrk',
      [
        '-t1',
        `-c${CONNECTIONS}`,
        `-d${SECONDS}s`,
        '-s',
        luaPath,
        url,
        '--',
        file,
        ...(body === undefined ? [] : [body]),
      ],
      { maxBuffer: 1 << 20 },
      (error, stdout) => {
        if (error) return reject(error);
        const rate = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
        const bad = /NON200 (\d+)/.exec(stdout);
        const total = /(\d+) requests in/.exec(stdout);
        const errors = /Socket errors: (.*)/.exec(stdout);
        if (rate === null || bad === null || total === null)
          return reject(new Error(`unexpected wrk output:\n${stdout}`));
        resolve({ hz: Number(rate[1]), total: Number(total[1]), bad: Number(bad[1]), errors: errors?.[1], stdout });
      },
    );
  });
}

const servers = [];
try {
  for (let i = 0; i < ROOTS.length; i++) servers.push(await start(ROOTS[i], i));
  const best = {};
  const samples = {};
  const cpuSamples = {};
  const one = async (server, method) => {
    const name = `${method}@${server.root || 'workspace'}`;
    const count = Math.max(50_000, Math.ceil(1.6 * (best[name] ?? 20_000) * SECONDS));
    const file = join(work, 'values.txt');
    writeFileSync(file, `${headersFor(method, server.ready, count).join('\n')}\n`);
    const cpuBefore = await serverCpu(server);
    const result =
      method === 'token'
        ? await wrk(`${server.ready.url}/oauth/token`, file, 'grant_type=client_credentials')
        : await wrk(`${server.ready.url}${method === 'none' ? '/healthz' : '/v1/whoami'}`, file);
    const cpu = (await serverCpu(server)) - cpuBefore;
    if (result.bad > 0 || result.errors !== undefined) {
      throw new Error(`${name}: ${result.bad} non-200 answers, socket errors: ${result.errors ?? 'none'}`);
    }
    best[name] = Math.max(best[name] ?? 0, result.hz);
    // Server CPU time per answer: what the request path costs, steadier than req/s when other
    // work shares the machine.
    const cpuPerRequest = cpu / result.total;
    samples[name] ??= [];
    samples[name].push(result.hz);
    cpuSamples[name] ??= [];
    cpuSamples[name].push(cpuPerRequest);
    return `${fmt(result.hz)} req/s ${cpuPerRequest.toFixed(1)} µs`;
  };
  // Warm-up: JIT and caches, not reported.
  for (const server of servers) for (const method of METHODS) await one(server, method);
  for (const name of Object.keys(samples)) {
    samples[name] = [];
    cpuSamples[name] = [];
  }
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 ? [...servers].reverse() : servers;
    for (const method of METHODS) {
      const line = [];
      for (const server of order) line.push(`${server.root || 'workspace'} ${await one(server, method)}`);
      console.log(`run ${run + 1} ${method.padEnd(15)} ${line.join('  ')}`);
    }
  }
  console.log(
    `\nwrk -t1 -c${CONNECTIONS} -d${SECONDS}s, ${RUNS} runs, medians (req/s [runs], server CPU µs per answer):`,
  );
  for (const method of METHODS) {
    const cells = servers.map((s) => {
      const name = `${method}@${s.root || 'workspace'}`;
      const values = samples[name];
      const cpu = median(cpuSamples[name]);
      return `${s.root || 'workspace'} ${fmt(median(values))} [${values.map(fmt).join(', ')}] ${cpu.toFixed(1)} µs CPU/req`;
    });
    console.log(`  ${method.padEnd(15)} ${cells.join('   ')}`);
  }
} finally {
  await Promise.all(
    servers.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', resolve);
          child.send({ type: 'close' });
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  rmSync(work, { recursive: true, force: true });
}
