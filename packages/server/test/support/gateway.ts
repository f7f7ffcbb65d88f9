// What the gateway suites share: an upstream on loopback that echoes what it received (method,
// URL, headers, and the SHA-256 of the body, hashed as it streams), answers a minimal WebSocket
// echo (RFC 6455) on /ws, and never answers /hang; and a gateway on a test server's store.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeywardConfigInput, loadConfig } from '../../src/config/index.js';
import { createGateway, type GatewayOptions, type KeywardGateway } from '../../src/gateway/gateway.js';
import { loadRouteRules, type RouteRules } from '../../src/gateway/rules.js';
import type { Store } from '../../src/store/index.js';
import { AUTH_METHODS } from '../../src/verify/types.js';
import { freePort } from './ports.js';

/** What the upstream answers: what it received. */
export interface Echo {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  sha256: string;
  length: number;
  /** When the first body byte arrived (Date.now()), 0 without a body. */
  firstByteAt: number;
}

export interface Upstream {
  url: string;
  port: number;
  /** Requests the upstream received, in order. */
  seen: Echo[];
  close(): Promise<void>;
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The Sec-WebSocket-Accept of a key (RFC 6455 §4.2.2). */
export function wsAccept(key: string): string {
  return createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
}

/** One WebSocket frame (FIN, opcode, payload < 126 bytes), masked as a client sends it. */
export function wsFrame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  if (payload.length >= 126) throw new TypeError('short frames only');
  const key = Buffer.from([1, 2, 3, 4]);
  const head = Buffer.from([0x81, (mask ? 0x80 : 0) | payload.length]);
  if (!mask) return Buffer.concat([head, payload]);
  const masked = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] as number)));
  return Buffer.concat([head, key, masked]);
}

/** The text of one short frame, masked or not. */
export function wsText(frame: Buffer): string {
  const len = (frame[1] as number) & 0x7f;
  const masked = ((frame[1] as number) & 0x80) !== 0;
  if (!masked) return frame.subarray(2, 2 + len).toString();
  const key = frame.subarray(2, 6);
  return Buffer.from(frame.subarray(6, 6 + len).map((b, i) => b ^ (key[i % 4] as number))).toString();
}

/** Starts the echo upstream on an ephemeral loopback port. */
export async function startUpstream(): Promise<Upstream> {
  const seen: Echo[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    if ((req.url ?? '').startsWith('/hang')) {
      hanging.add(res);
      return;
    }
    const hash = createHash('sha256');
    let length = 0;
    let firstByteAt = 0;
    req.on('data', (chunk: Buffer) => {
      if (firstByteAt === 0) firstByteAt = Date.now();
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      const echo: Echo = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        sha256: hash.digest('hex'),
        length,
        firstByteAt,
      };
      seen.push(echo);
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end(JSON.stringify(echo));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req, socket: Socket) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      sha256: '',
      length: 0,
      firstByteAt: 0,
    });
    const key = String(req.headers['sec-websocket-key'] ?? '');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wsAccept(key)}\r\n\r\n`,
    );
    // Echo each text frame back, unmasked, as a server sends it.
    socket.on('data', (frame: Buffer) => socket.write(wsFrame(`echo: ${wsText(frame)}`, false)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    async close() {
      for (const res of hanging) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The README's routes file example, verbatim (the block after `<!-- gateway-routes -->`). */
export function readmeRoutes(): string {
  const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
  const match = /<!-- gateway-routes -->\n```json\n([\s\S]*?)```/.exec(readme);
  if (match === null) throw new Error('README has no gateway-routes block');
  return match[1] as string;
}

/** Writes rules text to a file and loads it as the CLI does. */
export function rulesFrom(text: string): { rules: RouteRules; file: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-routes-'));
  const file = join(dir, 'routes.json');
  writeFileSync(file, text);
  return {
    rules: loadRouteRules(file, AUTH_METHODS),
    file,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TestGateway {
  url: string;
  gateway: KeywardGateway;
  logs: string[];
  close(): Promise<void>;
}

/** A gateway on `store`, listening on loopback, its public URL its own address. */
export async function startTestGateway(
  store: Store,
  options: {
    upstream: string;
    rules?: RouteRules | undefined;
    config?: KeywardConfigInput | undefined;
    upstreamTimeoutMs?: number | undefined;
    shared?: GatewayOptions['shared'];
  },
): Promise<TestGateway> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'keyward-gateway-'));
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: { dataDir: dir, host: '127.0.0.1', gatewayPort: port, ...options.config },
  });
  const logs: string[] = [];
  const stream = { write: (line: string) => void logs.push(line) };
  const gateway = await createGateway(config, {
    upstream: options.upstream,
    rules: options.rules,
    store,
    upstreamTimeoutMs: options.upstreamTimeoutMs,
    shared: options.shared,
    logger: { level: 'info', stream },
  });
  await gateway.app.listen({ port, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${port}`,
    gateway,
    logs,
    async close() {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
