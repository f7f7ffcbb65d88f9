/**
 * Server side of OAuth 1.0a, step one: turn a received request into its protocol parameters
 * and its one canonical signature base string (RFC 5849 §3.4.1), or a failure code.
 *
 * @packageDocumentation
 */

import {
  DEFAULT_MAX_HEADER_LENGTH,
  DEFAULT_MAX_HEADER_PARAMS,
  type HeaderLimits,
  parseAuthorization,
  parseOAuthParams,
} from '../authorization.js';
import { DEFAULT_MAX_PARAMS, type Param, parseForm, percentEncode } from '../encoding.js';
import { type Failure, fail, type Result, succeed } from '../errors.js';
import { encodeEncoded, NameSet, type ParamSink, scanForm, scanOAuthParams, splitAuthorization } from '../scan.js';
import { EncodedParameters } from './base-string.js';
import { DEFAULT_SIGNATURE_METHODS, isSignatureMethod, type SignatureMethod } from './signature.js';

/** A received request, as the framework-free verifier sees it. */
export interface OAuth1RequestInput {
  /** HTTP method as received. */
  readonly method: string;
  /**
   * The public origin callers sign against (`https://api.example.com`). Configuration, never
   * derived from `Host` or `X-Forwarded-*` by core.
   */
  readonly origin: string;
  /** The request-target as received, in origin-form: `/path?query`. */
  readonly target: string;
  /** The `Authorization` header value, if any. */
  readonly authorization?: string | undefined;
  /** The `Content-Type` header value, if any. */
  readonly contentType?: string | undefined;
  /** The raw request body, if any. */
  readonly body?: string | Uint8Array | undefined;
}

/** Policy for parsing an OAuth 1.0a request. */
export interface OAuth1ParseOptions extends HeaderLimits {
  /** Signature methods accepted. Default HMAC-SHA256 and HMAC-SHA1 (no PLAINTEXT). */
  readonly signatureMethods?: readonly SignatureMethod[];
  /** Most parameters accepted from the query, and separately from a form body. Default 256. */
  readonly maxRequestParams?: number;
  /** Longest `oauth_nonce` accepted. Default 64. */
  readonly maxNonceLength?: number;
  /** Require `oauth_body_hash` on requests whose body is not form-encoded. Default false. */
  readonly requireBodyHash?: boolean;
}

/** Where the protocol parameters were sent (RFC 5849 §3.5). */
export type ParameterLocation = 'header' | 'query' | 'body';

/** A parsed OAuth 1.0a request, ready for signature verification. */
export interface OAuth1Request {
  readonly consumerKey: string;
  /** `oauth_token`; `undefined` when absent or empty (a 2-legged request). */
  readonly token: string | undefined;
  readonly signatureMethod: SignatureMethod;
  /** `oauth_signature`, decoded. */
  readonly signature: string;
  /** `oauth_timestamp`, in seconds. */
  readonly timestamp: number;
  readonly nonce: string;
  /** `oauth_body_hash`, if sent. */
  readonly bodyHash: string | undefined;
  readonly location: ParameterLocation;
  readonly realm: string | undefined;
  /**
   * Every parameter that entered the base string, decoded, in the order sent (header, query,
   * body). Computed when first read: verification itself never needs it.
   */
  readonly params: readonly Param[];
  readonly baseString: string;
  /** True when the body was form-encoded and its parameters were signed. */
  readonly formBody: boolean;
  /** The raw body, kept for the body hash check. */
  readonly body: string | Uint8Array | undefined;
}

/** Codes {@link parseOAuth1Request} can fail with. */
export type OAuth1ParseError =
  | 'credentials_missing'
  | 'malformed_header'
  | 'malformed_request'
  | 'parameter_missing'
  | 'parameter_duplicated'
  | 'parameter_rejected'
  | 'too_many_parameters'
  | 'signature_method_rejected'
  | 'body_hash_missing';

// Visible ASCII, no space: nonces are random strings; anything else is odd input.
const NONCE = /^[\x21-\x7e]+$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** True when a `Content-Type` value is `application/x-www-form-urlencoded` (parameters ignored). */
export function isFormContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType === 'application/x-www-form-urlencoded') return true;
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded';
}

