// The load generator table.mjs uses when wrk is not installed: autocannon, in a process of its
// own (never in a contender's or in table.mjs's), sending the same Authorization values from the
// same file as wrk would: in turn, over and over (`rotate`) or each once (pre-signed requests;
// when they run out the last is repeated and counted as `exhausted`).
//
//   node autocannon-load.mjs '{"url", "file", "rotate", "method", "body", "seconds", "connections", "pause"}'
//
// autocannon has no pause per connection between requests (wrk's delay()): with `pause`, it
// sends at the rate such pauses would make, connections × 1000 / pause requests a second.
//
// Prints one JSON line: the same fields as table.mjs reads from wrk.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const job = JSON.parse(process.argv[2]);
const values = readFileSync(job.file, 'utf8')
  .split('\n')
  .filter((line) => line !== '');
let next = 0;
let exhausted = 0;
const counts = { ok: 0, s401: 0, other: 0 };
const headers = job.body === '' ? {} : { 'content-type': 'application/x-www-form-urlencoded' };
const run = autocannon({
  url: job.url,
  connections: job.connections,
  duration: job.seconds,
  ...(job.pause > 0 ? { overallRate: Math.round((job.connections * 1000) / job.pause) } : {}),
  timeout: 10,
  requests: [
    {
      method: job.method,
      body: job.body === '' ? undefined : job.body,
      setupRequest: (req) => {
        if (next >= values.length) {
          if (job.rotate) next = 0;
          else {
            exhausted++;
            next = values.length - 1;
          }
        }
        const value = values[next++];
        req.headers = { ...req.headers, ...headers, ...(value === '-' ? {} : { authorization: value }) };
        return req;
      },
    },
  ],
});
run.on('response', (_client, status) => {
  if (status >= 200 && status < 300) counts.ok++;
  else if (status === 401) counts.s401++;
  else counts.other++;
});
const result = await run;
process.stdout.write(
  `${JSON.stringify({
    ...counts,
    exhausted,
    socketErrors: result.errors + result.timeouts,
    seconds: result.duration,
    p50Us: result.latency.p50 * 1000,
    p99Us: result.latency.p99 * 1000,
  })}\n`,
);
