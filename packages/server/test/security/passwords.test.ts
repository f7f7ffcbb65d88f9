// Issue 16 finding 12 (ASVS 5.0 V6.2): `aaaaaaaa` was accepted as a password. The old rules had
// a hand-typed list of 66 passwords; the list now comes from `@zxcvbn-ts/language-common`.
// Fails on the old code for `aaaaaaaa` and for the common passwords the old list lacked.
import { describe, expect, it } from 'vitest';
import { PASSWORD_MAX, PASSWORD_MIN, PASSWORD_RECOMMENDED, passwordProblem } from '../../src/store/passwords.js';

describe('password rules (ASVS 5.0 V6.2)', () => {
  it.each([
    'aaaaaaaa',
    'password1',
    '12345678',
    'Password1',
    'PASSWORD',
    'qwertyuiop',
    'letmein1',
    'abcdefgh',
    '98765432',
    'abababab',
    'passwordpassword',
    'superman',
  ])('refuses %j', (password) => {
    expect(passwordProblem(password)).toBeDefined();
  });

  it('ships a list of tens of thousands of common passwords, not a handful', () => {
    // Entries the old 66-word list lacked.
    for (const password of ['michael1', 'baseball1', 'sunshine1', 'michelle1', 'hello123']) {
      expect(passwordProblem(password), password).toMatch(/common/);
    }
  });

  it.each([
    'a long passphrase',
    'correct horse battery staple',
    'secret-2-levels',
    'pässwörd☕ über alles',
    'Tr0ub4dor&3x',
  ])('accepts %j: no composition rules', (password) => {
    expect(passwordProblem(password)).toBeUndefined();
  });

  it('accepts 8 characters, recommends 15, and allows passphrases up to 128', () => {
    expect(PASSWORD_MIN).toBe(8);
    expect(PASSWORD_RECOMMENDED).toBe(15);
    expect(PASSWORD_MAX).toBeGreaterThanOrEqual(64);
    expect(passwordProblem('short')).toMatch(/at least 8 .*15 or more recommended/);
    expect(passwordProblem('k7#vq2!m')).toBeUndefined();
    const passphrase = 'the quick brown fox jumps over the lazy dog while the cat sleeps by the warm fire ok';
    expect([...passphrase].length).toBeGreaterThan(64);
    expect(passwordProblem(passphrase)).toBeUndefined();
    expect(passwordProblem('x'.repeat(20) + 'y'.repeat(PASSWORD_MAX))).toMatch(/at most/);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(passwordProblem('☕'.repeat(7))).toMatch(/at least/);
    expect(passwordProblem('☕🔑☕🔑x☕🔑y')).toBeUndefined();
  });
});
