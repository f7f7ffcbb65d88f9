// Bare Fastify (the framework Keyward's server is built on), one route, no authentication, no
// logger: what the framework alone costs over node:http.
import Fastify from 'fastify';
import { ready } from './ipc.mjs';

const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
app.get('/v1/whoami', async () => ({ ok: true }));
await app.listen({ port: 0, host: '127.0.0.1' });
ready({ url: `http://127.0.0.1:${app.server.address().port}/v1/whoami` }, () => app.close());