/**
 * Collects the parameters of an OAuth 1.0a request (RFC 5849 §3.4.1.3.1) from the query, the
 * `OAuth` Authorization header (without `realm` and `oauth_signature`) and a form-encoded body,
 * checks the protocol parameters (§3.1: present, once, in one place, well-formed) and builds
 * the signature base string. Never throws on bad input.
 */
export function parseOAuth1Request(
  input: OAuth1RequestInput,
  options: OAuth1ParseOptions = {},
): Result<OAuth1Request, OAuth1ParseError> {
  const maxRequestParams = options.maxRequestParams ?? DEFAULT_MAX_PARAMS;

  // The request-target in origin-form (RFC 7230 §5.3.1); a fragment is never sent, drop it.
  let target = input.target;
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  if (target.charCodeAt(0) !== 0x2f /* / */) return fail('malformed_request', 'request-target must start with "/"');
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);

  // Protocol parameters: each at most once, all in a single place (RFC 5849 §3.5). They are
  // collected as the header, query and body are scanned; a collecting failure waits until all
  // three parsed, so that a malformed part is reported first, whatever the order of the parts.
  const protocol = new ProtocolParams();
  if (input.authorization !== undefined) {
    // Another scheme (or a blank header) is fine: the parameters may be in the query or body.
    // A malformed OAuth header is not.
    const split = splitAuthorization(input.authorization, options.maxLength ?? DEFAULT_MAX_HEADER_LENGTH);
    if ('ok' in split) {
      if (split.code !== 'credentials_missing') return split;
    } else if (split.scheme === 'oauth') {
      protocol.header = split.credentials;
      const failed = scanOAuthParams(split.credentials, options.maxParams ?? DEFAULT_MAX_HEADER_PARAMS, protocol);
      if (failed !== undefined) return failed;
    } else {
      // Basic or Bearer credentials are parsed, and refused when malformed, as before.
      const parsed = parseAuthorization(input.authorization, options);
      if (!parsed.ok && parsed.code !== 'scheme_unsupported' && parsed.code !== 'credentials_missing') {
        return fail(parsed.code, parsed.detail);
      }
    }
  }

  if (q !== -1) {
    protocol.where = 'query';
    protocol.query = target.slice(q + 1);
    const failed = scanForm(protocol.query, maxRequestParams, protocol);
    if (failed !== undefined) return failed;
  }

  // RFC 5849 §3.4.1.3.1: the body counts only when it is single-part form-encoded data.
  const formBody = input.body !== undefined && isFormContentType(input.contentType);
  if (formBody) {
    let text: string;
    if (typeof input.body === 'string') text = input.body;
    else {
      try {
        text = UTF8.decode(input.body);
      } catch {
        return fail('malformed_request', 'form body is not UTF-8');
      }
    }
    protocol.where = 'body';
    protocol.form = text;
    const failed = scanForm(text, maxRequestParams, protocol);
    if (failed !== undefined) return failed;
  }
  if (protocol.failure !== undefined) return protocol.failure;
  const location = protocol.location;
  if (location === undefined) return fail('credentials_missing');

  const { consumerKey, signature, timestamp: ts, nonce: nc, signatureMethod: method } = protocol;
  if (consumerKey === '') return fail('parameter_missing', 'oauth_consumer_key');
  if (method === '') return fail('parameter_missing', 'oauth_signature_method');
  if (signature === '') return fail('parameter_missing', 'oauth_signature');
  if (ts === '') return fail('parameter_missing', 'oauth_timestamp');
  if (nc === '') return fail('parameter_missing', 'oauth_nonce');

  if (!isSignatureMethod(method) || !(options.signatureMethods ?? DEFAULT_SIGNATURE_METHODS).includes(method)) {
    return fail('signature_method_rejected', `${method} is not accepted`);
  }
  // RFC 5849 §3.1: if present, oauth_version MUST be "1.0".
  const version = protocol.version;
  if (version !== undefined && version !== '1.0') return fail('parameter_rejected', 'oauth_version must be 1.0');
  const timestamp = parseTimestamp(ts);
  if (timestamp === -1) return fail('parameter_rejected', 'oauth_timestamp must be seconds, digits only');
  const maxNonce = options.maxNonceLength ?? 64;
  if (nc.length > maxNonce || !NONCE.test(nc)) {
    return fail('parameter_rejected', `oauth_nonce must be 1-${maxNonce} visible ASCII characters`);
  }

  const bodyHash = protocol.bodyHash;
  if (bodyHash !== undefined) {
    // Body hash draft §4.1.1: never with a form-encoded body (its parameters are signed);
    // §3.1: PLAINTEXT has no hash algorithm to make one with.
    if (formBody) return fail('parameter_rejected', 'oauth_body_hash is not allowed with a form-encoded body');
    if (method === 'PLAINTEXT') return fail('parameter_rejected', 'oauth_body_hash cannot be used with PLAINTEXT');
  } else if (options.requireBodyHash === true && !formBody) {
    return fail('body_hash_missing');
  }

  const encoded = protocol.encoded;
  // Validated above: these values are unreserved characters only.
  encoded.addCanonical('oauth_signature_method', method);
  encoded.addCanonical('oauth_timestamp', ts);
  if (version !== undefined) encoded.addCanonical('oauth_version', version);
  const baseString = encoded.baseString(input.method, input.origin, path);
  return succeed(new ParsedRequest(protocol, method, timestamp, location, baseString, formBody, input.body));
}

