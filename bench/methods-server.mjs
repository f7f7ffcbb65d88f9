// One Keyward server (the real `createServer`, SQLite in a fresh data directory, the default
// configuration) for bench/methods.mjs, which forks this file, optionally with `--cpu-prof`.
//
// `node methods-server.mjs [<build root>]`: the server is imported from `<build root>` (a
// checkout whose packages are built, for comparing two builds side by side), by default from
// the `@keyward/server` this workspace resolves.
//
// Once listening, it provisions what each method needs over HTTP (an account, an API key, a
// bearer session, a signed session and an OAuth 2.0 access token) and sends them to the parent:
// `{ type: 'ready', url, keyId, secret, token, session, signedSession, access }`. The parent
// sends `{ type: 'close' }` (a normal exit, so that `--cpu-prof` writes its profile).
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.argv[2];
const entry = root
  ? await import(pathToFileURL(join(root, 'packages/server/dist/entry/server.js')).href)
  : await import('@keyward/server/server');
const { createServer, loadConfig } = entry;

const dataDir = await mkdtemp(join(tmpdir(), 'keyward-methods-'));
// The public URL must be known before the app is built: probe a free port first.
const port = await new Promise((resolve) => {
  const probe = netServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const config = loadConfig({
  // The access log can be switched off for a comparison (KEYWARD_ACCESS_LOG=off).
  env: process.env.KEYWARD_ACCESS_LOG === undefined ? {} : { KEYWARD_ACCESS_LOG: process.env.KEYWARD_ACCESS_LOG },
  cwd: dataDir,
  overrides: { dataDir, port, host: '127.0.0.1', logLevel: process.env.BENCH_LOG_LEVEL ?? 'info' },
});
const server = await createServer(config);
await server.app.listen({ port, host: '127.0.0.1' });
const url = `http://127.0.0.1:${port}`;

async function call(path, init) {
  const response = await fetch(url + path, init);
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}
const json = (body, headers = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});
const login = { email: 'bench@example.com', password: 'a long bench passphrase nobody guesses' };
await call('/v1/accounts', json(login));
const session = await call('/v1/sessions', json(login));
const signedSession = await call('/v1/sessions', json({ ...login, signed: true }));
const key = await call(
  '/v1/keys',
  json({ name: 'bench', scopes: ['read'] }, { authorization: `Bearer ${session.token}` }),
);
const access = await call('/oauth/token', {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}`,
  },
  body: 'grant_type=client_credentials',
});

let closing = false;
async function close() {
  if (closing) return;
  closing = true;
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('message', (message) => {
  if (message.type === 'close') close();
  else if (message.type === 'cpu') process.send({ type: 'cpu', usage: process.cpuUsage() });
});
process.on('disconnect', close);
process.send({
  type: 'ready',
  url,
  keyId: key.id,
  secret: key.secret,
  token: key.token,
  session: session.token,
  signedSession: { accountId: signedSession.accountId, token: signedSession.token, secret: signedSession.secret },
  access: access.access_token,
});
