/**
 * A request as the client signs and sends it: absolute URL, method, headers and the body as
 * bytes. The body is read once, whatever form it came in (string, `URLSearchParams`, `FormData`,
 * `Blob`, bytes, stream), because OAuth 1.0a signs form parameters and hashes other bodies, and a
 * retry (clock correction, token refresh) must send the same bytes again.
 *
 * @packageDocumentation
 */

/** A request ready to be authorized and sent. */
export interface PreparedRequest {
  /** The exact URL that is requested; OAuth 1.0a signs this (RFC 5849 §3.4.1.2). */
  readonly url: URL;
  readonly method: string;
  /** The caller's headers, plus `Content-Type` as the body type implies it. */
  readonly headers: Headers;
  /** The body as sent, or undefined for none. */
  readonly body: Uint8Array | undefined;
  /** What else the caller gave `fetch` (signal, redirect, dispatcher …), passed through. */
  readonly init: RequestInit;
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Resolves what the caller asked for against the base URL: a path (`/v1/whoami?x=1`) is appended
 * to the base URL's own path (so `https://host/api` + `/v1/x` is `https://host/api/v1/x`); an
 * absolute URL is taken as is but must have the base URL's origin, so that credentials never
 * go to another server. Throws `TypeError` otherwise.
 */
export function resolveUrl(baseUrl: URL, input: string | URL): URL {
  let url: URL;
  if (input instanceof URL || ABSOLUTE.test(input)) url = new URL(input);
  else {
    const prefix = baseUrl.pathname.endsWith('/') ? baseUrl.pathname.slice(0, -1) : baseUrl.pathname;
    const path = input.startsWith('/') || input.startsWith('?') || input === '' ? input : `/${input}`;
    url = new URL(`${baseUrl.origin}${prefix}${path}`);
  }
  if (url.origin !== baseUrl.origin) {
    throw new TypeError(`refusing to send credentials to ${url.origin}: the client is bound to ${baseUrl.origin}`);
  }
  url.hash = ''; // never sent (RFC 7230 §5.1), never signed
  return url;
}

/**
 * Builds a {@link PreparedRequest} from `fetch` arguments. Uses the platform's `Request` to
 * apply `fetch`'s own rules (method normalization, the `Content-Type` a body type implies,
 * no body on GET/HEAD), then reads the body into bytes.
 */
export async function prepareRequest(
  baseUrl: URL,
  input: string | URL | Request,
  init: RequestInit = {},
): Promise<PreparedRequest> {
  const url = input instanceof Request ? resolveUrl(baseUrl, input.url) : resolveUrl(baseUrl, input);
  const request = input instanceof Request ? new Request(input, init) : new Request(url, init);
  const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
  const { body: _body, headers: _headers, method: _method, ...rest } = init;
  return {
    url,
    method: request.method,
    headers: new Headers(request.headers),
    body,
    init: { ...rest, signal: request.signal, redirect: request.redirect },
  };
}
