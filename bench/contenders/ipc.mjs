// What every contender of bench/table.mjs shares: listen on 127.0.0.1 (a port the OS picks),
// tell the parent over IPC, and exit on `{ type: 'close' }` or when the parent goes away.
//
// A contender is `fork`ed by table.mjs, so that the load generator (wrk, another process) and
// every other contender stay off its event loop, and its peak resident set is its own.
import { createServer as netServer } from 'node:net';

/** A free port on 127.0.0.1, for servers that must know their public URL before they listen. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = netServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

/**
 * Reports `{ type: 'ready', ...info }` to the parent and runs `close` (then exits 0) when the
 * parent asks or disconnects.
 */
export function ready(info, close) {
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    try {
      await close();
    } finally {
      process.exit(0);
    }
  };
  process.on('message', (message) => {
    if (message?.type === 'close') stop();
  });
  process.on('disconnect', stop);
  process.send({ type: 'ready', ...info });
}
