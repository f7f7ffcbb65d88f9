/**
 * Secrets at rest: a keyed hash for comparison and an AES-256-GCM sealed copy for the methods
 * that need the secret itself (OAuth 1.0a HMAC, signed sessions). A database dump alone yields
 * neither: the pepper and the master key live outside it.
 *
 * @packageDocumentation
 */

import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { fail, type Result, succeed } from './errors.js';

/** Source of random bytes; injected so tests can freeze it. */
export type RandomBytes = (size: number) => Uint8Array;

/**
 * Compares two secrets, MACs or hashes with `crypto.timingSafeEqual`, in time that depends only
 * on their lengths. Two strings are compared as UTF-16 code units (two bytes each, so equal
 * exactly when the strings are, lone surrogates included); a string against bytes as UTF-8.
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  if (typeof a === 'string' && typeof b === 'string') {
    if (a.length === b.length && a.length <= SCRATCH_MAX) return sameLengthStringsEqual(a, b);
    return bytesEqual(Buffer.from(a, 'utf16le'), Buffer.from(b, 'utf16le'));
  }
  return bytesEqual(
    typeof a === 'string' ? Buffer.from(a, 'utf8') : a,
    typeof b === 'string' ? Buffer.from(b, 'utf8') : b,
  );
}

function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) {
    // Still do the work of a comparison so a length mismatch costs about the same.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

// Two strings of the same length up to this many code units (every signature, MAC and token
// Keyward compares) are written into a pair of buffers kept for their length, instead of two new
// buffers per call: OAuth 1.0a verification compares on every request. Sharing is safe: nothing
// here yields. What stays in them is no more than what freed `Buffer.from` copies leave in the
// pool.
const SCRATCH_MAX = 128;
const scratch: (readonly [Buffer, Buffer] | undefined)[] = new Array(SCRATCH_MAX + 1).fill(undefined);

function sameLengthStringsEqual(a: string, b: string): boolean {
  const n = a.length;
  let pair = scratch[n];
  if (pair === undefined) {
    pair = [Buffer.alloc(2 * n), Buffer.alloc(2 * n)];
    scratch[n] = pair;
  }
  const [x, y] = pair;
  x.write(a, 0, 'utf16le');
  y.write(b, 0, 'utf16le');
  return timingSafeEqual(x, y);
}

/**
 * Keyed hash of a secret for storage and lookup comparison: HMAC-SHA-256 under a server
 * pepper, base64url. Deterministic, so the stored value can be compared with
 * {@link constantTimeEqual}; useless without the pepper.
 */
export function hashSecret(pepper: Uint8Array, secret: string): string {
  if (pepper.length < 32) throw new TypeError('pepper must be at least 32 bytes');
  return createHmac('sha256', pepper).update(secret, 'utf8').digest('base64url');
}

/** A master key for sealing, with the version byte that names it in sealed values. */
export interface MasterKey {
  /** 0–255; written into every value sealed with this key so rotation can find it. */
  readonly version: number;
  /** 32 bytes. */
  readonly key: Uint8Array;
}

const FORMAT = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 2 + IV_BYTES;

function checkKey(k: MasterKey): void {
  if (!Number.isInteger(k.version) || k.version < 0 || k.version > 255) {
    throw new TypeError('master key version must be an integer 0–255');
  }
  if (k.key.length !== 32) throw new TypeError('master key must be 32 bytes');
}

/**
 * Seals a secret with AES-256-GCM. Output (base64url): format byte `0x01`, key version byte,
 * 12-byte random IV, ciphertext, 16-byte tag. `context` (for example the key id) is bound as
 * additional authenticated data, so a sealed value copied onto another row does not open.
 */
export function sealSecret(
  secret: string,
  masterKey: MasterKey,
  context = '',
  random: RandomBytes = randomBytes,
): string {
  checkKey(masterKey);
  const iv = random(IV_BYTES);
  if (iv.length !== IV_BYTES) throw new TypeError('random() returned the wrong number of bytes');
  const header = Buffer.concat([Buffer.from([FORMAT, masterKey.version]), iv]);
  const cipher = createCipheriv('aes-256-gcm', masterKey.key, iv);
  cipher.setAAD(Buffer.concat([header, Buffer.from(context, 'utf8')]));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([header, body]).toString('base64url');
}

/** The key version a sealed value names, or `undefined` when it is not a sealed value. */
export function sealedKeyVersion(sealed: string): number | undefined {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < HEADER_BYTES + TAG_BYTES || raw[0] !== FORMAT) return undefined;
  return raw[1];
}

/**
 * Opens a value made by {@link sealSecret}. `keys` may hold several master keys during a
 * rotation; the version byte picks one. Fails with `seal_invalid` when the value is not a
 * sealed secret, no key of its version is given, or the key, context or bytes do not
 * authenticate (GCM tells these last three apart by design: not at all).
 */
export function openSecret(
  sealed: string,
  keys: MasterKey | readonly MasterKey[],
  context = '',
): Result<string, 'seal_invalid'> {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < HEADER_BYTES + TAG_BYTES || raw[0] !== FORMAT || raw.toString('base64url') !== sealed) {
    return fail('seal_invalid', 'not a sealed secret');
  }
  const version = raw[1];
  const list: readonly MasterKey[] = Array.isArray(keys) ? keys : [keys as MasterKey];
  const masterKey = list.find((k) => k.version === version);
  if (masterKey === undefined) return fail('seal_invalid', `no master key of version ${version}`);
  checkKey(masterKey);
  const header = raw.subarray(0, HEADER_BYTES);
  const iv = raw.subarray(2, HEADER_BYTES);
  const ciphertext = raw.subarray(HEADER_BYTES, raw.length - TAG_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey.key, iv);
    decipher.setAAD(Buffer.concat([header, Buffer.from(context, 'utf8')]));
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return succeed(plain.toString('utf8'));
  } catch {
    return fail('seal_invalid', 'sealed secret does not authenticate under this master key');
  }
}
