// `npm run bench`: the one table (table.mjs: every contender on loopback, one load generator,
// req/s, p50, p99, errors, peak RSS and the ratio to node:http, a control run with a wrong
// secret, results in bench/results/), then the timing, gateway and scale sections. Targets are
// ratios measured in the same run wherever they can be: the machine may be shared and noisy.
//
//   npm run bench                  everything (the table alone: about 10 minutes on 2 cores)
//   npm run bench -- --quick       the table alone, 1 s per row (2–3 minutes, most of it set-up)
//
// Knobs: BENCH_ONLY=table|state|timing|gateway|scale runs one section (state, the memory nonce
// store at steady state, runs only when named); table: see table.mjs (BENCH_TABLE_*); timing:
// BENCH_ROUNDS (5), BENCH_TIME_MS (400); state: BENCH_CORE_PAIRS (40), BENCH_SLICE_MS (50);
// gateway (gateway.mjs): BENCH_GATEWAY_ROUNDS (6), BENCH_GATEWAY_SECONDS (3 per variant and
// round), BENCH_GATEWAY_WARMUP_SECONDS (1), BENCH_GATEWAY_CONNECTIONS (10),
// BENCH_GATEWAY_MAX_SIGNED (50000), BENCH_GATEWAY_VERBOSE=1, BENCH_NGINX (/usr/sbin/nginx);
// scale: see scale.mjs.
import { runGateway } from './gateway.mjs';
import { runScale } from './scale.mjs';
import { runState } from './state.mjs';
import { runTable } from './table.mjs';
import { runTiming } from './timing.mjs';

// From the repository's root, `npm run bench -- --quick` reaches npm (the root script runs
// `npm run bench --workspace bench`), which hands it over as npm_config_quick.
const quick =
  process.argv.includes('--quick') || process.env.BENCH_QUICK === '1' || process.env.npm_config_quick === 'true';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 400);
const CORE_PAIRS = Number(process.env.BENCH_CORE_PAIRS ?? 40);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 50);
// Six variants × (1 s warm-up + 6 rounds × 3 s): about two minutes with the set-up.
const GATEWAY_ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 6);
const SECTIONS = ['table', 'state', 'timing', 'gateway', 'scale'];
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && !SECTIONS.includes(ONLY)) {
  console.error(`BENCH_ONLY=${ONLY}: expected one of ${SECTIONS.join(', ')}`);
  process.exit(2);
}
/** Whether a section runs: the one named, else the table (alone with --quick) and the rest. */
const runs = (section) =>
  ONLY !== undefined ? ONLY === section : section === 'table' || (!quick && section !== 'state');

let missed = 0;
if (runs('table')) missed += await runTable({ quick });
if (runs('state')) missed += runState({ pairs: CORE_PAIRS, sliceMs: SLICE_MS });
if (runs('timing')) missed += await runTiming({ rounds: ROUNDS, timeMs: TIME_MS });
if (runs('gateway')) missed += await runGateway({ rounds: GATEWAY_ROUNDS });
if (runs('scale')) missed += await runScale();
if (missed > 0) {
  console.log(`${missed} target(s) missed.`);
  process.exitCode = 1;
}
