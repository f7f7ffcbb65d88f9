/**
 * Client side of OAuth 1.0a: sign a request so that any conforming server (Keyward or not)
 * verifies it. Nonce and timestamp are arguments: core draws no randomness and reads no clock.
 *
 * @packageDocumentation
 */

import { formatOAuthHeader } from '../authorization.js';
import { type Param, parseForm } from '../encoding.js';
import { baseStringUri, signatureBaseString } from './base-string.js';
import { computeBodyHash } from './body-hash.js';
import { isFormContentType } from './request.js';
import { computeSignature, type SignatureMethod } from './signature.js';

/** What to sign. */
export interface OAuth1SignInput {
  readonly method: string;
  /** Absolute URL, as the HTTP client will send it (WHATWG URL serialization). */
  readonly url: string | URL;
  readonly consumerKey: string;
  readonly consumerSecret: string;
  /** `oauth_token` (signed sessions, or 3-legged servers). */
  readonly token?: string | undefined;
  readonly tokenSecret?: string | undefined;
  /** Default HMAC-SHA256. */
  readonly signatureMethod?: SignatureMethod;
  /** A fresh random string per request. */
  readonly nonce: string;
  /** Seconds since the epoch. */
  readonly timestamp: number;
  readonly body?: string | Uint8Array | undefined;
  readonly contentType?: string | undefined;
  /**
   * Add `oauth_body_hash` for a body that is not form-encoded. Default false. The hash uses the
   * signature method's digest (SHA-256 for HMAC-SHA256, SHA-1 for HMAC-SHA1): Keyward accepts
   * either digest for either method, and other servers expect the method's own.
   */
  readonly bodyHash?: boolean;
  readonly realm?: string | undefined;
  /** Send `oauth_version="1.0"` (optional per RFC 5849 §3.1). Default true. */
  readonly includeVersion?: boolean;
  /** Further `oauth_*` parameters, such as `oauth_callback`. */
  readonly extraOAuthParams?: readonly Param[];
}

/** A signed request. */
export interface OAuth1Signature {
  /** The `Authorization` header value. */
  readonly authorization: string;
  /** The protocol parameters, `oauth_signature` last. */
  readonly oauthParams: readonly Param[];
  /** Every parameter that entered the base string. */
  readonly params: readonly Param[];
  readonly baseString: string;
  readonly signature: string;
}

/**
 * Signs a request (RFC 5849 §3.1–§3.4) with the protocol parameters sent in the
 * Authorization header (§3.5.1). Throws `TypeError` on misuse (a URL that is not absolute
 * http(s), a non-integer timestamp).
 */
export function signOAuth1(input: OAuth1SignInput): OAuth1Signature {
  const url = typeof input.url === 'string' ? new URL(input.url) : input.url;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('url must be http: or https:');
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new TypeError('timestamp must be whole seconds since the epoch');
  }
  const method = input.signatureMethod ?? 'HMAC-SHA256';

  const oauthParams: Param[] = [
    ['oauth_consumer_key', input.consumerKey],
    ['oauth_nonce', input.nonce],
    ['oauth_signature_method', method],
    ['oauth_timestamp', String(input.timestamp)],
  ];
  if (input.token !== undefined) oauthParams.push(['oauth_token', input.token]);
  if (input.includeVersion !== false) oauthParams.push(['oauth_version', '1.0']);
  if (input.extraOAuthParams !== undefined) oauthParams.push(...input.extraOAuthParams);

  const params: Param[] = [...oauthParams];
  const query = parseForm(url.search.slice(1), { maxParams: Number.POSITIVE_INFINITY });
  if (!query.ok) throw new TypeError('url query is not valid percent-encoded UTF-8');
  params.push(...query.value);

  if (input.body !== undefined && isFormContentType(input.contentType)) {
    const text = typeof input.body === 'string' ? input.body : new TextDecoder().decode(input.body);
    const form = parseForm(text, { maxParams: Number.POSITIVE_INFINITY });
    if (!form.ok) throw new TypeError('form body is not valid percent-encoded UTF-8');
    params.push(...form.value);
  } else if (input.bodyHash === true) {
    const hash = computeBodyHash(method, input.body);
    if (hash === undefined) throw new TypeError('oauth_body_hash cannot be used with PLAINTEXT');
    oauthParams.push(['oauth_body_hash', hash]);
    params.push(['oauth_body_hash', hash]);
  }

  const baseString = signatureBaseString(input.method, baseStringUri(url.origin, url.pathname), params);
  const signature = computeSignature(method, baseString, input.consumerSecret, input.tokenSecret ?? '');
  oauthParams.push(['oauth_signature', signature]);
  return {
    authorization: formatOAuthHeader(oauthParams, input.realm),
    oauthParams,
    params,
    baseString,
    signature,
  };
}
