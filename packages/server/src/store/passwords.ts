/**
 * Password rules and hashing per OWASP ASVS 4 §2.1 and §2.4: length 8–128 characters, no
 * composition rules, refused when among the most common passwords, verified exactly as typed
 * (no trimming, no case folding, no truncation), hashed with argon2id at m = 19 MiB, t = 2.
 *
 * @packageDocumentation
 */

import { hash, verify } from '@node-rs/argon2';

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

// The most common passwords of 8 or more characters in public breach corpora (shorter ones are
// refused by length already). A short list by design: ASVS asks for the top ones, and a
// deployment that wants a large list can check it before calling Keyward.
const COMMON = new Set([
  '12345678',
  '123456789',
  '1234567890',
  '12345678910',
  '123123123',
  '11111111',
  '00000000',
  '87654321',
  '987654321',
  '0987654321',
  '11223344',
  '1q2w3e4r',
  '1q2w3e4r5t',
  '1qaz2wsx',
  'password',
  'password1',
  'password12',
  'password123',
  'password!',
  'passw0rd',
  'p@ssw0rd',
  'p@ssword',
  'qwertyui',
  'qwertyuiop',
  'qwerty123',
  'qwerty12345',
  'asdfghjkl',
  'asdfasdf',
  'zxcvbnm1',
  'iloveyou',
  'iloveyou1',
  'sunshine',
  'princess',
  'football',
  'baseball',
  'superman',
  'starwars',
  'whatever',
  'trustno1',
  'welcome1',
  'welcome123',
  'letmein1',
  'abc12345',
  'abcd1234',
  'aa123456',
  'admin123',
  'administrator',
  'changeme',
  'computer',
  'jennifer',
  'michelle',
  'corvette',
  'mercedes',
  'startrek',
  'chocolate',
  'butterfly',
  'liverpool',
  'master123',
  'dragon123',
  'monkey123',
  'secret123',
  'q1w2e3r4',
  'q1w2e3r4t5',
  'zaq12wsx',
  'access14',
  'football1',
]);

/** Why a password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `must be at least ${PASSWORD_MIN} characters`;
  if (length > PASSWORD_MAX) return `must be at most ${PASSWORD_MAX} characters`;
  // Compared case-insensitively: "Password1" is as guessable as "password1".
  if (COMMON.has(password.toLowerCase())) return 'is one of the most common passwords';
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
