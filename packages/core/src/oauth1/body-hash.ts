/**
 * The OAuth Request Body Hash extension (oauth.net, draft-eaton-oauth-bodyhash-00): a body that
 * is not form-encoded takes no part in the signature base string (RFC 5849 §3.4.1.3.1), so the
 * client sends its hash as the signed protocol parameter `oauth_body_hash`, and the server
 * hashes the body it received and compares.
 *
 * @packageDocumentation
 */

import { hash } from 'node:crypto';
import { fail, type Result, type Success, succeed } from '../errors.js';
import { constantTimeEqual } from '../secrets.js';
import type { SignatureMethod } from './signature.js';

/** The digests an `oauth_body_hash` may be computed with. */
export type BodyHashAlgorithm = 'sha1' | 'sha256';

// Base64 with padding (RFC 4648 §4), as §3.2 step 2 requires, of a 20-byte SHA-1 digest and of
// a 32-byte SHA-256 digest: 4 * ceil(n / 3) characters.
const SHA1_BASE64_LENGTH = 28;
const SHA256_BASE64_LENGTH = 44;

/**
 * `oauth_body_hash` of a body with the given digest (draft-eaton-oauth-bodyhash §3.2): base64
 * of the hash of the entity body as sent, bytes as they are and a string as its UTF-8; a
 * request without a body hashes the empty string.
 */
export function hashBody(algorithm: BodyHashAlgorithm, body: string | Uint8Array | undefined): string {
  return hash(algorithm, body ?? '', 'base64');
}

/**
 * The `oauth_body_hash` a signer sends (draft-eaton-oauth-bodyhash §3.1): the digest of the
 * signature method itself, SHA-1 for HMAC-SHA1 and, by the same rule, SHA-256 for HMAC-SHA256.
 * Returns `undefined` for PLAINTEXT, which has no hash algorithm and so cannot carry one.
 */
export function computeBodyHash(method: SignatureMethod, body: string | Uint8Array | undefined): string | undefined {
  if (method === 'PLAINTEXT') return undefined;
  return hashBody(method === 'HMAC-SHA256' ? 'sha256' : 'sha1', body);
}

/**
 * The digest a presented `oauth_body_hash` was made with, known from its length: 28 characters
 * for SHA-1, 44 for SHA-256; `undefined` for any other length.
 *
 * Why by length and not by signature method: §3.1 ties the digest to the method only for the
 * SHA-1 methods, and says nothing of HMAC-SHA256, so clients differ. Python's oauthlib (under
 * requests-oauthlib) sends SHA-1 for every method; most others send the method's own digest.
 * Both are accepted for either HMAC method. A SHA-1 body hash is as strong as SHA-1 (the draft's
 * §6.2 says as much): a client that wants more sends SHA-256, which Keyward's signer does for
 * HMAC-SHA256.
 */
export function bodyHashAlgorithm(presented: string): BodyHashAlgorithm | undefined {
  if (presented.length === SHA1_BASE64_LENGTH) return 'sha1';
  if (presented.length === SHA256_BASE64_LENGTH) return 'sha256';
  return undefined;
}

// The one success value, shared: this runs on every request that carries a body hash.
const MATCHES: Success<true> = Object.freeze(succeed(true as const));

/**
 * Checks a presented `oauth_body_hash` against the body received: the body is hashed with the
 * digest the value's length names ({@link bodyHashAlgorithm}) and the two base64 strings are
 * compared in constant time, exactly (no other encoding of the same digest is accepted, as for
 * `oauth_signature`). A value of any other length, or one that differs, is `body_hash_invalid`.
 *
 * Call it once the signature verified: the signature is what makes the presented value the
 * client's own.
 */
export function verifyBodyHash(
  presented: string,
  body: string | Uint8Array | undefined,
): Result<true, 'body_hash_invalid'> {
  const algorithm = bodyHashAlgorithm(presented);
  if (algorithm === undefined) {
    return fail('body_hash_invalid', 'oauth_body_hash must be base64 of a SHA-1 or SHA-256 digest');
  }
  // Both strings have the same length here, so the comparison's time depends on that alone.
  return constantTimeEqual(hashBody(algorithm, body), presented) ? MATCHES : fail('body_hash_invalid');
}
