// Small statistics shared by the benchmark sections.

/** The median of a list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** An integer with thousands separators. */
export const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** The `q` quantile (0–1) of a list of numbers, by nearest rank. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/** Runs `fn` `n` times; returns calls per second. */
function slice(fn, n) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** How many calls of `fn` take about `ms` milliseconds. */
function callsFor(fn, ms) {
  for (let n = 64; ; n *= 2) {
    const hz = slice(fn, n);
    if (n / hz > 0.01) return Math.max(1, Math.round((hz * ms) / 1000));
  }
}

/**
 * Rates of two synchronous tasks measured in many short alternating slices, and the median of
 * the per-pair ratios `a / b`. A shared machine's speed drifts over seconds; two slices next
 * to each other see the same machine, so each pair's ratio holds even when the rates do not.
 */
export function pairedRates(a, b, { pairs, sliceMs }) {
  const na = callsFor(a, sliceMs);
  const nb = callsFor(b, sliceMs);
  const aHz = [];
  const bHz = [];
  const ratios = [];
  for (let p = 0; p < pairs; p++) {
    // Alternate the order so neither task always runs on a warmer or cooler machine.
    let ha;
    let hb;
    if (p % 2) {
      hb = slice(b, nb);
      ha = slice(a, na);
    } else {
      ha = slice(a, na);
      hb = slice(b, nb);
    }
    aHz.push(ha);
    bHz.push(hb);
    ratios.push(ha / hb);
  }
  return { aHz: median(aHz), bHz: median(bHz), ratio: median(ratios), ratios };
}
