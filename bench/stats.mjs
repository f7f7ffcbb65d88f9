// Small statistics shared by the benchmark sections.

/** The median of a list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** An integer with thousands separators. */
export const fmt = (n) => Math.round(n).toLocaleString('en-US');
