// `npm run bench`: Keyward against bare primitives and peers, measured in the same run.
// Targets are ratios, never absolute times: this machine is shared and noisy. Each pair is
// measured in several interleaved rounds and the median ratio is reported.
//
// Knobs: BENCH_ONLY=core|timing|http; core: BENCH_ROUNDS (5), BENCH_TIME_MS (400); HTTP (http.mjs):
// BENCH_HTTP_ROUNDS (BENCH_ROUNDS if set, else 7), BENCH_HTTP_SECONDS (2 per variant and round),
// BENCH_HTTP_WARMUP_SECONDS (1), BENCH_HTTP_CONNECTIONS (10),
// BENCH_HTTP_MAX_SIGNED (50000), BENCH_HTTP_VERBOSE=1 (every measurement), BENCH_HTTP_CPU_PROF=<dir>
// (the servers run with --cpu-prof and write their profiles there).
import { Bench } from 'tinybench';
import { coreScenarios } from './core.mjs';
import { runHttp } from './http.mjs';
import { fmt, median } from './stats.mjs';
import { runTiming } from './timing.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// The HTTP section's slices are short and the machine noisy: more rounds by default.
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? process.env.BENCH_ROUNDS ?? 7);
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 400);
const ONLY = process.env.BENCH_ONLY;

let missed = 0;
if (ONLY === undefined || ONLY === 'core') {
  console.log(`@keyward/core — ${ROUNDS} interleaved rounds of ${TIME_MS} ms per task, Node ${process.version}\n`);
}
for (const s of ONLY === undefined || ONLY === 'core' ? coreScenarios : []) {
  const verifyHz = [];
  const hmacHz = [];
  const ratios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({ time: TIME_MS, warmupTime: 100 });
    // Alternate the order so neither task always runs on a warmer or cooler machine.
    const tasks = [
      ['verify', s.verify],
      ['hmac', s.hmac],
    ];
    if (round % 2) tasks.reverse();
    for (const [name, fn] of tasks) bench.add(name, fn);
    await bench.warmup();
    await bench.run();
    const hz = Object.fromEntries(bench.tasks.map((t) => [t.name, t.result?.hz ?? 0]));
    verifyHz.push(hz.verify);
    hmacHz.push(hz.hmac);
    ratios.push(hz.verify / hz.hmac);
  }
  const ratio = median(ratios);
  const ok = ratio >= s.target;
  if (!ok) missed++;
  console.log(s.name);
  console.log(
    `  keyward verifyOAuth1 (parse + base string + HMAC + compare)  ${fmt(median(verifyHz)).padStart(10)} ops/s`,
  );
  console.log(`  bare crypto.createHmac over the same base string           ${fmt(median(hmacHz)).padStart(10)} ops/s`);
  console.log(
    `  ratio ${ratio.toFixed(2)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')}), target ≥ ${s.target}: ${ok ? 'met' : 'MISSED'}\n`,
  );
}
if (ONLY === undefined || ONLY === 'timing') missed += await runTiming({ rounds: ROUNDS, timeMs: TIME_MS });
if (ONLY === undefined || ONLY === 'http') missed += await runHttp({ rounds: HTTP_ROUNDS });
if (missed > 0) {
  console.log(`${missed} target(s) missed.`);
  process.exitCode = 1;
}
