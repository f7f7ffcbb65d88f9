/**
 * Strict, linear-time parsing of the `Authorization` request header (RFC 7235 §4.2) for the
 * three schemes Keyward accepts: `OAuth` (RFC 5849 §3.5.1), `Basic` (RFC 7617) and `Bearer`
 * (RFC 6750 §2.1). Every function returns a value; none throws, whatever the input.
 *
 * @packageDocumentation
 */

import { type Param, percentEncode } from './encoding.js';
import { fail, type Result, succeed } from './errors.js';
import { type ParamSink, scanOAuthParams, splitAuthorization } from './scan.js';

/** Caps applied before any work is done on a header. */
export interface HeaderLimits {
  /** Longest header accepted, in UTF-16 code units. Default 8192. */
  readonly maxLength?: number;
  /** Most `OAuth` parameters accepted. Default 32. */
  readonly maxParams?: number;
}

/** Default cap on the length of an Authorization header. */
export const DEFAULT_MAX_HEADER_LENGTH = 8192;
/** Default cap on the number of parameters in an `OAuth` header. */
export const DEFAULT_MAX_HEADER_PARAMS = 32;

/** Credentials parsed from an `OAuth` header. */
export interface OAuthCredentials {
  readonly scheme: 'oauth';
  /** `realm`, if sent; it never takes part in the signature (RFC 5849 §3.4.1.3.1). */
  readonly realm: string | undefined;
  /** Every other parameter, percent-decoded, in header order. */
  readonly params: Param[];
}

/** Credentials parsed from a `Basic` header. */
export interface BasicCredentials {
  readonly scheme: 'basic';
  readonly userId: string;
  readonly password: string;
}

/** Credentials parsed from a `Bearer` header. */
export interface BearerCredentials {
  readonly scheme: 'bearer';
  readonly token: string;
}

/** What an Authorization header holds. */
export type Credentials = OAuthCredentials | BasicCredentials | BearerCredentials;

/** Codes an Authorization header can fail with. */
export type AuthorizationError =
  | 'credentials_missing'
  | 'scheme_unsupported'
  | 'malformed_header'
  | 'parameter_duplicated'
  | 'too_many_parameters';

/**
 * Parses an Authorization header value. The scheme name is case-insensitive (RFC 7235 §2.1).
 * An absent or blank header is `credentials_missing`; an unknown scheme is
 * `scheme_unsupported`; anything else that is off is `malformed_header`.
 */
export function parseAuthorization(
  header: string | undefined,
  limits: HeaderLimits = {},
): Result<Credentials, AuthorizationError> {
  if (header === undefined) return fail('credentials_missing');
  const split = splitAuthorization(header, limits.maxLength ?? DEFAULT_MAX_HEADER_LENGTH);
  if ('ok' in split) return split;
  const { scheme, credentials } = split;
  switch (scheme) {
    case 'oauth':
      return parseOAuthParams(credentials, limits.maxParams ?? DEFAULT_MAX_HEADER_PARAMS);
    case 'basic':
      return parseBasicCredentials(credentials);
    case 'bearer':
      return parseBearerCredentials(credentials);
    default:
      return fail('scheme_unsupported');
  }
}

/** An Authorization header cut into its scheme and the credentials after it, not yet parsed. */
export interface AuthorizationParts {
  /** The scheme, lower-cased (scheme names are case-insensitive, RFC 7235 §2.1). */
  readonly scheme: string;
  /** The rest of the value, surrounding whitespace trimmed. */
  readonly credentials: string;
}

/**
 * Splits an Authorization header value into scheme and credentials without parsing the
 * credentials: for a caller that picks the parser by scheme itself, as the verifier does, handing
 * an `OAuth` header whole to `parseOAuth1Request` (which scans the parameters) and the others to
 * {@link parseBasicCredentials} or {@link parseBearerCredentials}, so that each header is parsed
 * once. A blank value is `credentials_missing`; one longer than the cap is `malformed_header`, as
 * for {@link parseAuthorization}.
 */
export function splitAuthorizationHeader(
  header: string,
  limits: HeaderLimits = {},
): Result<AuthorizationParts, 'credentials_missing' | 'malformed_header'> {
  const split = splitAuthorization(header, limits.maxLength ?? DEFAULT_MAX_HEADER_LENGTH);
  return 'ok' in split ? split : succeed(split);
}

/**
 * Parses the parameter list of an `OAuth` header (RFC 5849 §3.5.1):
 * `name="value"` pairs separated by commas with optional whitespace, names and values
 * percent-encoded per §3.6. Values must be quoted; quoted-pair escapes are refused since no
 * conforming client needs them. Empty list elements are tolerated (RFC 7230 §7). One linear
 * pass over the input, whatever it holds.
 */
export function parseOAuthParams(
  input: string,
  maxParams: number = DEFAULT_MAX_HEADER_PARAMS,
): Result<OAuthCredentials, 'malformed_header' | 'parameter_duplicated' | 'too_many_parameters'> {
  const sink = new HeaderParams();
  const failed = scanOAuthParams(input, maxParams, sink);
  if (failed !== undefined) return failed;
  return succeed({ scheme: 'oauth', realm: sink.realm, params: sink.params });
}

/** Collects the parameters of an `OAuth` header as decoded pairs. */
class HeaderParams implements ParamSink {
  realm: string | undefined = undefined;
  readonly params: Param[] = [];

  param(name: string, value: string): void {
    this.params.push([name, value]);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// RFC 7617 §2: user-id and password must not contain control characters.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses `Basic` credentials (RFC 7617 §2): strict padded base64 of UTF-8 `user-id:password`,
 * split at the first colon. A missing colon, bad base64, invalid UTF-8 or a control
 * character is `malformed_header`.
 */
export function parseBasicCredentials(token68: string): Result<BasicCredentials, 'malformed_header'> {
  if (token68.length === 0 || token68.length % 4 !== 0 || !BASE64.test(token68)) {
    return fail('malformed_header', 'Basic credentials are not valid base64');
  }
  let decoded: string;
  try {
    decoded = UTF8.decode(Buffer.from(token68, 'base64'));
  } catch {
    return fail('malformed_header', 'Basic credentials are not valid UTF-8');
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) return fail('malformed_header', 'Basic credentials lack the ":" separator');
  if (CONTROL.test(decoded)) return fail('malformed_header', 'control character in Basic credentials');
  return succeed({ scheme: 'basic', userId: decoded.slice(0, colon), password: decoded.slice(colon + 1) });
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Parses `Bearer` credentials (RFC 6750 §2.1, b64token syntax). */
export function parseBearerCredentials(token: string): Result<BearerCredentials, 'malformed_header'> {
  if (!B64TOKEN.test(token)) return fail('malformed_header', 'Bearer token has invalid syntax');
  return succeed({ scheme: 'bearer', token });
}

/**
 * Formats an `OAuth` Authorization header from protocol parameters (RFC 5849 §3.5.1),
 * percent-encoding names and values.
 */
export function formatOAuthHeader(params: readonly Param[], realm?: string): string {
  const parts: string[] = [];
  if (realm !== undefined) {
    if (/["\\]/.test(realm) || CONTROL.test(realm))
      throw new TypeError('realm must not contain quotes, backslashes or control characters');
    parts.push(`realm="${realm}"`);
  }
  for (const [name, value] of params) parts.push(`${percentEncode(name)}="${percentEncode(value)}"`);
  return `OAuth ${parts.join(', ')}`;
}
