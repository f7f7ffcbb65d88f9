/**
 * Linear scanners behind the public parsers of `OAuth` Authorization headers and form-encoded
 * data. Internal: the package entry point does not re-export this module.
 *
 * Both scanners hand each parameter to a {@link ParamSink} instead of building arrays, and
 * report a name's or value's signature base string form when the text as sent tells it (it
 * holds unreserved characters only, say, and so already is its RFC 5849 §3.6 encoding). The
 * OAuth 1.0a verifier then puts that text into the base string as it is, instead of encoding
 * the decoded form again.
 *
 * @packageDocumentation
 */

import { type Failure, fail } from './errors.js';

/** 1 for the RFC 3986 §2.3 unreserved characters `ALPHA / DIGIT / "-" / "." / "_" / "~"`. */
export const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;

// Hex digit values in either case (RFC 3986 §2.1), -1 for anything else.
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
}

function hexAt(s: string, i: number): number {
  return HEX[s.charCodeAt(i)] ?? -1;
}

/**
 * Decodes `%XX` sequences and checks the octets are UTF-8 (`decodeURIComponent`, which decodes
 * every escape, reserved characters included). `undefined` when they are not.
 */
function decodeComponent(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * Percent-decodes `raw` exactly as `decodeURIComponent` does (every `%XX`, either hex case,
 * then UTF-8), `undefined` where it would throw. Escapes of ASCII octets, the usual case, are
 * complete UTF-8 characters on their own and are decoded here without the runtime call.
 */
export function decodePercent(raw: string): string | undefined {
  let out = '';
  let last = 0;
  for (let i = raw.indexOf('%'); i !== -1; i = raw.indexOf('%', last)) {
    const hi = hexAt(raw, i + 1);
    const lo = hexAt(raw, i + 2);
    if (hi < 0 || lo < 0) return undefined;
    const octet = hi * 16 + lo;
    // Part of a multi-octet character: let the runtime check the UTF-8 of the whole.
    if (octet >= 0x80) return decodeComponent(raw);
    out += raw.slice(last, i) + String.fromCharCode(octet);
    last = i + 3;
  }
  return last === 0 ? raw : out + raw.slice(last);
}

// What a form scan learned about one name or value; none of them: unreserved characters only.
/** A '%': percent-decoding needed. */
const PCT = 1;
/** A '+': a space (HTML 4.01 §17.13.4.1). */
const PLUS = 2;
/** Any other character outside the unreserved set. */
const OTHER = 4;

/**
 * Decodes one name or value of form data given its scan flags: '+' is a space, then `%XX`
 * (HTML 4.01 §17.13.4.1, which RFC 5849 §3.4.1.3.1 refers to); `undefined` when an escape is
 * broken or the octets are not UTF-8.
 */
function decodeFormPart(raw: string, flags: number): string | undefined {
  const text = (flags & PLUS) === 0 ? raw : raw.replaceAll('+', ' ');
  return (flags & PCT) === 0 ? text : decodePercent(text);
}

/**
 * Encodes an encoded string once more, as the base string does with the normalized parameters
 * (RFC 5849 §3.4.1.1): its other characters are unreserved, so only '%' changes, to '%25'.
 */
export function encodeEncoded(value: string): string {
  let i = value.indexOf('%');
  if (i === -1) return value;
  // indexOf and slices: cheaper than replaceAll with a string pattern in Node 20's V8.
  let out = '';
  let last = 0;
  for (; i !== -1; i = value.indexOf('%', i + 1)) {
    out += `${value.slice(last, i)}%25`;
    last = i + 1;
  }
  return out + value.slice(last);
}

/**
 * The base-string form of a form name or value (its RFC 5849 §3.6 encoding with '%' as '%25')
 * when the scan flags tell it without decoding: the text as sent when it holds unreserved
 * characters only; with '+' too, the same with each '+' (a space) as '%2520'. `undefined`
 * otherwise.
 */
function baseForm(raw: string, flags: number): string | undefined {
  return flags === 0 ? raw : flags === PLUS ? raw.replaceAll('+', '%2520') : undefined;
}

/** Receives the parameters a scanner finds, in the order they were sent. */
export interface ParamSink {
  /**
   * One parameter. `name` and `value` are decoded; `baseName` and `baseValue` are their
   * base-string form (the RFC 5849 §3.6 encoding, then '%' as '%25') when the scanner knew it
   * from the text as sent, `undefined` otherwise (the receiver encodes the decoded form itself
   * if it needs to).
   */
  param(name: string, value: string, baseName: string | undefined, baseValue: string | undefined): void;
}

/**
 * A set of parameter names for duplicate detection. A linear scan is fastest for the handful of
 * names a normal request carries; past 16 names it switches to a hash set, so that a request
 * with hundreds of parameters (allowed by a raised cap) stays linear.
 *
 * @internal
 */
export class NameSet {
  private readonly list: string[] = [];
  private set: Set<string> | undefined;

  /** Adds `name`; returns false when it was already present. */
  add(name: string): boolean {
    if (this.set !== undefined) {
      if (this.set.has(name)) return false;
      this.set.add(name);
      return true;
    }
    if (this.list.includes(name)) return false;
    this.list.push(name);
    if (this.list.length > 16) this.set = new Set(this.list);
    return true;
  }
}

/** True when `s[start..end)` is `OAuth` in any case (RFC 7235 §2.1). */
function isOAuthScheme(s: string, start: number, end: number): boolean {
  // ASCII letters only: setting bit 0x20 lower-cases them and maps nothing else onto them.
  return (
    end - start === 5 &&
    (s.charCodeAt(start) | 0x20) === 0x6f /* o */ &&
    (s.charCodeAt(start + 1) | 0x20) === 0x61 /* a */ &&
    (s.charCodeAt(start + 2) | 0x20) === 0x75 /* u */ &&
    (s.charCodeAt(start + 3) | 0x20) === 0x74 /* t */ &&
    (s.charCodeAt(start + 4) | 0x20) === 0x68 /* h */
  );
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** An Authorization header cut into its scheme (lower-cased) and the credentials after it. */
export interface SplitAuthorization {
  readonly scheme: string;
  readonly credentials: string;
}

/**
 * Trims an Authorization header value (RFC 7230 §3.2.3 OWS) and splits it at the first
 * whitespace into scheme, lower-cased since scheme names are case-insensitive (RFC 7235 §2.1),
 * and credentials. A blank value is `credentials_missing`; one longer than `maxLength` is
 * refused before any other work.
 */
export function splitAuthorization(
  header: string,
  maxLength: number,
): SplitAuthorization | Failure<'credentials_missing' | 'malformed_header'> {
  if (header.length > maxLength) return fail('malformed_header', `header longer than ${maxLength}`);
  let start = 0;
  let end = header.length;
  while (start < end && isOws(header.charCodeAt(start))) start++;
  while (end > start && isOws(header.charCodeAt(end - 1))) end--;
  if (start === end) return fail('credentials_missing');
  let schemeEnd = start;
  while (schemeEnd < end && !isOws(header.charCodeAt(schemeEnd))) schemeEnd++;
  // The scheme of every OAuth 1.0a request, matched without allocating a lower-cased copy.
  const scheme = isOAuthScheme(header, start, schemeEnd) ? 'oauth' : header.slice(start, schemeEnd).toLowerCase();
  let rest = schemeEnd;
  while (rest < end && isOws(header.charCodeAt(rest))) rest++;
  return { scheme, credentials: header.slice(rest, end) };
}

// One `name="value"` element of the list, with the separators before and after it (RFC 5849
// §3.5.1). Names are percent-encoded (RFC 3986 unreserved plus '%'); values are quoted, with no
// quoted-pair escapes and no control characters. Sticky and free of nested quantifiers, so each
// match is linear and the loop in `refuseOAuthParams` never rescans.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const OAUTH_PARAM = /[ \t,]*([A-Za-z0-9\-._~%]+)="([^"\\\x00-\x1f\x7f]*)"[ \t]*(?:,|$)/y;
const LIST_END = /[ \t,]*$/y;
// The whole list, for the common case of a well-formed header: the elements above, repeated,
// then trailing separators. Still linear: every part of an element ends at a character that
// part cannot hold (a name char after separators, '=' after the name, '"' after the value, ','
// or the end after spaces), so any backtracking step fails at once, and each element is
// backtracked into at most once. One native pass costs well under the JavaScript loop.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const OAUTH_LIST = /^(?:[ \t,]*[A-Za-z0-9\-._~%]+="[^"\\\x00-\x1f\x7f]*"[ \t]*(?:,|$))*[ \t,]*$/;

// The same list when every name is unreserved characters and every value unreserved characters
// or escapes, as conforming signers send it (RFC 5849 §3.5.1 percent-encodes every value). Then
// a value without '%' is its own §3.6 encoding and needs no check of its own.
const PLAIN_OAUTH_LIST = /^(?:[ \t,]*[A-Za-z0-9\-._~]+="[A-Za-z0-9\-._~%]*"[ \t]*(?:,|$))*[ \t,]*$/;

/** What an `OAuth` header scan reports to its sink: parameters, and `realm` as sent. */
export interface OAuthParamSink extends ParamSink {
  realm: string | undefined;
}

/**
 * Takes one `name="value"` element of an `OAuth` header (names and values as sent): decodes
 * it (RFC 5849 §3.5.1, §3.6), refuses a broken escape, a name sent twice or one parameter too
 * many, and hands it to the sink. `realm` is a plain quoted-string (RFC 2617 §1.2), never
 * percent-encoded, and counts neither as a duplicate candidate nor toward `maxParams`.
 */
function takeOAuthParam(
  rawName: string,
  rawValue: string,
  plainList: boolean,
  seen: NameSet,
  count: number,
  maxParams: number,
  sink: OAuthParamSink,
): Failure<'malformed_header' | 'parameter_duplicated' | 'too_many_parameters'> | number {
  const namePct = rawName.includes('%');
  const name = namePct ? decodePercent(rawName) : rawName;
  if (name === undefined) return fail('malformed_header', 'invalid percent-encoding');
  if (name === 'realm') {
    if (sink.realm !== undefined) return fail('parameter_duplicated', 'realm appears twice in the header');
    sink.realm = rawValue;
    return count;
  }
  if (!seen.add(name)) return fail('parameter_duplicated', `${name} appears twice in the header`);
  if (count === maxParams) return fail('too_many_parameters', `more than ${maxParams} header parameters`);
  if (rawValue.includes('%')) {
    const value = decodePercent(rawValue);
    if (value === undefined) return fail('malformed_header', 'invalid percent-encoding');
    sink.param(name, value, namePct ? undefined : rawName, undefined);
  } else {
    // A name without '%' holds unreserved characters only (the grammar allows nothing else);
    // so does a value without '%' in a plain list. Other values may hold anything: the sink
    // encodes them.
    sink.param(name, rawValue, namePct ? undefined : rawName, plainList ? rawValue : undefined);
  }
  return count + 1;
}

/**
 * Scans the parameter list of an `OAuth` header (RFC 5849 §3.5.1):
 * `name="value"` elements separated by commas with optional whitespace, empty elements
 * tolerated (RFC 7230 §7), names and values percent-encoded (§3.6). Values must be quoted,
 * with no quoted-pair escapes (no conforming client needs them) and no control characters.
 * `realm` is returned through `sink.realm` as sent; every other parameter goes to
 * `sink.param`, decoded. Linear in the length of `input`, whatever it holds.
 */
export function scanOAuthParams(
  input: string,
  maxParams: number,
  sink: OAuthParamSink,
): Failure<'malformed_header' | 'parameter_duplicated' | 'too_many_parameters'> | undefined {
  // A list the grammar refuses: find where, element by element, reporting the first problem
  // in list order exactly as for any list.
  const plainList = PLAIN_OAUTH_LIST.test(input);
  if (!plainList && !OAUTH_LIST.test(input)) return refuseOAuthParams(input, maxParams, sink);
  // Well-formed: each element is `separators name="value" spaces [,]`, and names and values
  // hold neither '=' nor '"', so indexOf finds their ends.
  const seen = new NameSet();
  const n = input.length;
  let count = 0;
  let i = 0;
  for (;;) {
    let c = input.charCodeAt(i);
    while (c === 0x20 || c === 0x09 || c === 0x2c /* , */) c = input.charCodeAt(++i);
    if (i >= n) return undefined;
    const eq = input.indexOf('=', i);
    const close = input.indexOf('"', eq + 2);
    const taken = takeOAuthParam(
      input.slice(i, eq),
      input.slice(eq + 2, close),
      plainList,
      seen,
      count,
      maxParams,
      sink,
    );
    if (typeof taken !== 'number') return taken;
    count = taken;
    i = close + 1;
  }
}

/**
 * The element-by-element scan of a list {@link scanOAuthParams} found malformed: the elements
 * before the first syntax error are taken in order, so an earlier problem (a broken escape, a
 * duplicate) is still the one reported.
 */
function refuseOAuthParams(
  input: string,
  maxParams: number,
  sink: OAuthParamSink,
): Failure<'malformed_header' | 'parameter_duplicated' | 'too_many_parameters'> | undefined {
  const seen = new NameSet();
  let count = 0;
  let i = 0;
  while (i < input.length) {
    OAUTH_PARAM.lastIndex = i;
    const m = OAUTH_PARAM.exec(input);
    if (m === null) {
      LIST_END.lastIndex = i;
      if (LIST_END.test(input)) break;
      return fail('malformed_header', `expected name="value" at offset ${i}`);
    }
    i = OAUTH_PARAM.lastIndex;
    const taken = takeOAuthParam(m[1] as string, m[2] as string, false, seen, count, maxParams, sink);
    if (typeof taken !== 'number') return taken;
    count = taken;
  }
  return undefined;
}

/**
 * Scans `application/x-www-form-urlencoded` data (a query string without its `?`, or a form
 * body) in one pass, handing each pair to `sink` decoded, duplicates and order kept. A segment
 * without `=` is a name with an empty value; empty segments (`a=1&&b=2`) are skipped, as
 * browsers do; the first `=` splits name from value.
 */
export function scanForm(
  input: string,
  maxParams: number,
  sink: ParamSink,
): Failure<'malformed_request' | 'too_many_parameters'> | undefined {
  const n = input.length;
  let count = 0;
  let start = 0;
  while (start < n) {
    let j = start;
    let eq = -1;
    let nameFlags = 0;
    let flags = 0;
    for (; j < n; j++) {
      const c = input.charCodeAt(j);
      if (c < 0x80 && UNRESERVED[c] === 1) continue;
      if (c === 0x26 /* & */) break;
      if (c === 0x3d /* = */ && eq === -1) {
        eq = j;
        nameFlags = flags;
        flags = 0;
        continue;
      }
      flags |= c === 0x25 /* % */ ? PCT : c === 0x2b /* + */ ? PLUS : OTHER;
    }
    let valueFlags = 0;
    if (eq === -1) nameFlags = flags;
    else valueFlags = flags;
    if (j > start) {
      if (count === maxParams) return fail('too_many_parameters', `more than ${maxParams} parameters`);
      count++;
      const rawName = input.slice(start, eq === -1 ? j : eq);
      const rawValue = eq === -1 ? '' : input.slice(eq + 1, j);
      const name = decodeFormPart(rawName, nameFlags);
      const value = decodeFormPart(rawValue, valueFlags);
      if (name === undefined || value === undefined) {
        return fail('malformed_request', 'invalid percent-encoding or UTF-8 in form data');
      }
      sink.param(name, value, baseForm(rawName, nameFlags), baseForm(rawValue, valueFlags));
    }
    start = j + 1;
  }
  return undefined;
}
