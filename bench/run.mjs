// `npm run bench`: Keyward against bare primitives and peers, measured in the same run.
// Targets are ratios, never absolute times: this machine is shared and noisy. Each pair is
// measured in several interleaved rounds and the median ratio is reported.
//
// Knobs: BENCH_ONLY=core|state|timing|http|gateway; core and state: BENCH_CORE_PAIRS (40), BENCH_SLICE_MS (50); timing:
// BENCH_ROUNDS (5), BENCH_TIME_MS (400); HTTP (http.mjs):
// BENCH_HTTP_ROUNDS (BENCH_ROUNDS if set, else 7), BENCH_HTTP_SECONDS (2 per variant and round),
// BENCH_HTTP_WARMUP_SECONDS (1), BENCH_HTTP_CONNECTIONS (10),
// BENCH_HTTP_MAX_SIGNED (50000), BENCH_HTTP_VERBOSE=1 (every measurement), BENCH_HTTP_CPU_PROF=<dir>
// (the servers run with --cpu-prof and write their profiles there); gateway (gateway.mjs):
// BENCH_GATEWAY_ROUNDS (6), BENCH_GATEWAY_SECONDS (3 per variant and round),
// BENCH_GATEWAY_WARMUP_SECONDS (1), BENCH_GATEWAY_CONNECTIONS (10), BENCH_GATEWAY_MAX_SIGNED (50000),
// BENCH_GATEWAY_VERBOSE=1, BENCH_NGINX (/usr/sbin/nginx).
import { coreScenarios } from './core.mjs';
import { runGateway } from './gateway.mjs';
import { runHttp } from './http.mjs';
import { runState } from './state.mjs';
import { fmt, pairedRates, quantile } from './stats.mjs';
import { runTiming } from './timing.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// The HTTP section's slices are short and the machine noisy: more rounds by default.
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? process.env.BENCH_ROUNDS ?? 7);
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 400);
const CORE_PAIRS = Number(process.env.BENCH_CORE_PAIRS ?? 40);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 50);
// Six variants × (1 s warm-up + 6 rounds × 3 s): about two minutes with the set-up.
const GATEWAY_ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 6);
const ONLY = process.env.BENCH_ONLY;

let missed = 0;
/** The middle half of a list of per-pair ratios, for printing. */
const spread = (ratios) =>
  `middle half of ${ratios.length} pairs: ${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)}`;
if (ONLY === undefined || ONLY === 'core') {
  console.log(
    `@keyward/core — ${CORE_PAIRS} pairs of alternating ${SLICE_MS} ms slices per task, Node ${process.version}\n`,
  );
}
for (const s of ONLY === undefined || ONLY === 'core' ? coreScenarios : []) {
  const { aHz, bHz, ratio, ratios } = pairedRates(s.verify, s.hmac, { pairs: CORE_PAIRS, sliceMs: SLICE_MS });
  const floor = pairedRates(s.floor, s.hmac, { pairs: CORE_PAIRS, sliceMs: SLICE_MS });
  const ok = ratio >= s.target;
  if (!ok) missed++;
  console.log(s.name);
  console.log(`  keyward verifyOAuth1 (parse + base string + HMAC + compare)  ${fmt(aHz).padStart(10)} ops/s`);
  console.log(`  bare crypto.createHmac over the same base string           ${fmt(bHz).padStart(10)} ops/s`);
  console.log(`  ratio ${ratio.toFixed(2)} (${spread(ratios)}), target ≥ ${s.target}: ${ok ? 'met' : 'MISSED'}`);
  // Reference only (floor.mjs): the unavoidable steps with every check left out.
  console.log(
    `  floor, the same steps with no checks (floor.mjs)           ${fmt(floor.aHz).padStart(10)} ops/s, ratio ${floor.ratio.toFixed(2)} (${spread(floor.ratios)})\n`,
  );
}
if (ONLY === undefined || ONLY === 'state') missed += runState({ pairs: CORE_PAIRS, sliceMs: SLICE_MS });
if (ONLY === undefined || ONLY === 'timing') missed += await runTiming({ rounds: ROUNDS, timeMs: TIME_MS });
if (ONLY === undefined || ONLY === 'http') missed += await runHttp({ rounds: HTTP_ROUNDS });
if (ONLY === undefined || ONLY === 'gateway') missed += await runGateway({ rounds: GATEWAY_ROUNDS });
if (missed > 0) {
  console.log(`${missed} target(s) missed.`);
  process.exitCode = 1;
}
