/**
 * What every adapter shares: turning a Node request into a {@link VerifyRequest}, and (from the
 * verifier's one refusal mapping) a refusal into status, headers and the one JSON error shape.
 *
 * @packageDocumentation
 */

import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Principal, VerifyRequest } from '../verify/types.js';

export { type ErrorBody, type RenderedRefusal, renderRefusal } from '../verify/refusals.js';

declare module 'node:http' {
  interface IncomingMessage {
    /** The verified principal, set by Keyward's middleware. */
    keyward?: Principal;
    /** Raw body bytes, when captured with `captureRawBody`. */
    rawBody?: Buffer;
  }
}

/** A Node request as the verifier sees it; `body` is the raw body when the caller has it. */
export function fromNodeRequest(req: IncomingMessage, body?: string | Uint8Array): VerifyRequest {
  return {
    method: req.method ?? 'GET',
    // Express and Connect strip the mount path from `url` inside mounted middleware; the
    // signature covers the path as the client sent it, which they keep in `originalUrl`.
    url: (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/',
    headers: req.headers,
    body,
    remoteAddress: req.socket.remoteAddress ?? '',
    secure: (req.socket as TLSSocket).encrypted === true,
  };
}

/**
 * A `verify` hook for body parsers (`express.json({ verify: captureRawBody })`,
 * `express.urlencoded({ verify: captureRawBody })`) that keeps the raw bytes, so OAuth 1.0a can
 * check form parameters and body hashes after the body was parsed.
 */
export function captureRawBody(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = buf;
}

/** The raw body an earlier middleware left on the request, if any. */
export function rawBodyOf(
  req: IncomingMessage & { rawBody?: unknown; body?: unknown },
): string | Uint8Array | undefined {
  if (req.rawBody instanceof Uint8Array || typeof req.rawBody === 'string') return req.rawBody;
  if (req.body instanceof Uint8Array || typeof req.body === 'string') return req.body;
  return undefined;
}
