// Calls the orders API with the key in KEY_ID and SECRET: OAuth 1.0a signed requests (the
// secret never travels), then HTTP Basic, then a wrong secret, which is refused.
import { createClient, KeywardError } from '@keyward/client';

const baseUrl = process.env.API_URL ?? 'http://127.0.0.1:3000';
const { KEY_ID: keyId, SECRET: secret } = process.env;

const signed = createClient({ baseUrl, auth: { type: 'oauth1', consumerKey: keyId, consumerSecret: secret } });
const list = await signed.get('/orders');
console.log('GET /orders', list.method, list.orders.length);
const created = await signed.post('/orders', new URLSearchParams({ item: 'gadget', qty: '2' }));
console.log('POST /orders', created.method, JSON.stringify(created.created));

const basic = createClient({ baseUrl, auth: { type: 'basic', keyId, secret } });
console.log('GET /orders', (await basic.get('/orders')).method);

const wrong = createClient({ baseUrl, auth: { type: 'oauth1', consumerKey: keyId, consumerSecret: 'not the secret' } });
try {
  await wrong.get('/orders');
} catch (error) {
  if (!(error instanceof KeywardError)) throw error;
  console.log('refused', error.status, error.code);
}
