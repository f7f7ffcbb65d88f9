// A real Keyward server on a loopback port, on a fresh database of either engine, for the
// end-to-end suites. Logs go to a capture the test can scan.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeywardConfigInput, loadConfig } from '../../src/config/index.js';
import { createServer, type KeywardServer } from '../../src/http/app.js';
import { openStore } from '../../src/store/index.js';
import { createPostgresDatabase, type Engine } from './databases.js';

export interface TestServer {
  /** `http://127.0.0.1:<port>` (or https with TLS). */
  url: string;
  server: KeywardServer;
  /** Every log line the server wrote, as JSON text. */
  logs: string[];
  /** The test's clock, in milliseconds; starts at the real time. */
  clock: { t: number };
  close(): Promise<void>;
}

/**
 * Starts a server on an ephemeral loopback port. `config` is applied over the defaults (the
 * public URL is set to the real port once it is known, unless given). The clock is real unless
 * `frozen` is set, when the test moves `clock.t`.
 */
export async function startTestServer(
  engine: Engine = 'sqlite',
  config: KeywardConfigInput = {},
  options: { frozen?: boolean } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-server-'));
  const pg = engine === 'postgres' ? await createPostgresDatabase() : undefined;
  const clock = { t: Date.now() };
  const now = options.frozen === true ? () => clock.t : () => Date.now();
  const logs: string[] = [];
  const stream = { write: (line: string) => void logs.push(line) };
  const store = await openStore({ dataDir: dir, databaseUrl: pg?.url, clock: { now }, usageFlushMs: 0 });
  // Port 0 first to learn the real port; the public URL must be known before the app is built.
  const { createServer: netServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const probe = netServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
  const resolved = loadConfig({
    env: {},
    cwd: dir,
    overrides: { dataDir: dir, port, host: '127.0.0.1', logLevel: 'info', ...config },
  });
  const server = await createServer(resolved, { store, clock: { now }, logger: { level: 'info', stream } });
  await server.app.listen({ port, host: resolved.host });
  const scheme = resolved.tls === undefined ? 'http' : 'https';
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    server,
    logs,
    clock,
    async close() {
      await server.close();
      await store.close();
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A parsed JSON body, read field by field in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON; a wrong field fails the test
export type Json = any;

/** The JSON body of a response, typed for assertions. */
export function jsonOf(res: Response): Promise<Json> {
  return res.json() as Promise<Json>;
}
