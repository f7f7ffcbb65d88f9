/**
 * OAuth 1.0a signature methods (RFC 5849 §3.4.2–§3.4.4) and the OAuth Request Body Hash.
 *
 * @packageDocumentation
 */

import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { percentEncode } from '../encoding.js';

/** Signature methods Keyward implements. RSA-SHA1 is deliberately absent: keys are shared secrets. */
export type SignatureMethod = 'HMAC-SHA256' | 'HMAC-SHA1' | 'PLAINTEXT';

/** Every {@link SignatureMethod}. */
export const SIGNATURE_METHODS: readonly SignatureMethod[] = ['HMAC-SHA256', 'HMAC-SHA1', 'PLAINTEXT'];

/** The methods a verifier accepts unless told otherwise: PLAINTEXT is off by default. */
export const DEFAULT_SIGNATURE_METHODS: readonly SignatureMethod[] = ['HMAC-SHA256', 'HMAC-SHA1'];

/** True when `value` names a {@link SignatureMethod}. */
export function isSignatureMethod(value: string): value is SignatureMethod {
  return value === 'HMAC-SHA256' || value === 'HMAC-SHA1' || value === 'PLAINTEXT';
}

/**
 * The signing key (RFC 5849 §3.4.2): encoded consumer secret, `&`, encoded token secret.
 * The `&` is present even when there is no token (2-legged requests).
 */
export function signingKey(consumerSecret: string, tokenSecret = ''): string {
  return `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
}

/**
 * The signing key of {@link signingKey} as a `KeyObject`, made once per secret pair and kept by
 * verifiers that check many requests with the same secrets: HMAC with a key object skips
 * turning the key string into bytes on every request (Node 20: about 15% of an HMAC over a
 * typical base string). A `KeyObject` also never shows its bytes when logged or inspected.
 */
export function createSigningKey(consumerSecret: string, tokenSecret = ''): KeyObject {
  return createSecretKey(Buffer.from(signingKey(consumerSecret, tokenSecret), 'utf8'));
}

/**
 * The HMAC signature (RFC 5849 §3.4.2; HMAC-SHA256 as widely deployed) of a base string under
 * a signing key given as a string or as a key from {@link createSigningKey}.
 *
 * @internal
 */
export function hmacSignature(
  method: 'HMAC-SHA256' | 'HMAC-SHA1',
  baseString: string,
  key: string | KeyObject,
): string {
  return createHmac(method === 'HMAC-SHA256' ? 'sha256' : 'sha1', key)
    .update(baseString)
    .digest('base64');
}

/**
 * Computes `oauth_signature` for a base string: base64 HMAC for the HMAC methods
 * (§3.4.2, and HMAC-SHA256 as widely deployed), the signing key itself for PLAINTEXT (§3.4.4).
 */
export function computeSignature(
  method: SignatureMethod,
  baseString: string,
  consumerSecret: string,
  tokenSecret = '',
): string {
  const key = signingKey(consumerSecret, tokenSecret);
  return method === 'PLAINTEXT' ? key : hmacSignature(method, baseString, key);
}

/**
 * The OAuth Request Body Hash (`oauth_body_hash`, draft-eaton-oauth-bodyhash §3.1): base64 of
 * the body's hash with the signature method's own algorithm. An absent body hashes as empty.
 * Returns `undefined` for PLAINTEXT, which has no hash algorithm and so cannot carry one.
 */
export function computeBodyHash(method: SignatureMethod, body: string | Uint8Array | undefined): string | undefined {
  const algorithm = method === 'HMAC-SHA256' ? 'sha256' : method === 'HMAC-SHA1' ? 'sha1' : undefined;
  if (algorithm === undefined) return undefined;
  return createHash(algorithm)
    .update(body ?? '')
    .digest('base64');
}
