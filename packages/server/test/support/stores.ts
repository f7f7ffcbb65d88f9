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
