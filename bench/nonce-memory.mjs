// Heap held by MemoryNonceStore (and so by the embedded store, which keeps nonces in it) for
// N live nonces, as the verifier records them: the scope `<key id>&`, and a 32-character nonce
// cut from the request's Authorization header, as the OAuth 1.0a parser hands it over.
//
//   node --expose-gc bench/nonce-memory.mjs [count, default 1000000]
//
// Prints the heap growth (V8 heapUsed after full collections) per nonce and in total, and the
// resident set growth, against the target of 150 MB for 10⁶ nonces.
import { randomBytes } from 'node:crypto';
import { MemoryNonceStore } from '@keyward/server';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const COUNT = Number(process.argv[2] ?? 1_000_000);

const settle = () => {
  for (let i = 0; i < 4; i++) globalThis.gc();
  return process.memoryUsage();
};

const now = Date.now();
const clock = { now: () => now };
// One key id for all (as under one busy client); the nonces differ.
const scope = `kw_kid_${randomBytes(21).toString('base64url').slice(0, 28)}&`;
const prefix = randomBytes(16).toString('hex').slice(0, 22);
const store = new MemoryNonceStore({ clock, maxEntries: COUNT });

const before = settle();
for (let i = 0; i < COUNT; i++) {
  const nonce = prefix + i.toString(36).padStart(10, '0');
  // The header the nonce is parsed from; the slice is what the parser returns.
  const header = `OAuth oauth_consumer_key="${scope.slice(0, -1)}", oauth_nonce="${nonce}", oauth_signature="${'x'.repeat(28)}", oauth_signature_method="HMAC-SHA1", oauth_timestamp="${Math.floor(now / 1000)}", oauth_version="1.0"`;
  const at = header.indexOf('oauth_nonce="') + 13;
  const fresh = store.record(scope, header.slice(at, at + 32), now + 301_000);
  if (fresh !== true) throw new Error(`nonce ${i} not recorded`);
}
const after = settle();
if (store.size !== COUNT) throw new Error(`store holds ${store.size}`);

const mb = (bytes) => (bytes / 1e6).toFixed(1);
const heap = after.heapUsed - before.heapUsed;
const rss = after.rss - before.rss;
console.log(
  `MemoryNonceStore, ${COUNT.toLocaleString('en-US')} live nonces (scope ${scope.length} chars, nonce 32 chars), Node ${process.version}:`,
);
console.log(`  heap used +${mb(heap)} MB (${(heap / COUNT).toFixed(0)} bytes per nonce), resident set +${mb(rss)} MB`);
console.log(`  target: 10⁶ live nonces ≤ 150 MB: ${(heap / COUNT) * 1e6 <= 150e6 ? 'met' : 'MISSED'} (by heap used)`);
