// Summarises a V8 CPU profile (`node --cpu-prof`, e.g. from methods.mjs --cpu-prof): self time
// by function and by package, and total (inclusive) time of the functions that match a filter.
//
//   node bench/profile-summary.mjs <file.cpuprofile> [--top 30] [--match <regexp>]
//
// Packages are read from the script URL: @keyward/core and @keyward/server (wherever built),
// every other node_modules package by name, Node's own (node:…), and V8's pseudo-frames
// ((garbage collector), (program), (idle)).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' }, match: { type: 'string' } },
});
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node: the sampling intervals attributed to it.
const self = new Map();
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? 0));
}

function packageOf(url) {
  if (url === '') return '(v8)';
  if (url.startsWith('node:')) return 'node';
  if (/packages\/core\/(dist|src)\//.test(url)) return '@keyward/core';
  if (/packages\/server\/(dist|src)\//.test(url)) return '@keyward/server';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.replace(/.*node_modules\//, 'node_modules/'));
  return m ? m[1] : url;
}
const short = (url) => url.replace(/^.*\/(packages|node_modules)\//, '$1/').replace(/^file:\/\//, '');
const label = (cf) => `${cf.functionName || '(anonymous)'} ${short(cf.url)}:${cf.lineNumber + 1}`;

const byFunction = new Map();
const byPackage = new Map();
let total = 0;
let idle = 0;
for (const [id, us] of self) {
  const cf = nodes.get(id).callFrame;
  total += us;
  if (cf.functionName === '(idle)') idle += us;
  const key = label(cf);
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  const pkg = cf.url === '' ? cf.functionName : packageOf(cf.url);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
}
const busy = total - idle;
const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
console.log(
  `${positionals[0]}: ${(busy / 1e6).toFixed(2)} s busy (${(idle / 1e6).toFixed(2)} s idle); shares of busy time\n`,
);
console.log('self time by package:');
for (const [k, v] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  if (k !== '(idle)') console.log(`  ${pct(v)}  ${k}`);
}
console.log(`\nself time by function (top ${args.top}):`);
for (const [k, v] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
  if (!k.startsWith('(idle)')) console.log(`  ${pct(v)}  ${k}`);
}

if (args.match !== undefined) {
  // Inclusive time: every sample whose stack holds a matching frame, counted once per sample.
  const re = new RegExp(args.match);
  const inclusive = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const seen = new Set();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const key = label(nodes.get(id).callFrame);
      if (!seen.has(key) && re.test(key)) {
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + (deltas[i + 1] ?? 0));
      }
    }
  }
  console.log(`\ntotal (inclusive) time of functions matching /${args.match}/:`);
  for (const [k, v] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
    console.log(`  ${pct(v)}  ${k}`);
  }
}
