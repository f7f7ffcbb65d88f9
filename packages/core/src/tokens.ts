/**
 * Keyward's key and token strings: recognisable (`kw_` and a type tag), safe in URLs, forms,
 * headers and Basic credentials (base62: no `+`, `/`, `:`, `%`, `=`), with ≥ 256 bits of
 * secret entropy and a CRC-32 checksum so that a mistyped or truncated string is refused before
 * any lookup, and so that secret scanners can find leaked ones.
 *
 * Layout: `kw_<tag>_<id?><secret?><checksum>`, where `id` is 22 base62 characters (≈131 bits,
 * public, the lookup key), `secret` is 43 base62 characters (≈256.03 bits) and `checksum` is
 * the CRC-32 of everything before it as 6 base62 characters.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';
import type { RandomBytes } from './secrets.js';

/** What a Keyward string is. */
export type KeywardStringType =
  | 'key_id'
  | 'key_secret'
  | 'api_key'
  | 'access_token'
  | 'session_token'
  | 'session_secret';

/** The parts of a Keyward string. Raw parts carry no prefix or checksum. */
export interface KeywardString {
  readonly type: KeywardStringType;
  /** Public id part (22 base62 characters), for types that have one. */
  readonly id?: string;
  /** Secret part (43 base62 characters), for types that have one. */
  readonly secret?: string;
}

interface Layout {
  readonly prefix: string;
  readonly id: boolean;
  readonly secret: boolean;
}

const LAYOUTS: Readonly<Record<KeywardStringType, Layout>> = {
  key_id: { prefix: 'kw_kid_', id: true, secret: false },
  key_secret: { prefix: 'kw_sk_', id: false, secret: true },
  api_key: { prefix: 'kw_key_', id: true, secret: true },
  access_token: { prefix: 'kw_at_', id: true, secret: true },
  session_token: { prefix: 'kw_st_', id: true, secret: true },
  session_secret: { prefix: 'kw_ss_', id: false, secret: true },
};

/** Length of the public id part. */
export const ID_LENGTH = 22;
/** Length of the secret part: 43 × log2(62) ≈ 256.03 bits. */
export const SECRET_LENGTH = 43;
const CHECKSUM_LENGTH = 6;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE62 = /^[0-9A-Za-z]+$/;

/**
 * `length` uniformly random base62 characters. Rejection sampling (bytes ≥ 248 are dropped)
 * keeps every character exactly equally likely.
 */
export function randomBase62(length: number, random: RandomBytes = randomBytes): string {
  let out = '';
  while (out.length < length) {
    const bytes = random(length - out.length + 8);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const b = bytes[i] as number;
      if (b < 248) out += ALPHABET[b % 62];
    }
  }
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3) of an ASCII string. */
function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc = (CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function checksum(text: string): string {
  let n = crc32(text);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * Formats a Keyward string of the given type from its raw parts. Throws `TypeError` when a part
 * is missing, superfluous or not base62 of the right length.
 */
export function formatKeywardString(type: KeywardStringType, parts: { id?: string; secret?: string }): string {
  const layout = LAYOUTS[type];
  if (layout === undefined) throw new TypeError(`unknown Keyward string type ${String(type)}`);
  checkPart('id', parts.id, layout.id, ID_LENGTH);
  checkPart('secret', parts.secret, layout.secret, SECRET_LENGTH);
  const body = layout.prefix + (parts.id ?? '') + (parts.secret ?? '');
  return body + checksum(body);
}

function checkPart(name: string, value: string | undefined, wanted: boolean, length: number): void {
  if (!wanted) {
    if (value !== undefined) throw new TypeError(`this type has no ${name} part`);
    return;
  }
  if (value === undefined || value.length !== length || !BASE62.test(value)) {
    throw new TypeError(`${name} must be ${length} base62 characters`);
  }
}

const TYPES = Object.keys(LAYOUTS) as KeywardStringType[];
const LONGEST = 'kw_key_'.length + ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH;

/**
 * Tells what a string is — key id, key secret, API key token, access token, session token or
 * session secret — and returns its raw parts; `undefined` when it is none of them (wrong
 * prefix, length, alphabet or checksum). Cheap and lookup-free: run it before touching a store.
 */
export function identify(value: string): KeywardString | undefined {
  if (value.length > LONGEST || !value.startsWith('kw_')) return undefined;
  for (const type of TYPES) {
    const layout = LAYOUTS[type];
    if (!value.startsWith(layout.prefix)) continue;
    const idLength = layout.id ? ID_LENGTH : 0;
    const secretLength = layout.secret ? SECRET_LENGTH : 0;
    const bodyLength = layout.prefix.length + idLength + secretLength;
    if (value.length !== bodyLength + CHECKSUM_LENGTH) return undefined;
    const payload = value.slice(layout.prefix.length);
    if (!BASE62.test(payload)) return undefined;
    const body = value.slice(0, bodyLength);
    if (checksum(body) !== value.slice(bodyLength)) return undefined;
    const start = layout.prefix.length;
    const parts: { type: KeywardStringType; id?: string; secret?: string } = { type };
    if (layout.id) parts.id = value.slice(start, start + ID_LENGTH);
    if (layout.secret) parts.secret = value.slice(start + idLength, bodyLength);
    return parts;
  }
  return undefined;
}

/** A new API key: its raw parts and the three strings a user is given once. */
export interface GeneratedApiKey {
  /** Raw public id (the lookup key). */
  readonly id: string;
  /** Raw secret part: hash or seal this; never store it in clear. */
  readonly secret: string;
  /** `kw_kid_…`: the key id, used as Basic user-id, `client_id` and OAuth consumer key. */
  readonly keyId: string;
  /** `kw_sk_…`: the secret, used as Basic password, `client_secret` and consumer secret. */
  readonly keySecret: string;
  /** `kw_key_…`: id and secret in one string, for `Authorization: Bearer`. */
  readonly token: string;
}

/** Generates a new API key. */
export function generateApiKey(random: RandomBytes = randomBytes): GeneratedApiKey {
  return apiKeyStrings(randomBase62(ID_LENGTH, random), randomBase62(SECRET_LENGTH, random));
}

/** The strings of an API key from its raw id and secret (for example after a rotation). */
export function apiKeyStrings(id: string, secret: string): GeneratedApiKey {
  return {
    id,
    secret,
    keyId: formatKeywardString('key_id', { id }),
    keySecret: formatKeywardString('key_secret', { secret }),
    token: formatKeywardString('api_key', { id, secret }),
  };
}

/** A new access or session token. */
export interface GeneratedToken {
  readonly id: string;
  readonly secret: string;
  readonly token: string;
}

/** Generates an access token or a session token. */
export function generateToken(
  type: 'access_token' | 'session_token',
  random: RandomBytes = randomBytes,
): GeneratedToken {
  const id = randomBase62(ID_LENGTH, random);
  const secret = randomBase62(SECRET_LENGTH, random);
  return { id, secret, token: formatKeywardString(type, { id, secret }) };
}

/** Generates a session secret (the token secret of a signed session). */
export function generateSessionSecret(random: RandomBytes = randomBytes): string {
  return formatKeywardString('session_secret', { secret: randomBase62(SECRET_LENGTH, random) });
}
