// Helpers of the attack suite: OAuth 1.0a requests signed (or mis-signed) by hand, HTTP calls that
// return status and JSON, and raw sockets for request shapes fetch() refuses to send.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import {
  baseStringUri,
  computeSignature,
  formatOAuthHeader,
  type Param,
  percentEncode,
  signatureBaseString,
} from '@keyward/core';
import type { TestServer } from '../support/server.js';

/** A key to sign with: its public id and its secret. */
export interface SigningKey {
  id: string;
  secret: string;
}

/** A fresh nonce. */
export const nonce = (): string => randomBytes(12).toString('hex');

/** The server's clock, in whole seconds. */
export const seconds = (t: TestServer): number => Math.floor(t.server.context.clock.now() / 1000);

/**
 * The protocol parameters of a request, before signing: `overrides` replace or add `oauth_*`
 * parameters (a value of `undefined` removes one).
 */
export function protocolParams(
  t: TestServer,
  key: SigningKey,
  overrides: Record<string, string | undefined> = {},
): Param[] {
  const base: Record<string, string | undefined> = {
    oauth_consumer_key: key.id,
    oauth_nonce: nonce(),
    oauth_signature_method: 'HMAC-SHA256',
    oauth_timestamp: String(seconds(t)),
    oauth_version: '1.0',
    ...overrides,
  };
  return Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined);
}

/**
 * Signs a request by hand: the base string of `method`, `origin` + `path` and `params` (the
 * protocol ones, the query's and the form body's, as decoded name/value pairs), under the
 * key's secret. Returns the signature; the caller decides where the parameters go.
 */
export function sign(method: string, origin: string, path: string, params: readonly Param[], secret: string): string {
  const base = signatureBaseString(method, baseStringUri(origin, path), params);
  return computeSignature('HMAC-SHA256', base, secret, '');
}

/** An `Authorization: OAuth …` header of `oauth` plus its signature over `oauth` + `others`. */
export function oauthHeader(
  t: TestServer,
  key: SigningKey,
  method: string,
  path: string,
  options: { oauth?: Param[]; others?: Param[]; origin?: string } = {},
): string {
  const oauth = options.oauth ?? protocolParams(t, key);
  const signature = sign(
    method,
    options.origin ?? t.server.context.config.publicUrl,
    path,
    [...oauth, ...(options.others ?? [])],
    key.secret,
  );
  return formatOAuthHeader([...oauth, ['oauth_signature', signature]]);
}

/** An answer: status and the parsed JSON body (undefined when empty or not JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON; a wrong field fails the test
  body: any;
  text: string;
}

/** `fetch` relative to the server, answering status, headers and JSON. */
export async function call(t: TestServer, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${t.url}${path}`, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** The error code of an answer, or undefined. */
export const code = (a: Answer): string | undefined => a.body?.error?.code;

/** RFC 3986 encoding, as OAuth 1.0a wants it (re-exported for the tests' readability). */
export const rfc3986 = percentEncode;

/**
 * Sends raw bytes on a new TCP connection and collects everything the server writes until it
 * closes the connection or `waitMs` passes. The statuses of every response in the text are
 * returned in order, so a test can tell "one response" from "a smuggled second one".
 */
export function rawExchange(
  t: TestServer,
  bytes: string,
  waitMs = 1500,
): Promise<{ text: string; statuses: number[]; closed: boolean }> {
  const { hostname, port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ text, statuses, closed });
    };
    const timer = setTimeout(done, waitMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('close', () => {
      closed = true;
      done();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the server answered and closed is the end of the exchange, not a failure.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
        closed = true;
        done();
      } else reject(error);
    });
    socket.write(bytes, 'latin1');
  });
}

/**
 * An HTTP/1.1 request through node:http, which (unlike fetch) sends the `Host` header it is
 * given: for origin-spoofing cases.
 */
export async function rawHttp(
  t: TestServer,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  const { request } = await import('node:http');
  const { hostname, port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') out.set(name, value);
        }
        resolve({ status: res.statusCode ?? 0, headers: out, body: parsed, text });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Failure limits high enough that an attack test's many refusals (all from 127.0.0.1) are
 * answered as what they are, not 429: the limits have their own suites.
 */
export const UNLIMITED = {
  limits: {
    failuresPerIp: { limit: 1_000_000, windowSeconds: 60 },
    failuresPerKey: { limit: 1_000_000, windowSeconds: 60 },
  },
} as const;
