/**
 * `createClient(...)`: a `fetch` that calls one Keyward-protected API with any method Keyward
 * verifies, plus JSON helpers.
 *
 * @packageDocumentation
 */

import type { RandomBytes } from '@keyward/core';
import { type Auth, assertSafeTransport, checkAuth, sendsSecret } from './auth.js';
import { authorizerFor, tokenUrlOf } from './authorizers.js';
import { errorFromResponse, KeywardError } from './errors.js';
import { prepareRequest, resolveUrl } from './request.js';

/** What {@link createClient} takes. */
export interface ClientOptions {
  /**
   * The API's base URL (`https://api.example.com`, or with a path prefix). Requests name a path
   * under it, or an absolute URL of the same origin; credentials never go anywhere else.
   */
  readonly baseUrl: string | URL;
  readonly auth: Auth;
  /** The `fetch` to send with. Default the global one (Node 20's undici). */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** The local clock, in milliseconds. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
  /** Random bytes for OAuth 1.0a nonces. Default `crypto.randomBytes`. */
  readonly random?: RandomBytes | undefined;
}

/** Query parameters for the JSON helpers; arrays repeat the name (`a=1&a=2`). */
export type Query =
  | URLSearchParams
  | Readonly<Record<string, string | number | boolean | readonly (string | number | boolean)[] | undefined>>;

/** Options of the JSON helpers. */
export interface RequestOptions {
  readonly query?: Query | undefined;
  readonly headers?: ConstructorParameters<typeof Headers>[0] | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * A `fetch`-compatible function bound to one API and one credential, with JSON helpers.
 *
 * Calling it like `fetch` resolves to the `Response` whatever its status (after at most one
 * transparent retry: a clock correction for OAuth 1.0a, a new access token for client
 * credentials). The helpers resolve to the parsed JSON and reject with a {@link KeywardError}
 * on any status that is not 2xx.
 *
 * Bodies are read into memory before sending (OAuth 1.0a signs form parameters and hashes other
 * bodies, and a retry sends the same bytes), so stream very large uploads another way.
 */
export interface KeywardClient {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** `GET path` → parsed JSON. */
  get<T = unknown>(path: string, options?: RequestOptions): Promise<T>;
  /**
   * `POST path` with `body` as JSON (a `URLSearchParams` body is sent form-encoded instead) →
   * parsed JSON.
   */
  post<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  /** `PUT path`, body as for {@link KeywardClient.post}. */
  put<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  /** `DELETE path` → parsed JSON, or undefined for an empty response. */
  delete<T = unknown>(path: string, options?: RequestOptions): Promise<T>;
  /** The base URL requests are resolved against. */
  readonly baseUrl: URL;
  /** How far the server's clock is ahead of the local one, as learned from timestamp refusals (OAuth 1.0a). */
  readonly clockOffsetMs: number;
}

function withQuery(url: URL, query: Query | undefined): URL {
  if (query === undefined) return url;
  const entries = query instanceof URLSearchParams ? [...query] : Object.entries(query);
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
  }
  return url;
}

async function parseJson<T>(response: Response): Promise<T> {
  if (!response.ok) throw await errorFromResponse(response);
  const text = await response.text();
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new KeywardError({
      code: 'unexpected_response',
      status: response.status,
      message: `HTTP ${response.status} with a body that is not JSON`,
      requestId: response.headers.get('x-request-id') ?? undefined,
    });
  }
}

/**
 * Creates a client for one API and one credential (see {@link Auth} for the methods). Node 20
 * and later; in a browser, only session credentials or an API key meant to be public belong
 * (see the notes on {@link Auth}). Throws `TypeError` on a malformed credential, and when a
 * method that sends a secret would send it over plain HTTP to anything but loopback.
 *
 * ```ts
 * const api = createClient({
 *   baseUrl: 'https://api.example.com',
 *   auth: { type: 'oauth1', consumerKey: process.env.KEY_ID!, consumerSecret: process.env.KEY_SECRET! },
 * });
 * const me = await api.get<{ principal: { accountId: string } }>('/v1/whoami');
 * const res = await api('/v1/orders', { method: 'POST', body: new URLSearchParams({ sku: 'a1' }) });
 * ```
 */
export function createClient(options: ClientOptions): KeywardClient {
  const baseUrl = new URL(options.baseUrl);
  if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
    throw new TypeError('baseUrl must be an http: or https: URL');
  }
  baseUrl.search = '';
  baseUrl.hash = '';
  const { auth } = options;
  checkAuth(auth);
  if (sendsSecret(auth)) assertSafeTransport(baseUrl, 'the credential');
  if (auth.type === 'client-credentials') assertSafeTransport(tokenUrlOf(auth, baseUrl), 'the client secret');

  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const authorizer = authorizerFor(auth, { baseUrl, fetch: fetchImpl, now, random: options.random });

  async function attempt(prepared: Awaited<ReturnType<typeof prepareRequest>>) {
    const headers = new Headers(prepared.headers);
    const used = await authorizer.authorize(prepared, headers);
    const response = await fetchImpl(prepared.url.href, {
      ...prepared.init,
      method: prepared.method,
      headers,
      body: prepared.body,
    });
    return { response, used };
  }

  const client = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const prepared = await prepareRequest(baseUrl, input, init);
    const first = await attempt(prepared);
    if (first.response.status !== 401 || !(await authorizer.retryAfter401(first.response, first.used))) {
      return first.response;
    }
    // One retry only: a second refusal is the answer.
    await first.response.body?.cancel().catch(() => {});
    return (await attempt(prepared)).response;
  };

  async function json<T>(method: string, path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    const url = withQuery(resolveUrl(baseUrl, path), opts.query);
    const headers = new Headers(opts.headers);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    let payload: RequestInit['body'];
    if (body instanceof URLSearchParams) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const response = await client(url, { method, headers, body: payload, signal: opts.signal });
    return parseJson<T>(response);
  }

  return Object.defineProperties(client, {
    get: { value: <T>(path: string, opts?: RequestOptions) => json<T>('GET', path, undefined, opts) },
    post: { value: <T>(path: string, body?: unknown, opts?: RequestOptions) => json<T>('POST', path, body, opts) },
    put: { value: <T>(path: string, body?: unknown, opts?: RequestOptions) => json<T>('PUT', path, body, opts) },
    delete: { value: <T>(path: string, opts?: RequestOptions) => json<T>('DELETE', path, undefined, opts) },
    baseUrl: { get: () => new URL(baseUrl), enumerable: true },
    clockOffsetMs: { get: () => authorizer.clockOffsetMs, enumerable: true },
  }) as KeywardClient;
}
