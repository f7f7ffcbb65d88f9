// Stores on fresh databases, for the suites that run on both engines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/index.js';
import { createPostgresDatabase, type Engine } from './databases.js';

/** A store on a fresh database of the given engine, with a clock the test moves. */
export async function freshStore(
  engine: Engine,
): Promise<{ store: Store; clock: { t: number }; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-store-'));
  const clock = { t: 1_800_000_000_000 };
  const pg = engine === 'postgres' ? await createPostgresDatabase() : undefined;
  const store = await openStore({ dataDir: dir, databaseUrl: pg?.url, clock: { now: () => clock.t } });
  return {
    store,
    clock,
    async cleanup() {
      await store.close();
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Row counts of the tables a failed call must not touch, to prove it wrote nothing. */
export async function rowCounts(store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['accounts', 'api_keys', 'key_secrets', 'audit_events'] as const) {
    const row = await store.context.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    out[table] = Number(row.n);
  }
  return out;
}
