// One HTTP server per child process for the HTTP benchmark (http.mjs forks this file):
// `node http-server.mjs unprotected|passport|keyward`. Each stack gets its own process so the
// load generator never shares its event loop, and so one stack's heap (Keyward's nonce store
// grows by every signed request) and garbage collection never land on another stack's numbers.
//
// Every stack is the same Express app: a public `/` and a `/private` route that answers
// `{ secret: true }`; only the guard in front of `/private` differs.
//
// IPC: the child sends `{ type: 'ready', port, key? }` once listening; the parent sends
// `{ type: 'cpu' }` (answered with `{ type: 'cpu', usage }`) and `{ type: 'close' }`.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';

const stack = process.argv[2];

/** The one Express app: `guards.global` in front of everything, `guards.route` in front of `/private`. */
function buildApp(guards) {
  const app = express();
  for (const g of guards.global) app.use(g);
  app.get('/', (_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.send("Hi. Try <a href='/private'>/private</a> for a private endpoint.");
  });
  app.get('/private', ...guards.route, (_req, res) => {
    res.send({ secret: true });
  });
  return app;
}

// The stack of the tutorial (shared/articles/000_51f83b4811f3034a.txt), as written there:
// an in-memory app list, checkAppKey, and checkTimestampAndNonce that checks only the
// timestamp (no nonce store: a replayed request is accepted for 10 seconds).
async function passportStack() {
  const { default: passport } = await import('passport');
  const { default: twoLegged } = await import('passport-http-2legged-oauth');
  const appList = [
    { key: 'abcdefg', secret: '12580ierouybjcvbmsdhfku2367i', name: 'One cool app' },
    { key: 'asecondkey', secret: 'xxccvvbbnnmmaassddffgghhjjkkll', name: 'Another app' },
  ];
  const appsModel = {
    find(key) {
      for (let i = 0, ii = appList.length; i < ii; i++) {
        // biome-ignore lint/suspicious/noDoubleEquals: the tutorial's comparison, kept as written.
        if (appList[i].key == key) return JSON.parse(JSON.stringify(appList[i]));
      }
    },
  };
  function checkAppKey(key, done) {
    const app = appsModel.find(key);
    if (!app) return done(null, { error: 'app not found' });
    return done(null, app, app.secret);
  }
  function checkTimestampAndNonce(timestamp, _nonce, _app, _req, done) {
    // biome-ignore lint/complexity/useDateNow: the tutorial's code, kept as written.
    const timeDelta = Math.round(new Date().getTime() / 1000) - timestamp;
    if (timeDelta >= 10) done(null, false);
    else done(null, true);
  }
  passport.use(new twoLegged.Strategy(checkAppKey, checkTimestampAndNonce));
  return {
    guards: { global: [passport.initialize()], route: [passport.authenticate('oauth', { session: false })] },
    info: { key: appList[0].key, secret: appList[0].secret },
    close: async () => {},
  };
}

// Keyward embedded with its defaults: SQLite store in a fresh data directory (usage flushed
// every 10 s), an in-memory nonce store, basic + api-key + oauth1. Callers sign against the
// origin configured here, which is the address the load generator connects to.
async function keywardStack(port) {
  const { createKeyward, MemoryNonceStore, openStore } = await import('@keyward/server');
  const dataDir = await mkdtemp(join(tmpdir(), 'keyward-bench-'));
  const store = await openStore({ dataDir });
  const actor = { type: 'cli', id: 'bench' };
  const account = await store.accounts.create({ email: 'bench@example.com', password: 'bench password 1234' }, actor);
  if (!account.ok) throw new Error(`account: ${account.code}`);
  const created = await store.keys.create('bench@example.com', { name: 'bench' }, actor);
  if (!created.ok) throw new Error(`key: ${created.code}`);
  const clock = { now: () => Date.now() };
  const keyward = createKeyward({
    store,
    nonces: new MemoryNonceStore({ clock }),
    origin: `http://127.0.0.1:${port}`,
    onError: (error) => console.error('keyward verifier error:', error),
  });
  const { id, secret, token } = created.value;
  return {
    guards: { global: [], route: [keyward.express()] },
    info: { key: id, secret, token },
    close: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const server = createServer({ keepAliveTimeout: 60_000 });
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address();

let built;
if (stack === 'unprotected') built = { guards: { global: [], route: [] }, info: {}, close: async () => {} };
else if (stack === 'passport') built = await passportStack();
else if (stack === 'keyward') built = await keywardStack(port);
else throw new Error(`unknown stack: ${stack}`);
server.on('request', buildApp(built.guards));

let closing = false;
async function close() {
  if (closing) return;
  closing = true;
  server.closeAllConnections();
  server.close();
  await built.close();
  // A normal exit, so that `--cpu-prof` writes its profile.
  process.exit(0);
}

process.on('message', (message) => {
  if (message.type === 'cpu') process.send({ type: 'cpu', usage: process.cpuUsage() });
  else if (message.type === 'close') close();
});
// The parent died: do not linger.
process.on('disconnect', close);
process.send({ type: 'ready', port, ...built.info });
