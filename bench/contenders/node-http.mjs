// The floor every row is compared with: node:http answering a small JSON body, no framework, no
// authentication.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { ready } from './ipc.mjs';

const body = JSON.stringify({ ok: true });
const server = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
ready({ url: `http://127.0.0.1:${server.address().port}/v1/whoami` }, async () => {
  server.closeAllConnections();
  server.close();
});
