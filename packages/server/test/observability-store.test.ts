// Verification outcomes per key and hour (store/outcomes.ts) on both engines: batched and written
// only on flush, counted against existing keys only, bounded in memory under a flood of invented
// ids, with first/last seen and a capped set of addresses, and deleted with the key's account.
import { formatKeywardString, identify } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_ADDRESSES, MAX_PENDING_KEYED_REFUSALS, type Store } from '../src/store/index.js';
import { ENGINES } from './support/databases.js';
import { freshStore } from './support/stores.js';

const HOUR = 3_600_000;
const actor = { type: 'system' as const };
const invented = (i: number) => `inv${String(i).padStart(19, '0')}`;

describe.each(ENGINES)('outcome counters on %s', (engine) => {
  let store: Store;
  let clock: { t: number };
  let cleanup: () => Promise<void>;
  let rawId: string;
  let keyId: string;

  beforeEach(async () => {
    ({ store, clock, cleanup } = await freshStore(engine));
    const made = await store.accounts.create({ email: 'ada@example.com', password: 'correct horse battery' }, actor);
    if (!made.ok) throw new Error(made.code);
    const key = await store.keys.create('ada@example.com', { name: 'k' }, actor);
    if (!key.ok) throw new Error(key.code);
    keyId = key.value.id;
    rawId = identify(keyId)?.id as string;
  });
  afterEach(() => cleanup());

  it('counts in memory, writes on flush, and adds up across flushes by hour, method, outcome and code', async () => {
    const start = clock.t - (clock.t % HOUR);
    store.outcomes.record({ rawKeyId: rawId, method: 'basic', outcome: 'accepted' });
    store.outcomes.record({ rawKeyId: rawId, method: 'basic', outcome: 'accepted' });
    store.outcomes.record({
      rawKeyId: rawId,
      method: 'oauth1',
      outcome: 'refused',
      code: 'signature_invalid',
      address: '192.0.2.1',
    });
    expect(store.outcomes.size).toBe(2);
    expect(await store.outcomes.keyHours(rawId, start, start + HOUR)).toEqual([]);
    await store.outcomes.flush();
    expect(store.outcomes.size).toBe(0);
    const first = clock.t;
    clock.t += 1000;
    store.outcomes.record({
      rawKeyId: rawId,
      method: 'oauth1',
      outcome: 'refused',
      code: 'signature_invalid',
      address: '192.0.2.2',
    });
    clock.t = start + HOUR + 5;
    store.outcomes.record({ rawKeyId: rawId, method: 'basic', outcome: 'accepted' });
    await store.outcomes.flush();
    expect(await store.outcomes.keyHours(rawId, start, start + 2 * HOUR)).toEqual([
      { hour: start, method: 'basic', outcome: 'accepted', code: null, count: 2 },
      { hour: start, method: 'oauth1', outcome: 'refused', code: 'signature_invalid', count: 2 },
      { hour: start + HOUR, method: 'basic', outcome: 'accepted', code: null, count: 1 },
    ]);
    expect(await store.outcomes.refusals({ rawKeyId: rawId, limit: 10 })).toEqual([
      {
        keyId,
        hour: start,
        method: 'oauth1',
        code: 'signature_invalid',
        count: 2,
        firstSeen: first,
        lastSeen: first + 1000,
        addresses: ['192.0.2.1', '192.0.2.2'],
      },
    ]);
  });

  it(`keeps at most ${MAX_ADDRESSES} distinct addresses per row, across flushes`, async () => {
    for (let i = 0; i < 8; i++)
      store.outcomes.record({
        rawKeyId: rawId,
        method: 'basic',
        outcome: 'refused',
        code: 'key_unknown',
        address: `198.51.100.${i % 4}`,
      });
    await store.outcomes.flush();
    for (let i = 0; i < 20; i++)
      store.outcomes.record({
        rawKeyId: rawId,
        method: 'basic',
        outcome: 'refused',
        code: 'key_unknown',
        address: `203.0.113.${i}`,
      });
    await store.outcomes.flush();
    const [row] = await store.outcomes.refusals({ rawKeyId: rawId, limit: 10 });
    expect(row?.count).toBe(28);
    expect(row?.addresses).toHaveLength(MAX_ADDRESSES);
    expect(row?.addresses.slice(0, 4)).toEqual(['198.51.100.0', '198.51.100.1', '198.51.100.2', '198.51.100.3']);
    expect(new Set(row?.addresses).size).toBe(MAX_ADDRESSES);
  });

  it('writes no row for a key id that no key has: such refusals are counted without a key', async () => {
    const start = clock.t - (clock.t % HOUR);
    for (let i = 0; i < 3; i++)
      store.outcomes.record({
        rawKeyId: invented(i),
        method: 'basic',
        outcome: 'refused',
        code: 'key_unknown',
        address: '192.0.2.9',
      });
    store.outcomes.record({ method: 'none', outcome: 'refused', code: 'credentials_missing', address: '192.0.2.9' });
    store.outcomes.record({ method: 'session', outcome: 'accepted' });
    await store.outcomes.flush();
    const keyed = await store.context.db.selectFrom('usage_outcomes').selectAll().execute();
    expect(keyed).toEqual([]);
    expect(await store.outcomes.allHours(start, start + HOUR)).toEqual([
      { hour: start, method: 'basic', outcome: 'refused', code: 'key_unknown', count: 3 },
      { hour: start, method: 'none', outcome: 'refused', code: 'credentials_missing', count: 1 },
      { hour: start, method: 'session', outcome: 'accepted', code: null, count: 1 },
    ]);
    const all = await store.outcomes.refusals({ limit: 10 });
    expect(all.map((r) => [r.keyId, r.code, r.count, r.addresses])).toEqual([
      [null, 'key_unknown', 3, ['192.0.2.9']],
      [null, 'credentials_missing', 1, ['192.0.2.9']],
    ]);
  });

  it('holds a bounded batch under a flood of invented key ids, and still counts every refusal', async () => {
    const flood = MAX_PENDING_KEYED_REFUSALS + 500;
    for (let i = 0; i < flood; i++)
      store.outcomes.record({
        rawKeyId: invented(i),
        method: 'basic',
        outcome: 'refused',
        code: 'key_unknown',
        address: '192.0.2.7',
      });
    // The real key's refusals and uses, after the flood, are still its own.
    store.outcomes.record({ rawKeyId: rawId, method: 'basic', outcome: 'accepted' });
    store.outcomes.record({ rawKeyId: rawId, method: 'basic', outcome: 'refused', code: 'key_unknown' });
    expect(store.outcomes.size).toBeLessThanOrEqual(MAX_PENDING_KEYED_REFUSALS + 2);
    await store.outcomes.flush();
    const start = clock.t - (clock.t % HOUR);
    const all = await store.outcomes.allHours(start, start + HOUR);
    expect(all).toEqual([
      { hour: start, method: 'basic', outcome: 'accepted', code: null, count: 1 },
      { hour: start, method: 'basic', outcome: 'refused', code: 'key_unknown', count: flood + 1 },
    ]);
    // The real key's refusal went to the unattributed row too (it came after the batch was full).
    expect(await store.outcomes.keyHours(rawId, start, start + HOUR)).toEqual([
      { hour: start, method: 'basic', outcome: 'accepted', code: null, count: 1 },
    ]);
  }, 60_000);

  it('lists refusals newest first, by since and limit, and deletes a key’s rows with its account', async () => {
    const start = clock.t - (clock.t % HOUR);
    store.outcomes.record({ rawKeyId: rawId, method: 'basic', outcome: 'refused', code: 'key_unknown' });
    clock.t = start + HOUR + 10;
    store.outcomes.record({ method: 'none', outcome: 'refused', code: 'credentials_missing' });
    clock.t += 5;
    store.outcomes.record({ rawKeyId: rawId, method: 'api-key', outcome: 'refused', code: 'key_revoked' });
    await store.outcomes.flush();
    const all = await store.outcomes.refusals({ limit: 10 });
    expect(all.map((r) => [r.hour, r.keyId, r.code])).toEqual([
      [start + HOUR, keyId, 'key_revoked'],
      [start + HOUR, null, 'credentials_missing'],
      [start, keyId, 'key_unknown'],
    ]);
    expect((await store.outcomes.refusals({ limit: 1 })).map((r) => r.code)).toEqual(['key_revoked']);
    expect((await store.outcomes.refusals({ since: start + HOUR, limit: 10 })).map((r) => r.code)).toEqual([
      'key_revoked',
      'credentials_missing',
    ]);
    expect(formatKeywardString('key_id', { id: rawId })).toBe(keyId);

    const deleted = await store.accounts.delete('ada@example.com', actor);
    expect(deleted.ok).toBe(true);
    expect(await store.context.db.selectFrom('usage_outcomes').selectAll().execute()).toEqual([]);
    expect((await store.outcomes.refusals({ limit: 10 })).map((r) => r.keyId)).toEqual([null]);
  });

  it('puts a batch back when the write fails, and writes it on the next flush', async () => {
    store.outcomes.record({ rawKeyId: rawId, method: 'basic', outcome: 'accepted' });
    await store.context.db.schema.alterTable('usage_outcomes').renameTo('usage_outcomes_away').execute();
    await expect(store.outcomes.flush()).rejects.toThrow();
    expect(store.outcomes.size).toBe(1);
    store.outcomes.record({ rawKeyId: rawId, method: 'basic', outcome: 'accepted' });
    await store.context.db.schema.alterTable('usage_outcomes_away').renameTo('usage_outcomes').execute();
    await store.outcomes.flush();
    const start = clock.t - (clock.t % HOUR);
    expect(await store.outcomes.keyHours(rawId, start, start + HOUR)).toEqual([
      { hour: start, method: 'basic', outcome: 'accepted', code: null, count: 2 },
    ]);
  });

  it('usage counts, too, are written on the flush after a failed one', async () => {
    store.usage.record(rawId);
    await store.context.db.schema.alterTable('usage_hourly').renameTo('usage_hourly_away').execute();
    await expect(store.usage.flush()).rejects.toThrow();
    await store.context.db.schema.alterTable('usage_hourly_away').renameTo('usage_hourly').execute();
    await store.usage.flush();
    expect((await store.keys.get(keyId))?.useCount).toBe(1);
  });
});
