/**
 * Server side of OAuth 1.0a, step one: turn a received request into its protocol parameters
 * and its one canonical signature base string (RFC 5849 §3.4.1), or a failure code.
 *
 * @packageDocumentation
 */

import { type Credentials, type HeaderLimits, parseAuthorization } from '../authorization.js';
import { DEFAULT_MAX_PARAMS, type Param, parseForm } from '../encoding.js';
import { fail, type Result, succeed } from '../errors.js';
import { baseStringUri, signatureBaseString } from './base-string.js';
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
  /** Every parameter that entered the base string, decoded, in collection order. */
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

const TIMESTAMP = /^[0-9]{1,10}$/;
// Visible ASCII, no space: nonces are random strings; anything else is odd input.
const NONCE = /^[\x21-\x7e]+$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** True when a `Content-Type` value is `application/x-www-form-urlencoded` (parameters ignored). */
export function isFormContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
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

  let header: Credentials | undefined;
  if (input.authorization !== undefined) {
    const parsed = parseAuthorization(input.authorization, options);
    if (parsed.ok) header = parsed.value;
    // Another scheme (or none) in the header: the protocol parameters must be elsewhere.
    else if (parsed.code !== 'scheme_unsupported' && parsed.code !== 'credentials_missing') {
      return fail(parsed.code, parsed.detail);
    }
  }
  const headerParams = header?.scheme === 'oauth' ? header.params : undefined;

  let queryParams: Param[] = [];
  if (q !== -1) {
    const parsed = parseForm(target.slice(q + 1), { maxParams: maxRequestParams });
    if (!parsed.ok) return parsed;
    queryParams = parsed.value;
  }

  // RFC 5849 §3.4.1.3.1: the body counts only when it is single-part form-encoded data.
  const formBody = input.body !== undefined && isFormContentType(input.contentType);
  let bodyParams: Param[] = [];
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
    const parsed = parseForm(text, { maxParams: maxRequestParams });
    if (!parsed.ok) return parsed;
    bodyParams = parsed.value;
  }

  // Protocol parameters: each at most once, all in a single place (RFC 5849 §3.5).
  const protocol = new Map<string, string>();
  let location: ParameterLocation | undefined;
  const params: Param[] = [];
  const sources: [ParameterLocation, readonly Param[] | undefined][] = [
    ['header', headerParams],
    ['query', queryParams],
    ['body', bodyParams],
  ];
  for (const [where, list] of sources) {
    if (list === undefined) continue;
    for (const p of list) {
      const name = p[0];
      if (name.startsWith('oauth_')) {
        if (location !== undefined && location !== where) {
          return fail('parameter_duplicated', `protocol parameters sent in both the ${location} and the ${where}`);
        }
        location = where;
        if (protocol.has(name)) return fail('parameter_duplicated', `${name} appears twice`);
        protocol.set(name, p[1]);
        if (name === 'oauth_signature') continue;
      }
      params.push(p);
    }
  }
  if (location === undefined) return fail('credentials_missing');

  const consumerKey = protocol.get('oauth_consumer_key');
  const methodName = protocol.get('oauth_signature_method');
  const signature = protocol.get('oauth_signature');
  const timestamp = protocol.get('oauth_timestamp');
  const nonce = protocol.get('oauth_nonce');
  for (const [name, value] of [
    ['oauth_consumer_key', consumerKey],
    ['oauth_signature_method', methodName],
    ['oauth_signature', signature],
    ['oauth_timestamp', timestamp],
    ['oauth_nonce', nonce],
  ] as const) {
    if (value === undefined || value === '') return fail('parameter_missing', name);
  }
  // Narrowed by the loop above; the compiler cannot see through it.
  const ts = timestamp as string;
  const nc = nonce as string;
  const method = methodName as string;

  if (!isSignatureMethod(method) || !(options.signatureMethods ?? DEFAULT_SIGNATURE_METHODS).includes(method)) {
    return fail('signature_method_rejected', `${method} is not accepted`);
  }
  // RFC 5849 §3.1: if present, oauth_version MUST be "1.0".
  const version = protocol.get('oauth_version');
  if (version !== undefined && version !== '1.0') return fail('parameter_rejected', 'oauth_version must be 1.0');
  if (!TIMESTAMP.test(ts)) return fail('parameter_rejected', 'oauth_timestamp must be seconds, digits only');
  const maxNonce = options.maxNonceLength ?? 64;
  if (nc.length > maxNonce || !NONCE.test(nc)) {
    return fail('parameter_rejected', `oauth_nonce must be 1-${maxNonce} visible ASCII characters`);
  }

  const bodyHash = protocol.get('oauth_body_hash');
  if (bodyHash !== undefined) {
    // Body hash spec §3.2: never with a form-encoded body; needs a hash algorithm.
    if (formBody) return fail('parameter_rejected', 'oauth_body_hash is not allowed with a form-encoded body');
    if (method === 'PLAINTEXT') return fail('parameter_rejected', 'oauth_body_hash cannot be used with PLAINTEXT');
  } else if (options.requireBodyHash === true && !formBody) {
    return fail('body_hash_missing');
  }

  const token = protocol.get('oauth_token');
  const baseString = signatureBaseString(input.method, baseStringUri(input.origin, path), params);
  return succeed({
    consumerKey: consumerKey as string,
    token: token === '' ? undefined : token,
    signatureMethod: method,
    signature: signature as string,
    timestamp: Number(ts),
    nonce: nc,
    bodyHash,
    location,
    realm: header?.scheme === 'oauth' ? header.realm : undefined,
    params,
    baseString,
    formBody,
    body: input.body,
  });
}
