// The HTTP benchmark: the same Express app protected by Keyward (OAuth 1.0a with its nonce
// store, Basic, API key), by passport + passport-http-2legged-oauth (the tutorial's stack), and
// unprotected, measured in the same run over loopback.
//
// - Each stack runs in its own child process (http-server.mjs) on 127.0.0.1, so the load
//   generator (autocannon, in this process) never shares the servers' event loop; on a 2-core
//   machine the generator gets one core and the server under load the other. Only one server is
//   under load at a time.
// - Every variant gets the same connections and the same duration; the variants are interleaved
//   over several rounds (compared variants next to each other, their order alternating), and the
//   median of the per-round ratios is compared with the target.
// - OAuth 1.0a requests are signed before each measurement with node-oauth, the tutorial's client,
//   HMAC-SHA1 for both stacks: one signed request per nonce, never reused, timestamps of the
//   moment the measurement starts (the tutorial refuses timestamps 10 s old).
// - Before measuring, each variant must answer 200, a replayed Keyward OAuth 1.0a request must be
//   refused, and a forged signature must be refused by both stacks; during the runs any non-2xx
//   answer, socket error or timeout fails the benchmark.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { load, nextNonce, signer } from './load.mjs';
import { fmt, median } from './stats.mjs';

const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 2);
const WARMUP_SECONDS = Number(process.env.BENCH_HTTP_WARMUP_SECONDS ?? 1);
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 10);
/** Most signed requests prepared for one measurement of one variant. */
const MAX_SIGNED = Number(process.env.BENCH_HTTP_MAX_SIGNED ?? 50_000);
/** Print every measurement, not only the medians. */
const VERBOSE = process.env.BENCH_HTTP_VERBOSE === '1';
/** A directory: the servers run with `--cpu-prof` and write their profiles there. */
const CPU_PROF_DIR = process.env.BENCH_HTTP_CPU_PROF;

const SERVER_SCRIPT = fileURLToPath(new URL('./http-server.mjs', import.meta.url));
const PATH = '/private';

/** A message of `type` from the child, or an error when it exits first. */
function message(child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m?.type !== type) return;
      cleanup();
      resolve(m);
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`benchmark server exited (${signal ?? code}) before sending '${type}'`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function startServer(stack) {
  const execArgv = CPU_PROF_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${stack}.cpuprofile`]
    : [];
  const child = fork(SERVER_SCRIPT, [stack], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await message(child, 'ready');
  return { stack, child, origin: `http://127.0.0.1:${ready.port}`, ready };
}

