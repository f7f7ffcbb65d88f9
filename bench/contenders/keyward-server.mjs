// The Keyward server, as `keyward serve` runs it: the real `createServer` with the default
// configuration (SQLite in the data directory, access log on at `info`, written to standard
// output, which table.mjs sends to /dev/null) and `/v1/whoami` as the protected route.
//
//   node keyward-server.mjs '{"dataDir": "…", "provision": true, "keys": 100, "fill": 0, "tokenFormat": "opaque",
//     "usageFlushSeconds": 10}'
//
// - `provision`: before the server starts, an account and `keys` API keys are made through the
//   store; once it listens, a bearer session, a signed session and an OAuth 2.0 access token are
//   obtained over HTTP, as a client would. Without it, the server opens a data directory another
//   contender provisioned (SQLite in WAL mode takes several processes), e.g. to issue JWTs;
//   such a second process is given `usageFlushSeconds: 0` (usage written at shutdown only), so
//   that two processes never wait on each other's usage writes during the measurements.
// - `fill`: that many more keys, copies of the first under new ids made by one SQL statement per
//   table, so that the store's tables and indexes are as large as with that many keys.
// - The failure limits are raised out of reach: table.mjs's control run sends wrong secrets by
//   the thousand and must see 401 for every one, not the 429 the default limits would answer
//   after 10 per key. They act on failures only, so no measured (successful) request pays for it.
import { once } from 'node:events';
import { openStore } from '@keyward/server';
import { createServer, loadConfig } from '@keyward/server/server';
import { sql } from 'kysely';
import { freePort, ready } from './ipc.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const {
  dataDir,
  provision = false,
  keys: keyCount = 100,
  fill = 0,
  tokenFormat = 'opaque',
  usageFlushSeconds = 10,
} = options;
const login = { email: 'bench@example.com', password: 'a long bench passphrase nobody guesses' };
const actor = { type: 'cli', id: 'bench' };

const keys = [];
if (provision) {
  const store = await openStore({ dataDir });
  const account = await store.accounts.create(login, actor);
  if (!account.ok) throw new Error(`account: ${account.code}`);
  for (let i = 0; i < keyCount; i++) {
    const made = await store.keys.create(login.email, { name: `bench ${i}`, scopes: ['read'] }, actor);
    if (!made.ok) throw new Error(`key: ${made.code}`);
    keys.push({ id: made.value.id, secret: made.value.secret, token: made.value.token });
  }
  if (fill > 0) await fillKeys(store, fill);
  await store.close();
}

const port = await freePort();
const unreachable = { limit: 1_000_000_000, windowSeconds: 60 };
const config = loadConfig({
  env: {},
  cwd: dataDir,
  overrides: {
    dataDir,
    port,
    host: '127.0.0.1',
    tokenFormat,
    usageFlushSeconds,
    limits: { failuresPerIp: unreachable, failuresPerKey: unreachable },
  },
});
const server = await createServer(config);
await server.app.listen({ port, host: '127.0.0.1' });
const url = `http://127.0.0.1:${port}`;

const info = { url, keys };
if (provision) {
  const call = async (path, init) => {
    const response = await fetch(url + path, init);
    const body = await response.json();
    if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  const json = (body) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  info.session = (await call('/v1/sessions', json(login))).token;
  const signed = await call('/v1/sessions', json({ ...login, signed: true }));
  info.signedSession = { accountId: signed.accountId, token: signed.token, secret: signed.secret };
}

ready(info, async () => {
  server.app.server.closeAllConnections?.();
  await server.close();
});
await once(process, 'beforeExit');

/** `count` copies of the first key (and its secret) under new ids, one statement per table. */
async function fillKeys(store, count) {
  const db = store.context.db;
  await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count})
    insert into api_keys select 'fill' || printf('%018d', i), account_id, name, scopes, methods, expires_at,
    status, disabled_reason, metadata, rate_limit, created_at, updated_at, revoked_at, last_used_at, use_count
    from n, (select * from api_keys limit 1)`.execute(db);
  await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count})
    insert into key_secrets select 'fills' || printf('%018d', i), 'fill' || printf('%018d', i),
    secret_hash, sealed_secret, created_at, expires_at
    from n, (select * from key_secrets limit 1)`.execute(db);
}
