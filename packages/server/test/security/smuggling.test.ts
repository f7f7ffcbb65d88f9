// Attack suite, cases that held on 5713fb4 (issue 16): request smuggling shapes over raw sockets,
// and body limits. Node's HTTP parser (llhttp, strict) refuses ambiguous framing: both
// Content-Length and Transfer-Encoding, duplicated or malformed Content-Length, obs-fold,
// unknown transfer codings. Each is one 400 (or 501) and the connection closes, so the request
// hidden behind it is never processed. Bodies over the limit are 413 on every route, whether
// announced by Content-Length or streamed chunked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { call, code, rawExchange, UNLIMITED } from './attack-kit.js';

const LIMIT = 4096;
let t: TestServer;
let host: string;
beforeAll(async () => {
  t = await startTestServer('sqlite', { ...UNLIMITED, bodyLimitBytes: LIMIT });
  host = new URL(t.url).host;
});
afterAll(async () => {
  await t?.close();
});

/** A request whose framing hides a second one; GET /healthz would answer 200 if it ran. */
const HIDDEN = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

describe('smuggling shapes (raw sockets)', () => {
  const shapes: [string, (h: string) => string][] = [
    [
      'CL.TE: Content-Length and Transfer-Encoding',
      (h) =>
        `POST /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}`,
    ],
    [
      'TE.CL: Transfer-Encoding first, then Content-Length',
      (h) =>
        `POST /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: chunked\r\nContent-Length: ${HIDDEN.length + 5}\r\n\r\n0\r\n\r\n${HIDDEN}`,
    ],
    [
      'two different Content-Length headers',
      (h) =>
        `POST /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 0\r\nContent-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}`,
    ],
    [
      'one Content-Length with two values',
      (h) => `POST /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 0, ${HIDDEN.length}\r\n\r\n${HIDDEN}`,
    ],
    [
      'Content-Length with a sign',
      (h) => `POST /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nContent-Length: +${HIDDEN.length}\r\n\r\n${HIDDEN}`,
    ],
    [
      'space before the colon',
      (h) => `POST /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nContent-Length : ${HIDDEN.length}\r\n\r\n${HIDDEN}`,
    ],
    [
      'obs-fold continuation line',
      (h) =>
        `GET /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nX-Folded: a\r\n b\r\nAuthorization: Basic\r\n x\r\n\r\n${HIDDEN}`,
    ],
    [
      'obfuscated Transfer-Encoding (chunked, identity)',
      (h) =>
        `POST /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: chunked, identity\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${HIDDEN}`,
    ],
    [
      'Transfer-Encoding with a tab and junk',
      (h) =>
        `POST /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding:\txchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${HIDDEN}`,
    ],
    [
      'invalid chunk size',
      (h) =>
        `POST /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${HIDDEN}`,
    ],
    ['NUL in a header value', (h) => `GET /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nX-A: a\u0000b\r\n\r\n${HIDDEN}`],
    ['bare CR in a header', (h) => `GET /v1/whoami HTTP/1.1\r\nHost: ${h}\r\nX-A: a\rb\r\n\r\n${HIDDEN}`],
  ];

  it.each(shapes)('%s: one 4xx, connection closed, the hidden request never runs', async (_label, build) => {
    const before = t.logs.filter((l) => l.includes('/healthz')).length;
    const { statuses, closed } = await rawExchange(t, build(host));
    expect(statuses).toHaveLength(1);
    // 415 when the server answered (no Content-Type) before it read the malformed body: the
    // connection is closed then, and the malformed rest is never answered or run.
    expect([400, 415, 501]).toContain(statuses[0]);
    expect(closed).toBe(true);
    expect(t.logs.filter((l) => l.includes('/healthz')).length).toBe(before);
  });

  it('a well-framed pipeline is served in order (the control: the detector sees a second response)', async () => {
    const body = 'a=1';
    const request = `POST /v1/whoami HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}${HIDDEN.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`;
    const { statuses } = await rawExchange(t, request);
    expect(statuses).toEqual([401, 200]);
  });
});

describe('body limits', () => {
  const big = 'x'.repeat(LIMIT + 1);
  const cases: [string, string, string, string][] = [
    ['POST', '/v1/whoami', 'application/json', JSON.stringify({ a: big })],
    ['POST', '/v1/whoami', 'application/x-www-form-urlencoded', `a=${big}`],
    ['POST', '/v1/accounts', 'application/json', JSON.stringify({ email: 'a@example.com', password: big })],
    ['POST', '/v1/sessions', 'application/json', JSON.stringify({ email: 'a@example.com', password: big })],
    ['POST', '/oauth/token', 'application/x-www-form-urlencoded', `grant_type=client_credentials&x=${big}`],
    ['POST', '/oauth/introspect', 'application/x-www-form-urlencoded', `token=${big}`],
    ['POST', '/v1/verify', 'application/json', JSON.stringify({ body: big })],
  ];

  it.each(cases)('%s %s (%s) over the limit: 413 body_too_large', async (method, path, type, body) => {
    const answer = await call(t, path, { method, headers: { 'content-type': type }, body });
    expect(answer.status, answer.text).toBe(413);
    expect(code(answer) ?? answer.body?.error).toBeDefined();
    if (code(answer) !== undefined) expect(code(answer)).toBe('body_too_large');
  });

  it('a large body of a type no route parses is 413 or 415, never read into a handler', async () => {
    for (const type of ['application/octet-stream', 'text/plain', 'multipart/form-data; boundary=x']) {
      const answer = await call(t, '/v1/whoami', { method: 'POST', headers: { 'content-type': type }, body: big });
      expect([413, 415], type).toContain(answer.status);
      expect(['body_too_large', 'media_type_unsupported']).toContain(code(answer));
    }
  });

  it('a chunked body that grows past the limit: 413, not read to the end', async () => {
    const chunk = 'y'.repeat(1024);
    let request = `POST /v1/whoami HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    for (let i = 0; i < 8; i++) request += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    request += '0\r\n\r\n';
    const { statuses } = await rawExchange(t, request);
    expect(statuses[0]).toBe(413);
  });

  it('a Content-Length over the limit is refused before the body arrives', async () => {
    const request = `POST /v1/whoami HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{`;
    const { statuses } = await rawExchange(t, request, 1000);
    expect(statuses).toEqual([413]);
  });
});
