// The floor every row is compared with: node:http answering a small JSON body, no framework, no
// authentication.
//
// `node node-http.mjs [<µs>]`: with a number, the server first spends that many microseconds of
// CPU on each request (a busy loop), a calibration row: what the same server answers once each
// request costs a known amount more. On a loaded 2-core machine the rate falls by more than the
// added work alone would say, because the load generator then sleeps between answers and each
// answer's write must wake it (the kernel's part shows in the server's profile as `writev`).
import { once } from 'node:events';
import { createServer } from 'node:http';
import { ready } from './ipc.mjs';

const busyMs = Number(process.argv[2] ?? 0) / 1000;
if (!Number.isFinite(busyMs) || busyMs < 0) throw new TypeError(`not a number of microseconds: ${process.argv[2]}`);
const body = JSON.stringify({ ok: true });
const server = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
  if (busyMs > 0) {
    const until = performance.now() + busyMs;
    while (performance.now() < until);
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
ready({ url: `http://127.0.0.1:${server.address().port}/v1/whoami` }, async () => {
  server.closeAllConnections();
  server.close();
});
