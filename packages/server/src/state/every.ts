/**
 * Background chores on an interval (usage flushes, nonce sweeps) that never keep the process
 * alive and never let a failure go unreported.
 *
 * @packageDocumentation
 */

/**
 * Runs `task` every `intervalMs` until the returned function is called. The timer is unref'd,
 * so it does not hold a process open; a rejected run goes to `onError`.
 */
export function every(intervalMs: number, task: () => Promise<unknown>, onError: (error: unknown) => void): () => void {
  const timer = setInterval(() => {
    task().catch(onError);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
