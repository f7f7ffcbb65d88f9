// Keyward's Express middleware (`createKeyward(...).express()`) in front of the same Express app
// as http-server.mjs (a `/private` route answering `{ secret: true }`), so that this row and the
// "Express, unprotected" row differ by the guard alone.
//
//   node keyward-express.mjs '{"dataDir": "…", "jwt": {"url": "http://127.0.0.1:<port>"}}'
//
// It opens the store of a data directory keyward-server.mjs provisioned (keys, opaque tokens,
// sessions), with an in-memory nonce store, and verifies JWT access tokens issued by the server
// at `jwt.url` (its issuer and audience; its keys read once from its JWKS).
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createKeyward, MemoryNonceStore, openStore } from '@keyward/server';
import express from 'express';
import { freePort, ready } from './ipc.mjs';

const { dataDir, jwt } = JSON.parse(process.argv[2] ?? '{}');
const port = await freePort();
// Usage counters written at shutdown only: the Keyward server that owns the data directory
// writes its own every 10 s, and two SQLite writers would wait on each other.
const store = await openStore({ dataDir, usageFlushMs: 0 });
const clock = { now: () => Date.now() };
const unreachable = { limit: 1_000_000_000, windowSeconds: 60 };
const keyward = createKeyward({
  store,
  nonces: new MemoryNonceStore({ clock }),
  origin: `http://127.0.0.1:${port}`,
  // As in keyward-server.mjs: the control run's wrong secrets must all be answered 401.
  failuresPerIp: unreachable,
  failuresPerKey: unreachable,
  jwt:
    jwt === undefined
      ? undefined
      : {
          issuer: jwt.url,
          audience: jwt.url,
          keys: await (await fetch(`${jwt.url}/.well-known/jwks.json`)).json(),
        },
  onError: (error) => console.error('keyward verifier error:', error),
});

const app = express();
app.get('/private', keyward.express(), (_req, res) => {
  res.send({ secret: true });
});
const server = createServer({ keepAliveTimeout: 60_000 }, app);
server.listen(port, '127.0.0.1');
await once(server, 'listening');
ready({ url: `http://127.0.0.1:${port}/private` }, async () => {
  server.closeAllConnections();
  server.close();
  await store.close();
});
