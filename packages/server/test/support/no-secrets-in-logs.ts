// Setup file of the server suites: everything the code under test logs (console, process
// warnings, direct writes to stdout/stderr) is captured, and each file fails if a Keyward secret
// or token string appears in it. Responses are checked by the tests themselves.
import { afterAll } from 'vitest';

// Key secrets, API key tokens, access tokens, session tokens and session secrets (tokens.ts).
const SECRET = /kw_(?:sk|key|at|st|ss)_[0-9A-Za-z]{40,}/;
const SECRETS = new RegExp(SECRET.source, 'g');
const seen: string[] = [];

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
    original(...args);
  };
}
for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    record(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
    return original(chunk, ...rest);
  }) as typeof stream.write;
}
process.on('warning', (warning) => record(warning));

/** Takes the lines caught so far (for the guard's own test). */
export function takeCaught(): string[] {
  return seen.splice(0);
}

afterAll(() => {
  if (seen.length > 0) throw new Error(`a secret reached a log line:\n${seen.join('\n')}`);
});
