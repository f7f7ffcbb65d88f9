// `npm run bench`: Keyward against bare primitives and peers, measured in the same run.
// Targets are ratios, never absolute times: this machine is shared and noisy. Each pair is
// measured in several interleaved rounds and the median ratio is reported.
import { Bench } from 'tinybench';
import { coreScenarios } from './core.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 400);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
let missed = 0;
console.log(`@keyward/core — ${ROUNDS} interleaved rounds of ${TIME_MS} ms per task, Node ${process.version}\n`);
for (const s of coreScenarios) {
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
if (missed > 0) {
  console.log(`${missed} target(s) missed.`);
  process.exitCode = 1;
}
