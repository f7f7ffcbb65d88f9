/**
 * The OAuth 1.0a signature base string (RFC 5849 §3.4.1): exactly one canonical string per
 * request, so that signer and verifier agree byte for byte.
 *
 * @packageDocumentation
 */

import { type Param, percentEncode } from '../encoding.js';

let lastOriginInput = '';
let lastOrigin = '';

/**
 * Normalizes a public origin for the base string URI (RFC 5849 §3.4.1.2): lower-case scheme
 * and host, default port (80 for http, 443 for https) dropped. Throws `TypeError` on an origin
 * that is not a bare `http:` or `https:` origin: that is a configuration mistake, not bad input.
 */
export function normalizeOrigin(origin: string): string {
  if (origin === lastOriginInput) return lastOrigin;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new TypeError(`origin is not a URL: ${JSON.stringify(origin)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`origin must be http: or https:, got ${url.protocol}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new TypeError('origin must be scheme://host[:port] with no path, query, fragment or user info');
  }
  // URL already lower-cases the scheme and host and drops the scheme's default port.
  const normalized = `${url.protocol}//${url.host}`;
  lastOriginInput = origin;
  lastOrigin = normalized;
  return normalized;
}

/**
 * The base string URI (RFC 5849 §3.4.1.2): normalized origin plus the path exactly as sent,
 * without query or fragment. An empty path becomes `/`.
 */
export function baseStringUri(origin: string, path: string): string {
  return normalizeOrigin(origin) + (path === '' ? '/' : path);
}

function byNameThenValue(a: Param, b: Param): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}

/**
 * Parameter normalization (RFC 5849 §3.4.1.3.2): names and values percent-encoded, sorted by
 * encoded name and then encoded value (byte order; encoded strings are ASCII so code-unit
 * order is byte order), duplicates kept, joined as `name=value` with `&`.
 */
export function normalizeParameters(params: readonly Param[]): string {
  const encoded: Param[] = new Array(params.length);
  for (let i = 0; i < params.length; i++) {
    const p = params[i] as Param;
    encoded[i] = [percentEncode(p[0]), percentEncode(p[1])];
  }
  encoded.sort(byNameThenValue);
  let out = '';
  for (let i = 0; i < encoded.length; i++) {
    const p = encoded[i] as Param;
    out += i === 0 ? `${p[0]}=${p[1]}` : `&${p[0]}=${p[1]}`;
  }
  return out;
}

/**
 * The signature base string (RFC 5849 §3.4.1.1): upper-case method, encoded base string URI
 * and encoded normalized parameters, joined with `&`. `params` must already exclude `realm`
 * and `oauth_signature` (§3.4.1.3.1).
 */
export function signatureBaseString(method: string, uri: string, params: readonly Param[]): string {
  return `${percentEncode(method.toUpperCase())}&${percentEncode(uri)}&${percentEncode(normalizeParameters(params))}`;
}
