// The nonce stores of the embedded setup, without HTTP: batches of 32 consumes (what one turn
// of the event loop brings under 32 connections), each nonce new, timed by wall clock and by
// the event loop's longest block. SqlNonceStore commits each batch with a synced commit (the
// SQLite default before the embedded store); the embedded store keeps nonces in memory behind
// its lease (one synced commit a second).
//
//   node bench/nonce-stores.mjs [batches, default 300]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openStore, SqlNonceStore } from '@keyward/server';
// Not exported from the package (the server builds it): the built module itself.
import { openEmbeddedNonceStore } from '../packages/server/dist/state/nonces.js';

const BATCHES = Number(process.argv[2] ?? 300);
const BATCH = 32;
const clock = { now: () => Date.now() };

async function run(name, make) {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-nonce-stores-'));
  const store = await openStore({ dataDir: dir, clock });
  const nonces = await make(store);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    // A turn of the event loop per batch, as under load.
    await new Promise((resolve) => setImmediate(resolve));
    const stamp = Math.floor(Date.now() / 1000);
    const batch = [];
    for (let i = 0; i < BATCH; i++) {
      batch.push(nonces.consume('kw_kid_bench&', `${name}-${b}-${i}`, (stamp + 301) * 1000, stamp * 1000));
    }
    if ((await Promise.all(batch)).some((fresh) => !fresh)) throw new Error('a new nonce was refused');
  }
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  delay.disable();
  nonces.stop?.();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const n = BATCHES * BATCH;
  console.log(
    `  ${name.padEnd(10)} ${((1000 * wall) / n).toFixed(1).padStart(6)} µs wall/nonce  ${((used.user + used.system) / n).toFixed(1).padStart(5)} µs CPU/nonce  event loop blocked up to ${(delay.max / 1e6).toFixed(1)} ms`,
  );
}

console.log(`${BATCHES} batches of ${BATCH} new nonces, SQLite in ${tmpdir()}:`);
for (let round = 0; round < 2; round++) {
  await run('sql', (store) => new SqlNonceStore(store.context.db, clock));
  await run('embedded', (store) => openEmbeddedNonceStore({ db: store.context.db, clock }));
}
