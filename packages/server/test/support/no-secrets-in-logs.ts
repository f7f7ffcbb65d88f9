// Setup file of the server suites: everything the code under test logs (console, process
// warnings, direct writes to stdout/stderr) is captured, and each file fails if a Keyward secret
// or token string appears in it. Responses are checked by the tests themselves.
import { afterAll } from 'vitest';

// Key secrets, API key tokens, access tokens, session tokens and session secrets (tokens.ts).
const SECRET = /kw_(?:sk|key|at|st|ss)_[0-9A-Za-z]{40,}/;
const SECRETS = new RegExp(SECRET.source, 'g');
const seen: string[] = [];
// While set (only by the guard's own test, through `withoutEcho`), what is caught is recorded
// but not passed on, so the deliberate leak does not print a real-looking secret in a CI log.
let echo = true;

function record(...parts: unknown[]): void {
  const line = parts
    .map((p) => (typeof p === 'string' ? p : p instanceof Error ? `${p.message}\n${p.stack}` : JSON.stringify(p)))
    .join(' ');
  if (SECRET.test(line)) seen.push(line.replace(SECRETS, (m) => `${m.slice(0, 10)}…`).slice(0, 200));
}

for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    record(...args);
    if (echo) original(...args);
  };
}
for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    record(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
    if (!echo) {
      // A write callback still runs, as the stream would run it.
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (callback !== undefined) process.nextTick(callback);
      return true;
    }
    return original(chunk, ...rest);
  }) as typeof stream.write;
}
const guardWarning = (warning: Error) => record(warning);
process.on('warning', guardWarning);

/**
 * Runs `fn` with everything the guard catches recorded as usual but not printed: Node's own
 * warning printer is taken off `warning` for the duration, and console and stream writes are
 * not passed on. For the guard's own test, whose fake secrets would otherwise look like a real
 * leak in a CI log.
 */
export async function withoutEcho<T>(fn: () => Promise<T>): Promise<T> {
  const printers = process.listeners('warning').filter((listener) => listener !== guardWarning);
  for (const printer of printers) process.off('warning', printer);
  echo = false;
  try {
    return await fn();
  } finally {
    echo = true;
    for (const printer of printers) process.on('warning', printer);
  }
}

/** Takes the lines caught so far (for the guard's own test). */
export function takeCaught(): string[] {
  return seen.splice(0);
}

afterAll(() => {
  if (seen.length > 0) throw new Error(`a secret reached a log line:\n${seen.join('\n')}`);
});
