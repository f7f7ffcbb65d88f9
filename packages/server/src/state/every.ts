/**
 * Background chores on an interval (usage flushes, nonce sweeps) that never keep the process
 * alive and never let a failure go unreported.
 *
 * @packageDocumentation
 */

/**
 * Runs `task` every `intervalMs` until the returned function is called, and once `firstAfterMs`
 * after the call when given (a chore with a long interval then runs soon after start too). The
 * timers are unref'd, so they do not hold a process open; a rejected run goes to `onError`.
 */
export function every(
  intervalMs: number,
  task: () => Promise<unknown>,
  onError: (error: unknown) => void,
  options: { readonly firstAfterMs?: number } = {},
): () => void {
  const run = () => {
    task().catch(onError);
  };
  const timer = setInterval(run, intervalMs).unref();
  const first = options.firstAfterMs === undefined ? undefined : setTimeout(run, options.firstAfterMs).unref();
  return () => {
    clearInterval(timer);
    clearTimeout(first);
  };
}
