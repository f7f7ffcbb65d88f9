// An Express API whose /orders routes only verified callers reach: HTTP Basic with a key id and
// secret, an API key token, OAuth 2.0 access tokens of the Keyward server, or 2-legged OAuth 1.0a
// signed requests (with the nonce check).
import { captureRawBody, expressMiddleware, requireScopes } from '@keyward/server/express';
import { openStore } from '@keyward/server/store';
import { createVerifier, MemoryNonceStore } from '@keyward/server/verify';
import express from 'express';

const port = Number(process.env.PORT ?? 3000);
// The origin callers reach and sign OAuth 1.0a requests against; behind a proxy, its public URL.
const origin = process.env.PUBLIC_URL ?? `http://127.0.0.1:${port}`;

// The Keyward server's store (its data directory, keys and database), made beforehand by
// `npx keyward serve` or `npx keyward migrate --create`.
const store = await openStore({ dataDir: process.env.KEYWARD_DATA_DIR ?? '.keyward', create: false });
// One process: nonces in memory. Several processes on one database: SqlNonceStore.
const verifier = createVerifier({ store, nonces: new MemoryNonceStore({ clock: { now: Date.now } }), origin });

const app = express();
// The raw body, for OAuth 1.0a: the parameters of a signed form body are part of the signature.
app.use(express.urlencoded({ extended: false, verify: captureRawBody }));
app.use(express.json({ verify: captureRawBody }));

app.get('/health', (_req, res) => res.json({ ok: true }));
app.use('/orders', expressMiddleware(verifier));
app.get('/orders', requireScopes(verifier, ['read:orders']), (req, res) => {
  res.json({ orders: [{ id: 1, item: 'widget' }], caller: req.keyward.keyId, method: req.keyward.method });
});
app.post('/orders', requireScopes(verifier, ['write:orders']), (req, res) => {
  res.status(201).json({ created: req.body, caller: req.keyward.keyId, method: req.keyward.method });
});

const server = app.listen(port, '127.0.0.1', () => console.log(`orders API on ${origin}`));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => server.close(() => store.close()));
}
