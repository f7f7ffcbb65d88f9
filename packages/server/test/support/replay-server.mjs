// The Keyward server, BUILT (dist/), for test/replay-crash.test.ts, which kills it with SIGKILL:
// `node replay-server.mjs <data dir> <public URL>`. Listens on a free loopback port and prints
// `ready <port>` once it accepts requests. Clients sign against the fixed public URL, so the
// restarted server (on another port) checks the same signatures.
import { createServer, loadConfig } from '../../dist/entry/server.js';

const [dataDir, publicUrl] = process.argv.slice(2);
const config = loadConfig({
  env: {},
  cwd: dataDir,
  overrides: { dataDir, port: 0, host: '127.0.0.1', publicUrl, logLevel: 'warn' },
});
const server = await createServer(config, { logger: false });
await server.app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`ready ${server.app.server.address().port}\n`);
