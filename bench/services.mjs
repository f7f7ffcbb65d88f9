// The services the scale-out benchmarks run against, on loopback ports and temp directories of
// their own: PostgreSQL from Debian's packages (or BENCH_DATABASE_URL), Redis (redis-server),
// nginx. Each start resolves once the service answers; each returns its stop function.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function listening(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export async function until(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Where Debian's PostgreSQL binaries are, or undefined. */
function postgresBin() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const version = readdirSync(base).sort().at(-1);
  const bin = version === undefined ? undefined : join(base, version, 'bin');
  return bin !== undefined && existsSync(join(bin, 'initdb')) ? bin : undefined;
}

/**
 * A PostgreSQL server: BENCH_DATABASE_URL's, or a throwaway cluster of Debian's `postgresql`
 * package (run as the `postgres` user when this runs as root). Resolves `{ createDatabase(), stop() }`,
 * or undefined (with the reason printed) when neither is there.
 */
export async function startPostgres() {
  const given = process.env.BENCH_DATABASE_URL;
  let adminUrl;
  let stop = async () => {};
  if (given !== undefined && given !== '') adminUrl = given;
  else {
    const bin = postgresBin();
    if (bin === undefined) {
      console.log('  (no PostgreSQL: install Debian\'s "postgresql" or set BENCH_DATABASE_URL; rows skipped)\n');
      return undefined;
    }
    const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-pg-'));
    const asPostgres = process.getuid?.() === 0;
    const run = (cmd, args) =>
      asPostgres ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    if (asPostgres) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
    }
    const data = join(dir, 'data');
    const [initCmd, initArgs] = run('initdb', [
      '-D',
      data,
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '-U',
      'postgres',
    ]);
    execFileSync(initCmd, initArgs, { stdio: 'pipe' });
    const port = await freePort();
    const [cmd, args] = run('postgres', [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ]);
    const child = spawn(cmd, args, { stdio: 'ignore' });
    adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await until('PostgreSQL', async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.end();
      return true;
    });
    stop = async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await Promise.race([exited, sleep(10_000)]);
      rmSync(dir, { recursive: true, force: true });
    };
  }
  let n = 0;
  return {
    async createDatabase() {
      const name = `keyward_bench_${process.pid}_${n++}`;
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.query(`create database "${name}"`);
      await c.end();
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    stop,
  };
}

/** A Redis server without persistence; undefined (reason printed) when redis-server is absent. */
export async function startRedis() {
  const bin = process.env.BENCH_REDIS ?? '/usr/bin/redis-server';
  if (!existsSync(bin)) {
    console.log('  (no redis-server: install Debian\'s "redis-server"; Redis rows skipped)\n');
    return undefined;
  }
  const port = await freePort();
  const child = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  await until('Redis', () => listening(port));
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
