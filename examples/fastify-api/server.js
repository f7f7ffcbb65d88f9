// A Fastify API whose /orders routes only verified callers reach, through Keyward's plugin. The
// plugin keeps a copy of the raw body of requests whose signature may cover it (OAuth 1.0a form
// bodies, oauth_body_hash) and registers a form parser, so nothing else is needed for them.
import { keywardFastify } from '@keyward/server/fastify';
import { openStore } from '@keyward/server/store';
import { createVerifier, MemoryNonceStore } from '@keyward/server/verify';
import Fastify from 'fastify';

const port = Number(process.env.PORT ?? 3000);
// The origin callers reach and sign OAuth 1.0a requests against; behind a proxy, its public URL.
const origin = process.env.PUBLIC_URL ?? `http://127.0.0.1:${port}`;

// The Keyward server's store, made beforehand by `npx keyward serve` or `npx keyward migrate --create`.
const store = await openStore({ dataDir: process.env.KEYWARD_DATA_DIR ?? '.keyward', create: false });
const verifier = createVerifier({ store, nonces: new MemoryNonceStore({ clock: { now: Date.now } }), origin });

const app = Fastify();
await app.register(keywardFastify, { verifier });
app.addHook('onClose', () => store.close());

app.get('/health', async () => ({ ok: true }));
// A scope of its own: every route registered in it needs a verified caller.
await app.register(async (orders) => {
  orders.addHook('preValidation', orders.keyward.protect());
  orders.get('/orders', { preValidation: orders.keyward.protect({ scopes: ['read:orders'] }) }, async (request) => ({
    orders: [{ id: 1, item: 'widget' }],
    caller: request.keyward.keyId,
    method: request.keyward.method,
  }));
  orders.post(
    '/orders',
    { preValidation: orders.keyward.protect({ scopes: ['write:orders'] }) },
    async (request, reply) => {
      reply.code(201);
      return {
        created: Object.fromEntries(new URLSearchParams(request.body)),
        caller: request.keyward.keyId,
        method: request.keyward.method,
      };
    },
  );
});

await app.listen({ port, host: '127.0.0.1' });
console.log(`orders API on ${origin}`);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close());