/** An {@link OAuth1Request} that collects its `params` from the text as sent, when first read. */
class ParsedRequest implements OAuth1Request {
  readonly consumerKey: string;
  readonly token: string | undefined;
  readonly signature: string;
  readonly nonce: string;
  readonly bodyHash: string | undefined;
  readonly realm: string | undefined;
  readonly #sources: ProtocolParams;
  #params: readonly Param[] | undefined = undefined;

  constructor(
    protocol: ProtocolParams,
    readonly signatureMethod: SignatureMethod,
    readonly timestamp: number,
    readonly location: ParameterLocation,
    readonly baseString: string,
    readonly formBody: boolean,
    readonly body: string | Uint8Array | undefined,
  ) {
    this.consumerKey = protocol.consumerKey;
    this.token = protocol.token === '' ? undefined : protocol.token;
    this.signature = protocol.signature;
    this.nonce = protocol.nonce;
    this.bodyHash = protocol.bodyHash;
    this.realm = protocol.realm;
    this.#sources = protocol;
  }

  get params(): readonly Param[] {
    this.#params ??= collectParams(this.#sources);
    return this.#params;
  }
}

/**
 * The parameters of a parsed request, decoded, as RFC 5849 §3.4.1.3.1 collects them: the
 * header's (without `realm`), the query's, the form body's, all but `oauth_signature`. The
 * parse succeeded, so the scans do too; the caps were enforced then.
 */
function collectParams({ header, query, form }: ProtocolParams): Param[] {
  const all: Param[] = [];
  if (header !== undefined) {
    const parsed = parseOAuthParams(header, Number.MAX_SAFE_INTEGER);
    if (parsed.ok) all.push(...parsed.value.params);
  }
  for (const part of [query, form]) {
    if (part === undefined) continue;
    const parsed = parseForm(part, { maxParams: Number.MAX_SAFE_INTEGER });
    if (parsed.ok) all.push(...parsed.value);
  }
  return all.filter(([name]) => name !== 'oauth_signature');
}

const UNRESERVED_ONLY = /^[A-Za-z0-9\-._~]*$/;

/** A decoded name or value in its base-string form: §3.6 encoding, then '%' as '%25'. */
function encodeTwice(value: string): string {
  return UNRESERVED_ONLY.test(value) ? value : encodeEncoded(percentEncode(value));
}

/** True for names starting `oauth_` (RFC 5849 §3.4.1.3.1), compared inline. */
function isProtocolName(name: string): boolean {
  return (
    name.charCodeAt(5) === 0x5f /* _ */ &&
    name.charCodeAt(0) === 0x6f /* o */ &&
    name.charCodeAt(1) === 0x61 /* a */ &&
    name.charCodeAt(2) === 0x75 /* u */ &&
    name.charCodeAt(3) === 0x74 /* t */ &&
    name.charCodeAt(4) === 0x68 /* h */
  );
}

