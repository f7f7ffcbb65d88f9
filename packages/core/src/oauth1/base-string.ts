/**
 * The OAuth 1.0a signature base string (RFC 5849 §3.4.1): exactly one canonical string per
 * request, so that signer and verifier agree byte for byte.
 *
 * @packageDocumentation
 */

import { type Param, percentEncode } from '../encoding.js';
import { encodeEncoded } from '../scan.js';

/** The normalized origin, and the same percent-encoded for the base string. */
interface Origin {
  readonly normalized: string;
  readonly encoded: string;
}

let lastOriginInput = '';
let lastOrigin: Origin = { normalized: '', encoded: '' };

// The origin is configuration and the same on every request: remember the last one.
function originOf(origin: string): Origin {
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
  lastOrigin = { normalized, encoded: percentEncode(normalized) };
  return lastOrigin;
}

/**
 * Normalizes a public origin for the base string URI (RFC 5849 §3.4.1.2): lower-case scheme
 * and host, default port (80 for http, 443 for https) dropped. Throws `TypeError` on an origin
 * that is not a bare `http:` or `https:` origin: that is a configuration mistake, not bad input.
 */
export function normalizeOrigin(origin: string): string {
  return originOf(origin).normalized;
}

/**
 * The base string URI (RFC 5849 §3.4.1.2): normalized origin plus the path exactly as sent,
 * without query or fragment. An empty path becomes `/`.
 */
export function baseStringUri(origin: string, path: string): string {
  return normalizeOrigin(origin) + (path === '' ? '/' : path);
}

// Up to this many parameters an insertion sort on the two arrays beats Array#sort with a
// comparator; beyond it, the O(n log n) sort keeps adversarial requests cheap.
const INSERTION_SORT_MAX = 24;

/**
 * The parameters of a request in their encoded form (RFC 5849 §3.4.1.3.2), from which the
 * normalized parameter string and the signature base string are produced. The hot path of
 * verification: names and values are held in two flat arrays, already in the form they take
 * in the base string, and callers that know a value is already in canonical encoding skip the
 * encoding step.
 */
export class EncodedParameters {
  // Names and values in their base-string form: the §3.6 encoding encoded once more, where
  // only '%' changes, to '%25'. That keeps the §3.4.1.3.2 order: at the first difference
  // between two encoded strings, '%' sorts below every unreserved character, and the '%25' it
  // becomes still starts with that same '%'. Sorting these is sorting the encoded strings.
  private readonly names: string[] = [];
  private readonly values: string[] = [];

  /** Adds a decoded parameter. */
  add(name: string, value: string): void {
    this.names.push(encodeEncoded(percentEncode(name)));
    this.values.push(encodeEncoded(percentEncode(value)));
  }

  /** Adds a parameter whose name and value are already in their §3.6 encoding. */
  addCanonical(name: string, value: string): void {
    this.names.push(encodeEncoded(name));
    this.values.push(encodeEncoded(value));
  }

  /**
   * Adds a parameter already in its base-string form: the §3.6 encoding encoded once more,
   * '%' written '%25'.
   *
   * @internal
   */
  addEncodedTwice(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }

  /** Number of parameters. */
  get size(): number {
    return this.names.length;
  }

  // Sorts by encoded name, then encoded value. Encoded strings are ASCII, so code-unit order
  // is the byte order the RFC asks for.
  private sort(): void {
    const { names, values } = this;
    const n = names.length;
    if (n <= INSERTION_SORT_MAX) {
      for (let i = 1; i < n; i++) {
        const name = names[i] as string;
        const value = values[i] as string;
        let j = i - 1;
        for (; j >= 0; j--) {
          const other = names[j] as string;
          if (other < name || (other === name && (values[j] as string) <= value)) break;
          names[j + 1] = other;
          values[j + 1] = values[j] as string;
        }
        names[j + 1] = name;
        values[j + 1] = value;
      }
      return;
    }
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => {
      const na = names[a] as string;
      const nb = names[b] as string;
      if (na !== nb) return na < nb ? -1 : 1;
      const va = values[a] as string;
      const vb = values[b] as string;
      return va < vb ? -1 : va > vb ? 1 : 0;
    });
    const sortedNames = order.map((i) => names[i] as string);
    const sortedValues = order.map((i) => values[i] as string);
    names.splice(0, n, ...sortedNames);
    values.splice(0, n, ...sortedValues);
  }

  /** The normalized parameter string (RFC 5849 §3.4.1.3.2): `name=value` pairs joined by `&`. */
  normalized(): string {
    this.sort();
    let out = '';
    for (let i = 0; i < this.names.length; i++) {
      out += `${i === 0 ? '' : '&'}${this.names[i]}=${this.values[i]}`;
    }
    // Back from the base-string form: every '%' there is a '%25' that was a '%'.
    return out.includes('%') ? out.replaceAll('%25', '%') : out;
  }

  /**
   * The signature base string (RFC 5849 §3.4.1.1) for a request to `origin` + `path`:
   * upper-case method, encoded base string URI, encoded normalized parameters.
   */
  baseString(method: string, origin: string, path: string): string {
    return this.baseStringWithEncodedUri(method, originOf(origin).encoded + percentEncode(path === '' ? '/' : path));
  }

  /** As {@link EncodedParameters.baseString}, for a whole base string URI. */
  baseStringForUri(method: string, uri: string): string {
    return this.baseStringWithEncodedUri(method, percentEncode(uri));
  }

  private baseStringWithEncodedUri(method: string, encodedUri: string): string {
    this.sort();
    // The normalized string is encoded once more into the base string: '=' and '&' become
    // '%3D' and '%26'; names and values are held in that form already.
    const { names, values } = this;
    let out = `${encodeMethod(method)}&${encodedUri}&`;
    for (let i = 0; i < names.length; i++) {
      if (i !== 0) out += '%26';
      out += `${names[i] as string}%3D${values[i] as string}`;
    }
    return out;
  }
}

/** RFC 5849 §3.4.1.1: the method upper-cased, then encoded; the common ones need neither. */
function encodeMethod(method: string): string {
  switch (method) {
    case 'GET':
    case 'POST':
    case 'PUT':
    case 'PATCH':
    case 'DELETE':
    case 'HEAD':
    case 'OPTIONS':
      return method;
    default:
      return percentEncode(method.toUpperCase());
  }
}

function encodedParameters(params: readonly Param[]): EncodedParameters {
  const list = new EncodedParameters();
  for (let i = 0; i < params.length; i++) {
    const p = params[i] as Param;
    list.add(p[0], p[1]);
  }
  return list;
}

/**
 * Parameter normalization (RFC 5849 §3.4.1.3.2): names and values percent-encoded, sorted by
 * encoded name and then encoded value, duplicates kept, joined as `name=value` with `&`.
 */
export function normalizeParameters(params: readonly Param[]): string {
  return encodedParameters(params).normalized();
}

/**
 * The signature base string (RFC 5849 §3.4.1.1): upper-case method, encoded base string URI
 * and encoded normalized parameters, joined with `&`. `params` must already exclude `realm`
 * and `oauth_signature` (§3.4.1.3.1).
 */
export function signatureBaseString(method: string, uri: string, params: readonly Param[]): string {
  return encodedParameters(params).baseStringForUri(method, uri);
}
