/**
 * Percent-encoding as OAuth 1.0a requires it (RFC 5849 §3.6): UTF-8 first, then every octet
 * outside the RFC 3986 §2.3 unreserved set (`ALPHA / DIGIT / "-" / "." / "_" / "~"`) becomes
 * `%XX` with upper-case hex. This is stricter than `encodeURIComponent`, which leaves
 * `!*'()` alone — the most common cause of `signature_invalid` between two implementations.
 *
 * @packageDocumentation
 */

import { type Result, succeed } from './errors.js';
import { type ParamSink, scanForm, UNRESERVED } from './scan.js';

export { NameSet } from './scan.js';

const UNRESERVED_ONLY = /^[A-Za-z0-9\-._~]*$/;
// encodeURIComponent leaves exactly these five reserved characters unescaped.
const SUB_DELIMS_LEFT_BY_ENCODE_URI_COMPONENT = /[!'()*]/g;
const HEX = Array.from({ length: 128 }, (_, i) => `%${i.toString(16).toUpperCase().padStart(2, '0')}`);

function escapeSubDelim(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
}

function encodeNonAscii(value: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    encoded = encodeURIComponent((value as string & { toWellFormed(): string }).toWellFormed());
  }
  return encoded.replace(SUB_DELIMS_LEFT_BY_ENCODE_URI_COMPONENT, escapeSubDelim);
}

/**
 * Percent-encodes a string per RFC 5849 §3.6.
 *
 * Lone UTF-16 surrogates cannot be encoded as UTF-8; they are replaced by U+FFFD first, as
 * `TextEncoder` does, so the function never throws.
 */
export function percentEncode(value: string): string {
  // Fast paths: most names and values (keys, nonces, timestamps) need no escaping at all, and
  // the rest are usually ASCII, escaped here without a round trip through encodeURIComponent.
  if (UNRESERVED_ONLY.test(value)) return value;
  let out = '';
  let last = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return encodeNonAscii(value);
    if (UNRESERVED[c] === 1) continue;
    out += value.slice(last, i) + HEX[c];
    last = i + 1;
  }
  return out + value.slice(last);
}

/**
 * Decodes `%XX` sequences (either hex case) and checks that the octets are valid UTF-8.
 * `+` is kept as a plus sign. Returns `undefined` when a `%` is not followed by two hex digits
 * or the octets are not UTF-8: callers turn that into `malformed_*`, never an exception.
 */
export function percentDecode(value: string): string | undefined {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * Decodes one component of `application/x-www-form-urlencoded` data: `+` is a space
 * (HTML 4.01 §17.13.4.1, which RFC 5849 §3.4.1.3.1 refers to), then percent-decoding.
 */
export function formDecode(value: string): string | undefined {
  return percentDecode(value.includes('+') ? value.replaceAll('+', ' ') : value);
}

/** A decoded name/value pair, in the order it appeared. */
export type Param = readonly [name: string, value: string];

/** Caps on what {@link parseForm} accepts. */
export interface FormLimits {
  /** Most pairs accepted; more is `too_many_parameters`. Default 256. */
  readonly maxParams?: number;
}

/** Default most parameters accepted from one query string or form body. */
export const DEFAULT_MAX_PARAMS = 256;

/**
 * Parses `application/x-www-form-urlencoded` data (a query string without its `?`, or a form
 * body) into decoded pairs, keeping duplicates and order. A segment without `=` is a name with
 * an empty value; empty segments (`a=1&&b=2`) are skipped, as browsers do.
 */
export function parseForm(
  input: string,
  limits: FormLimits = {},
): Result<Param[], 'malformed_request' | 'too_many_parameters'> {
  const sink = new ParamList();
  const failed = scanForm(input, limits.maxParams ?? DEFAULT_MAX_PARAMS, sink);
  return failed ?? succeed(sink.params);
}

/** Collects what a scanner finds as decoded pairs. */
class ParamList implements ParamSink {
  readonly params: Param[] = [];

  param(name: string, value: string): void {
    this.params.push([name, value]);
  }
}
