/**
 * OAuth 1.0a signature methods (RFC 5849 §3.4.2–§3.4.4).
 *
 * @packageDocumentation
 */

import { createHmac } from 'node:crypto';
import { percentEncode } from '../encoding.js';
import { HmacKey } from './hmac.js';

// The OAuth Request Body Hash has its own module; re-exported here, where it used to live, so
// that the package entry (which exports this module) keeps exporting it.
export {
  type BodyHashAlgorithm,
  bodyHashAlgorithm,
  computeBodyHash,
  hashBody,
  verifyBodyHash,
} from './body-hash.js';

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
 * The signing key of {@link signingKey} prepared for HMAC (an {@link HmacKey}), made once per
 * secret pair and kept by verifiers that check many requests with the same secrets: each
 * signature then skips the key import. The key never shows its bytes when logged.
 */
export function createSigningKey(consumerSecret: string, tokenSecret = ''): HmacKey {
  return new HmacKey(signingKey(consumerSecret, tokenSecret));
}

/**
 * The HMAC signature (RFC 5849 §3.4.2; HMAC-SHA256 as widely deployed) of a base string under
 * a signing key given as a string or as a key from {@link createSigningKey}.
 *
 * @internal
 */
export function hmacSignature(method: 'HMAC-SHA256' | 'HMAC-SHA1', baseString: string, key: string | HmacKey): string {
  const algorithm = method === 'HMAC-SHA256' ? 'sha256' : 'sha1';
  return typeof key === 'string'
    ? createHmac(algorithm, key).update(baseString).digest('base64')
    : key.digestBase64(algorithm, baseString);
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