async function stopServer(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.send({ type: 'close' });
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** CPU time (µs) the server process has used so far. */
async function serverCpu(server) {
  const reply = message(server.child, 'cpu');
  server.child.send({ type: 'cpu' });
  const { usage } = await reply;
  return usage.user + usage.system;
}

/**
 * One measurement: `seconds` of load on `variant`. Signed variants send a different pre-signed
 * request each time; the others repeat one request.
 */
async function measure(variant, seconds, poolSize) {
  const cpuBefore = await serverCpu(variant.server);
  const selfBefore = process.cpuUsage();
  const { ok, elapsed, result } = await load(variant, {
    seconds,
    connections: CONNECTIONS,
    poolSize,
    knobs: 'BENCH_HTTP',
  });
  const selfUsage = process.cpuUsage(selfBefore);
  const cpuAfter = await serverCpu(variant.server);
  return {
    hz: ok / elapsed,
    responses: ok,
    serverCpu: (cpuAfter - cpuBefore) / 1e6 / elapsed,
    // Server CPU time (all its threads) per answered request: what the stack costs, whatever
    // else the shared machine was doing meanwhile.
    cpuPerRequest: (cpuAfter - cpuBefore) / ok,
    loadCpu: (selfUsage.user + selfUsage.system) / 1e6 / elapsed,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/** Correctness first: the bench must not pass by measuring refusals. */
async function preflight(v) {
  const get = (variant, authorization) =>
    fetch(variant.url, { headers: authorization === undefined ? {} : { authorization } });
  const expect = async (what, response, status) => {
    const body = await response.text();
    if (response.status !== status)
      throw new Error(`preflight: ${what}: expected ${status}, got ${response.status} ${body}`);
    return body;
  };
  const signed = (variant) => variant.sign(variant.url, nextNonce(), Math.floor(Date.now() / 1000));
  const forged = (variant) =>
    signed(variant).replace(/oauth_signature="[^"]+"/, 'oauth_signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"');

  const body = await expect('unprotected', await get(v.unprotected), 200);
  if (JSON.parse(body).secret !== true) throw new Error(`preflight: unexpected body ${body}`);
  for (const variant of [v.keywardBasic, v.keywardApiKey]) {
    await expect(variant.name, await get(variant, variant.headers.authorization), 200);
  }
  await expect('Keyward without credentials', await get(v.keywardBasic), 401);
  await expect('passport without credentials', await get(v.passport), 400);

  const once = signed(v.keywardOAuth1);
  await expect('Keyward OAuth 1.0a', await get(v.keywardOAuth1, once), 200);
  await expect('Keyward OAuth 1.0a replayed', await get(v.keywardOAuth1, once), 401);
  await expect('Keyward OAuth 1.0a forged', await get(v.keywardOAuth1, forged(v.keywardOAuth1)), 401);

  const p = signed(v.passport);
  await expect('passport OAuth 1.0a', await get(v.passport, p), 200);
  await expect('passport OAuth 1.0a forged', await get(v.passport, forged(v.passport)), 401);
  // Not a condition of the benchmark, a fact worth printing: the tutorial never checks nonces.
  const replayed = await get(v.passport, p);
  await replayed.text();
  return { passportReplay: replayed.status };
}

/**
 * Runs the HTTP section; returns how many targets were missed. Throws (after stopping the
 * servers) when a variant answers anything but 2xx.
 */
export async function runHttp({ rounds }) {
  const stacks = ['unprotected', 'passport', 'keyward'];
  const servers = {};
  try {
    for (const stack of stacks) servers[stack] = await startServer(stack);
    const { keyward, passport, unprotected } = servers;
    const at = (server) => ({ server, url: server.origin + PATH });
    const v = {
      unprotected: { name: 'unprotected', label: 'Express, unprotected route', ...at(unprotected) },
      passport: {
        name: 'passport-oauth1',
        label: 'passport-http-2legged-oauth, OAuth 1.0a',
        ...at(passport),
        sign: signer(passport.ready.key, passport.ready.secret),
      },
      keywardOAuth1: {
        name: 'keyward-oauth1',
        label: 'Keyward OAuth 1.0a (+ nonce store)',
        ...at(keyward),
        sign: signer(keyward.ready.key, keyward.ready.secret),
      },
      keywardBasic: {
        name: 'keyward-basic',
        label: 'Keyward Basic (key id : secret)',
        ...at(keyward),
        headers: {
          authorization: `Basic ${Buffer.from(`${keyward.ready.key}:${keyward.ready.secret}`).toString('base64')}`,
        },
      },
      keywardApiKey: {
        name: 'keyward-api-key',
        label: 'Keyward API key (Bearer kw_key_…)',
        ...at(keyward),
        headers: { authorization: `Bearer ${keyward.ready.token}` },
      },
    };
    const variants = [v.unprotected, v.passport, v.keywardOAuth1, v.keywardBasic, v.keywardApiKey];
    const { passportReplay } = await preflight(v);

    console.log(
      `HTTP — one Express 5 app per stack, each in its own process on 127.0.0.1; autocannon, ${CONNECTIONS} connections;\n` +
        `${rounds} interleaved rounds of ${SECONDS} s per variant, after ${WARMUP_SECONDS} s of warm-up each. OAuth 1.0a: HMAC-SHA1,\n` +
        "pre-signed by node-oauth (the tutorial's client), one nonce per request. Keyward: SQLite store, memory nonce store.\n",
    );
    console.log(
      '  preflight: every variant 200; Keyward OAuth 1.0a replay 401, forged 401; passport forged 401; ' +
        `passport replay ${passportReplay}${passportReplay === 200 ? ' (the tutorial checks no nonce)' : ''}\n`,
    );

    // Warm-up: JIT, connection pools, caches. Signed runs get twice the requests the fastest
    // run of that variant so far could use (at least 20,000, at most BENCH_HTTP_MAX_SIGNED).
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
      // Compared variants run next to each other, so that whatever else the shared machine does
      // at that moment weighs on both: the OAuth 1.0a pair (order alternating) and the
      // unprotected / Basic / API key trio (rotated), the two groups alternating too.
      const pair = round % 2 ? [v.keywardOAuth1, v.passport] : [v.passport, v.keywardOAuth1];
      const trio = [v.unprotected, v.keywardBasic, v.keywardApiKey];
      const rotated = trio.map((_, i) => trio[(i + round) % trio.length]);
      const order = round % 2 ? [...rotated, ...pair] : [...pair, ...rotated];
      for (const variant of order) {
        const sample = await run(variant, SECONDS);
        samples[variant.name].push(sample);
        if (VERBOSE) {
          console.log(
            `  round ${round + 1} ${variant.name.padEnd(16)} ${fmt(sample.hz).padStart(6)} req/s ${fmt(sample.cpuPerRequest).padStart(4)} µs/req server ${Math.round(100 * sample.serverCpu)}% load generator ${Math.round(100 * sample.loadCpu)}%`,
          );
        }
      }
    }

    const pick = (name, field) => samples[name].map((s) => s[field]);
    let total = 0;
    for (const variant of variants) {
      const hz = median(pick(variant.name, 'hz'));
      total += pick(variant.name, 'responses').reduce((a, b) => a + b, 0);
      const m = (field) => median(pick(variant.name, field));
      console.log(
        `  ${variant.label.padEnd(40)} ${fmt(hz).padStart(6)} req/s` +
          `  ${fmt(m('cpuPerRequest')).padStart(4)} µs server CPU/req` +
          `  p50 ${fmt(m('p50')).padStart(2)} ms  p99 ${fmt(m('p99')).padStart(3)} ms` +
          `  busy: server ${Math.round(100 * m('serverCpu'))}%, load generator ${Math.round(100 * m('loadCpu'))}%`,
      );
    }
    console.log(`  ${fmt(total)} responses measured, all 2xx\n`);

    const targets = [
      { what: 'Keyward OAuth 1.0a vs the passport stack', a: v.keywardOAuth1, b: v.passport, target: 3 },
      { what: 'Keyward Basic vs the unprotected route', a: v.keywardBasic, b: v.unprotected, target: 0.8 },
      { what: 'Keyward API key vs the unprotected route', a: v.keywardApiKey, b: v.unprotected, target: 0.8 },
    ];
    let missed = 0;
    for (const t of targets) {
      const a = pick(t.a.name, 'hz');
      const b = pick(t.b.name, 'hz');
      const ratios = a.map((x, i) => x / b[i]);
      const ratio = median(ratios);
      const ok = ratio >= t.target;
      if (!ok) missed++;
      // The same comparison by server CPU per request (inverse: less CPU is more capacity).
      const ca = pick(t.a.name, 'cpuPerRequest');
      const cb = pick(t.b.name, 'cpuPerRequest');
      const cpuRatios = ca.map((x, i) => cb[i] / x);
      console.log(
        `  ${t.what}: ratio ${ratio.toFixed(2)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')}), target ≥ ${t.target}: ${ok ? 'met' : 'MISSED'}`,
      );
      console.log(
        `    by server CPU per request: ${median(cpuRatios).toFixed(2)} (rounds: ${cpuRatios.map((r) => r.toFixed(2)).join(', ')}), for information`,
      );
    }
    // A guard can only add work to the route it protects, so no guard on this Express app can
    // be faster against the passport stack than the unprotected route is.
    const ceiling = pick(v.unprotected.name, 'hz').map((x, i) => x / pick(v.passport.name, 'hz')[i]);
    console.log(
      `  for reference, the unprotected route vs the passport stack (the most any guard on this app can reach): ${median(ceiling).toFixed(2)}`,
    );
    // The guard's own work: the server CPU per request each stack spends beyond the unprotected
    // route's, round by round (Express's share cancels out).
    const base = pick(v.unprotected.name, 'cpuPerRequest');
    const added = (variant) => median(pick(variant.name, 'cpuPerRequest').map((x, i) => x - base[i]));
    const guards = [v.passport, v.keywardOAuth1, v.keywardBasic, v.keywardApiKey];
    console.log(
      `  server CPU a guard adds per request, for information: ${guards.map((g) => `${g.label} ${fmt(added(g))} µs`).join('; ')}\n`,
    );
    return missed;
  } finally {
    await Promise.all(Object.values(servers).map(stopServer));
  }
}
