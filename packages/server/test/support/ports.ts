import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports for servers a test starts in another process (nginx, Caddy, Redis, `keyward serve`), which
 * must be named before the process binds them.
 *
 * A port picked by `listen(0)` and released again is not reserved: the kernel hands out ports
 * from `ip_local_port_range` to every `listen(0)` and every outgoing connection, so another
 * suite's server could take it before the child binds it. That was seen: nginx retried its bind
 * while a test's HTTPS request reached a plain-HTTP server of another suite. The ports here come
 * from below that range, where the kernel never allocates, in a block of its own per Vitest
 * worker (`VITEST_POOL_ID`), so no other test process picks the same one; each is checked free
 * by binding it.
 */

const BLOCK = 1_000;
const WORKER_BLOCKS = 12;

/** The lowest port the kernel allocates on its own (`32768` unless the machine changed it). */
function kernelRangeLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const value = Number(low);
    return Number.isInteger(value) && value > 1024 ? value : 32_768;
  } catch {
    return 32_768;
  }
}

const base = Math.max(1_024, kernelRangeLow() - WORKER_BLOCKS * BLOCK);
const worker = Number(process.env.VITEST_POOL_ID ?? 0) % WORKER_BLOCKS;
const first = base + worker * BLOCK;
// A random start, so that files run one after another in the same worker do not reuse the ports
// their predecessors' children may still be releasing.
let next = Math.floor(Math.random() * BLOCK);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A loopback port that is free now and that no other test worker will be given. */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < BLOCK; tried++) {
    const port = first + (next++ % BLOCK);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${first}–${first + BLOCK - 1}`);
}
