/**
 * Password rules and hashing per OWASP ASVS 5.0 V6.2: at least 8 characters (15 or more
 * recommended, ASVS 6.2.1), up to 128 so long passphrases fit (6.2.9 asks for at least 64), no
 * composition rules (6.2.5), refused when among the most common passwords (6.2.4) or when one
 * character or a short unit repeated or a plain run (`aaaaaaaa`, `abababab`, `abcdefgh`; NIST
 * SP 800-63B §5.1.1.2 lists "repetitive or sequential characters"), verified exactly as typed
 * (no trimming, no case folding, no truncation; 6.2.7), hashed with argon2id at m = 19 MiB, t = 2.
 *
 * The common-password list is `@zxcvbn-ts/language-common`'s `passwords-common` dictionary
 * (MIT, the maintained TypeScript port of Dropbox's zxcvbn): the 49,233 most frequent passwords
 * of public breach corpora, lower-cased, shipped inside the package so no lookup leaves the host.
 *
 * @packageDocumentation
 */

import { hash, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';

/** Argon2id parameters: the ASVS/OWASP minimum (m = 19 MiB, t = 2, p = 1). */
export const ARGON2_OPTIONS = {
  // Algorithm.Argon2id; the binding exports it as a const enum, which isolated modules cannot read.
  algorithm: 2,
  memoryCost: 19 * 1024,
  timeCost: 2,
  parallelism: 1,
} as const;

/** Shortest and longest passwords accepted, in characters (code points). */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
/** The length ASVS 5.0 6.2.1 recommends; shorter is accepted, and the refusal message says so. */
export const PASSWORD_RECOMMENDED = 15;

// Lower-case entries; built once, at first use, so a process that never checks a password
// (the verifier, most CLI commands) does not hold ~50,000 strings in a Set.
let common: ReadonlySet<string> | undefined;
function isCommon(lowered: string): boolean {
  common ??= new Set(dictionary['passwords-common']);
  return common.has(lowered);
}

// One character or a short unit repeated (`aaaaaaaa`, `abababab`, `123123123`), or a common
// password repeated (`passwordpassword`): no more guessable than its unit.
function isRepeated(chars: readonly string[]): boolean {
  for (let size = 1; size <= chars.length / 2; size++) {
    if (chars.length % size !== 0) continue;
    const unit = chars.slice(0, size).join('');
    if (unit.repeat(chars.length / size) !== chars.join('')) continue;
    if (size <= 4 || isCommon(unit.toLowerCase())) return true;
  }
  return false;
}

// A plain run up or down the code points: `abcdefgh`, `98765432`.
function isSequence(chars: readonly string[]): boolean {
  const step = (chars[1]?.codePointAt(0) ?? 0) - (chars[0]?.codePointAt(0) ?? 0);
  if (step !== 1 && step !== -1) return false;
  return chars.every((c, i) => i === 0 || (c.codePointAt(0) ?? 0) - (chars[i - 1]?.codePointAt(0) ?? 0) === step);
}

/** Why a password is refused (completing "password …"), or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  const chars = [...password];
  if (chars.length < PASSWORD_MIN) {
    return `must be at least ${PASSWORD_MIN} characters (${PASSWORD_RECOMMENDED} or more recommended; a passphrase of a few words is easiest)`;
  }
  if (chars.length > PASSWORD_MAX) return `must be at most ${PASSWORD_MAX} characters`;
  // Compared case-insensitively: "Password1" is as guessable as "password1".
  const lowered = password.toLowerCase();
  if (isCommon(lowered)) return 'is one of the most common passwords';
  if (isRepeated(chars) || isSequence(chars)) return 'is a repeated or sequential pattern';
  return undefined;
}

/** Hashes a password with argon2id. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

/** Verifies a password exactly as typed against an argon2id hash; false on any error. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}
