/**
 * The clock of the hang guards in core's tests: CPU time this process spends, not wall time.
 * Other tenants of a shared machine stretch wall time by whole multiples; they do not add CPU
 * time to this process, so a bound on it fails for quadratic work and not for a busy neighbour.
 */

/** Runs `f`; returns its value and the CPU time (user + system) it took, in milliseconds. */
export function cpuTimed<T>(f: () => T): { value: T; ms: number } {
  const start = process.cpuUsage();
  const value = f();
  const used = process.cpuUsage(start);
  return { value, ms: (used.user + used.system) / 1000 };
}