/**
 * `oauth_timestamp` as a number when it is 1 to 10 digits (seconds since the epoch), else -1.
 * One loop instead of a regular expression and `Number()`.
 */
function parseTimestamp(ts: string): number {
  const n = ts.length;
  if (n === 0 || n > 10) return -1;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const d = ts.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * The protocol parameters of one request, collected as the scanners find them (a
 * {@link ParamSink}). Plain fields rather than a Map: this runs on every OAuth 1.0a request.
 */
class ProtocolParams implements ParamSink {
  consumerKey = '';
  signatureMethod = '';
  signature = '';
  timestamp = '';
  nonce = '';
  token: string | undefined = undefined;
  version: string | undefined = undefined;
  bodyHash: string | undefined = undefined;
  location: ParameterLocation | undefined = undefined;
  /** `realm` from the header, if sent. */
  realm: string | undefined = undefined;
  /** The `OAuth` header's parameter list, the query and the form body, as sent (when scanned). */
  header: string | undefined = undefined;
  query: string | undefined = undefined;
  form: string | undefined = undefined;
  /** Where the parameters being scanned now come from. */
  where: ParameterLocation = 'header';
  /** The first collecting failure, reported once every part parsed. */
  failure: Failure<'parameter_duplicated'> | undefined = undefined;
  /**
   * Every parameter that enters the base string (all but `oauth_signature`), encoded.
   * `oauth_signature_method`, `oauth_timestamp` and `oauth_version` are added by the caller
   * once validated, since their valid values need no encoding.
   */
  readonly encoded = new EncodedParameters();
  /** Protocol names seen in the query or body; made on the first one (most requests have none). */
  private seen: NameSet | undefined = undefined;

  /** Takes in one parameter from `where`; `oauth_*` ones are checked and kept aside. */
  param(name: string, value: string, baseName: string | undefined, baseValue: string | undefined): void {
    if (this.failure !== undefined) return;
    if (isProtocolName(name)) {
      const where = this.where;
      if (this.location !== where) {
        if (this.location !== undefined) {
          this.failure = fail(
            'parameter_duplicated',
            `protocol parameters sent in both the ${this.location} and the ${where}`,
          );
          return;
        }
        this.location = where;
      }
      // The header scanner already refused a name sent twice in the header, and parameters
      // from a second place fail above: only the query and body need the check here.
      if (where !== 'header') {
        this.seen ??= new NameSet();
        if (!this.seen.add(name)) {
          this.failure = fail('parameter_duplicated', `${name} appears twice`);
          return;
        }
      }
      // Dispatch on the character after "oauth_" so each name costs one string comparison.
      switch (name.charCodeAt(6)) {
        case 0x73 /* s */:
          if (name === 'oauth_signature') {
            this.signature = value;
            return; // §3.4.1.3.1: never part of the base string
          }
          if (name === 'oauth_signature_method') {
            this.signatureMethod = value;
            return; // added by the caller once validated
          }
          break;
        case 0x74 /* t */:
          if (name === 'oauth_timestamp') {
            this.timestamp = value;
            return; // added by the caller once validated
          }
          if (name === 'oauth_token') this.token = value;
          break;
        case 0x76 /* v */:
          if (name === 'oauth_version') {
            this.version = value;
            return; // added by the caller once validated
          }
          break;
        case 0x63 /* c */:
          if (name === 'oauth_consumer_key') this.consumerKey = value;
          break;
        case 0x6e /* n */:
          if (name === 'oauth_nonce') this.nonce = value;
          break;
        case 0x62 /* b */:
          if (name === 'oauth_body_hash') this.bodyHash = value;
          break;
      }
    }
    // RFC 5849 §3.4.1.3.2: names and values in their §3.6 encoding (held in base-string form).
    // Text sent with unreserved characters only is that already; anything else is encoded.
    this.encoded.addEncodedTwice(baseName ?? encodeTwice(name), baseValue ?? encodeTwice(value));
  }
}
