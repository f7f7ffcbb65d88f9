// Issue 16, finding 11: the server's own timeouts. A client that trickles its headers a byte at
// a time, or sends nothing at all, is answered 408 and disconnected within the configured headers
// timeout (plus Node's check interval); an idle keep-alive connection is closed after its
// timeout; a connection serves at most maxRequestsPerSocket requests. On the old code (Node's
// defaults: 60 s for headers, checked every 30 s; no request cap) the first test fails.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Opens a raw connection to the test server. */
async function open(t: TestServer): Promise<{ socket: Socket; closed: Promise<string> }> {
  const { port } = new URL(t.url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  return { socket, closed };
}

describe('server timeouts', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', {
      headersTimeoutSeconds: 1,
      requestTimeoutSeconds: 2,
      keepAliveTimeoutSeconds: 1,
      maxRequestsPerSocket: 3,
    });
  });
  afterAll(() => t.close());

  it('disconnects a client that sends its headers a byte at a time, within the headers timeout', async () => {
    const { socket, closed } = await open(t);
    const started = Date.now();
    let done = false;
    void closed.then(() => {
      done = true;
    });
    const head = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
    socket.write(head);
    // A byte every 100 ms, for at most 5 s: the server must hang up long before the loop ends.
    for (let i = 0; i < 50 && !done; i++) {
      socket.write('a');
      await new Promise((r) => setTimeout(r, 100));
    }
    const elapsed = Date.now() - started;
    socket.destroy();
    expect(done).toBe(true);
    // 1 s of headers timeout, checked every 250 ms, with room for a slow machine.
    expect(elapsed).toBeLessThan(3000);
    expect(await closed).toMatch(/^HTTP\/1\.1 408 /);
  }, 10_000);

  it('disconnects a client that connects and sends nothing', async () => {
    const { socket, closed } = await open(t);
    const started = Date.now();
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(r, 5000, 'open'))]);
    socket.destroy();
    expect(outcome).toBe('closed');
    expect(Date.now() - started).toBeLessThan(3000);
  }, 10_000);

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const { socket, closed } = await open(t);
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const started = Date.now();
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(r, 5000, 'open'))]);
    socket.destroy();
    expect(outcome).toBe('closed');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await closed).toMatch(/^HTTP\/1\.1 200 /);
  }, 10_000);

  it('serves at most maxRequestsPerSocket requests on one connection', async () => {
    const { socket, closed } = await open(t);
    let received = '';
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
    });
    // One request at a time, each after the previous answer, while the connection stays open.
    for (let i = 1; i <= 5 && !socket.destroyed && socket.readyState === 'open'; i++) {
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      for (let wait = 0; wait < 50 && (received.match(/HTTP\/1\.1 \d{3} /g) ?? []).length < i; wait++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(r, 5000, 'open'))]);
    socket.destroy();
    expect(outcome).toBe('closed');
    // Three answers (the third says Connection: close); a request sent before the close is seen
    // is answered 503 by Node, never served.
    const statuses = (received.match(/HTTP\/1\.1 \d{3} /g) ?? []).map((line) => line.slice(9, 12));
    expect(statuses.slice(0, 3)).toEqual(['200', '200', '200']);
    for (const status of statuses.slice(3)) expect(status).toBe('503');
    expect(received).toMatch(/^connection: close\r$/im);
  }, 10_000);
});

describe('timeout settings', () => {
  it('has safe defaults', () => {
    const c = loadConfig({ env: {}, cwd: '/' });
    expect(c).toMatchObject({
      headersTimeoutSeconds: 10,
      requestTimeoutSeconds: 30,
      keepAliveTimeoutSeconds: 5,
      maxRequestsPerSocket: 1000,
    });
  });

  it('reads them from the environment, durations included', () => {
    const c = loadConfig({
      env: {
        KEYWARD_HEADERS_TIMEOUT: '5s',
        KEYWARD_REQUEST_TIMEOUT: '1m',
        KEYWARD_KEEP_ALIVE_TIMEOUT: '65',
        KEYWARD_MAX_REQUESTS_PER_SOCKET: '0',
      },
      cwd: '/',
    });
    expect(c).toMatchObject({
      headersTimeoutSeconds: 5,
      requestTimeoutSeconds: 60,
      keepAliveTimeoutSeconds: 65,
      maxRequestsPerSocket: 0,
    });
  });

  it('refuses a headers timeout longer than the request timeout, naming the setting', () => {
    expect(() => loadConfig({ env: { KEYWARD_HEADERS_TIMEOUT: '60' }, cwd: '/' })).toThrow(
      /^KEYWARD_HEADERS_TIMEOUT: must be at most requestTimeoutSeconds$/,
    );
    expect(() => loadConfig({ env: { KEYWARD_HEADERS_TIMEOUT: '0' }, cwd: '/' })).toThrow(/KEYWARD_HEADERS_TIMEOUT/);
  });
});
