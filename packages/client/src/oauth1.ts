/**
 * OAuth 1.0a signing of one concrete request, for the SDK and for `keyward sign`: which
 * parameters enter the signature, in what normalized form, and the resulting Authorization
 * header, with everything a person needs to debug a `signature_invalid` against another
 * implementation.
 *
 * @packageDocumentation
 */

import { normalizeParameters, type Param, type RandomBytes, randomBase62, signOAuth1 } from '@keyward/core';

/** The credentials an OAuth 1.0a request is signed with. Any strings: any server's formats. */
export interface OAuth1Credentials {
  readonly consumerKey: string;
  /** May be empty (Keyward's signed sessions, RFC 5849 §3.4.2). */
  readonly consumerSecret: string;
  readonly token?: string | undefined;
  readonly tokenSecret?: string | undefined;
  /** Default `HMAC-SHA256`. */
  readonly signatureMethod?: 'HMAC-SHA256' | 'HMAC-SHA1' | undefined;
  /** Add `oauth_body_hash` to a request whose body is not form-encoded. */
  readonly bodyHash?: boolean | undefined;
  readonly realm?: string | undefined;
  /** Send `oauth_version="1.0"` (optional, RFC 5849 §3.1). Default true; false to match signers that omit it. */
  readonly oauthVersion?: boolean | undefined;
}

/** The request to sign, exactly as it goes on the wire. */
export interface OAuth1RequestToSign {
  readonly method: string;
  /** The absolute URL requested; its origin and path form the base string URI (§3.4.1.2). */
  readonly url: URL | string;
  /** `Content-Type` of the body: form bodies are signed parameter by parameter (§3.4.1.3.1). */
  readonly contentType?: string | undefined;
  readonly body?: string | Uint8Array | undefined;
  /** Default: 32 random base62 characters. */
  readonly nonce?: string | undefined;
  /** Seconds since the epoch. */
  readonly timestamp: number;
}

/** A signed request with the intermediate values, for debugging signature mismatches. */
export interface SignedOAuth1Request {
  /** The `Authorization` header value. */
  readonly authorization: string;
  /** The protocol parameters sent, `oauth_signature` last. */
  readonly oauthParams: readonly Param[];
  /** Every parameter that entered the signature (decoded), in the order collected. */
  readonly params: readonly Param[];
  /** The normalized parameter string (RFC 5849 §3.4.1.3.2). */
  readonly normalizedParameters: string;
  /** The signature base string (RFC 5849 §3.4.1.1). */
  readonly baseString: string;
  readonly signature: string;
}

/** Length of generated nonces: 32 base62 characters is ≈190 bits, well under Keyward's 64-character cap. */
export const NONCE_LENGTH = 32;

/** A fresh nonce (RFC 5849 §3.3): random, so it is unique per timestamp and key without coordination. */
export function generateNonce(random?: RandomBytes): string {
  return randomBase62(NONCE_LENGTH, random);
}

/**
 * Signs a request (RFC 5849 §3.4) with the protocol parameters in the Authorization header
 * (§3.5.1). Throws `TypeError` on misuse (a URL that is not http(s), a query or form body that is
 * not valid percent-encoded UTF-8); no secret appears in the message.
 */
export function signRequest(
  credentials: OAuth1Credentials,
  request: OAuth1RequestToSign,
  random?: RandomBytes,
): SignedOAuth1Request {
  const signed = signOAuth1({
    method: request.method,
    url: request.url,
    consumerKey: credentials.consumerKey,
    consumerSecret: credentials.consumerSecret,
    token: credentials.token,
    tokenSecret: credentials.tokenSecret,
    signatureMethod: credentials.signatureMethod ?? 'HMAC-SHA256',
    nonce: request.nonce ?? generateNonce(random),
    timestamp: request.timestamp,
    body: request.body,
    contentType: request.contentType,
    bodyHash: credentials.bodyHash === true,
    realm: credentials.realm,
    includeVersion: credentials.oauthVersion !== false,
  });
  return {
    authorization: signed.authorization,
    oauthParams: signed.oauthParams,
    params: signed.params,
    normalizedParameters: normalizeParameters(signed.params),
    baseString: signed.baseString,
    signature: signed.signature,
  };
}
