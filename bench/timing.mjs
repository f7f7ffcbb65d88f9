// Unknown key id and wrong secret must answer alike, "including timing" (design.md): measured
// here side by side, never in a timed unit test. Both paths run with the key material cached,
// as on a busy server; the ratio of their rates should be 1 within noise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey, signOAuth1 } from '@keyward/core';
import { createVerifier, MemoryNonceStore, openStore } from '@keyward/server';
import { Bench } from 'tinybench';
import { fmt, median } from './stats.mjs';

const BAND = [0.85, 1.15];

export async function runTiming({ rounds, timeMs }) {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-timing-'));
  const store = await openStore({ dataDir: dir, usageFlushMs: 0 });
  try {
    await store.accounts.create(
      { email: 'bench@example.com', password: 'a long bench passphrase' },
      { type: 'system' },
    );
    const { value: key } = await store.keys.create('bench@example.com', { name: 'bench' }, { type: 'system' });
    const stranger = generateApiKey();
    const clock = { now: () => 1_800_000_000_000 };
    // Limits out of the way: every attempt here fails on purpose.
    const unlimited = { limit: Number.MAX_SAFE_INTEGER, windowSeconds: 60 };
    const verifier = createVerifier({
      store,
      nonces: new MemoryNonceStore({ clock }),
      origin: 'https://api.example.com',
      clock,
      failuresPerIp: unlimited,
      failuresPerKey: unlimited,
    });
    const basic = (id, secret) => ({
      method: 'GET',
      url: '/v1/orders',
      headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
      remoteAddress: '127.0.0.1',
      secure: false,
    });
    const oauth1 = (id, secret) => ({
      method: 'GET',
      url: '/v1/orders',
      headers: {
        authorization: signOAuth1({
          method: 'GET',
          url: 'https://api.example.com/v1/orders',
          consumerKey: id,
          consumerSecret: secret,
          nonce: 'timing',
          timestamp: clock.now() / 1000,
        }).authorization,
      },
      remoteAddress: '127.0.0.1',
      secure: false,
    });
    const pairs = [
      ['Basic', basic(key.id, stranger.keySecret), basic(stranger.keyId, stranger.keySecret), 'key_unknown'],
      [
        'OAuth 1.0a',
        oauth1(key.id, stranger.keySecret),
        oauth1(stranger.keyId, stranger.keySecret),
        'signature_invalid',
      ],
    ];
    let missed = 0;
    console.log(
      `verifier timing — unknown key id vs wrong secret, ${rounds} interleaved rounds of ${timeMs} ms per task\n`,
    );
    for (const [name, wrongSecret, unknownId, code] of pairs) {
      for (const req of [wrongSecret, unknownId]) {
        const outcome = await verifier.verify(req);
        if (outcome.ok || outcome.code !== code)
          throw new Error(`${name}: expected ${code}, got ${JSON.stringify(outcome)}`);
      }
      const ratios = [];
      for (let round = 0; round < rounds; round++) {
        const bench = new Bench({ time: timeMs, warmupTime: 100 });
        const tasks = [
          ['wrong', () => verifier.verify(wrongSecret)],
          ['unknown', () => verifier.verify(unknownId)],
        ];
        if (round % 2) tasks.reverse();
        for (const [task, fn] of tasks) bench.add(task, fn);
        await bench.warmup();
        await bench.run();
        const hz = Object.fromEntries(bench.tasks.map((t) => [t.name, t.result?.hz ?? 0]));
        ratios.push(hz.unknown / hz.wrong);
        if (round === rounds - 1) {
          console.log(
            `${name}: wrong secret ${fmt(hz.wrong)} verifications/s, unknown id ${fmt(hz.unknown)}/s (last round)`,
          );
        }
      }
      const ratio = median(ratios);
      const ok = ratio >= BAND[0] && ratio <= BAND[1];
      if (!ok) missed++;
      console.log(
        `  ratio unknown/wrong ${ratio.toFixed(2)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')}), target ${BAND[0]}–${BAND[1]}: ${ok ? 'met' : 'MISSED'}\n`,
      );
    }
    return missed;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
