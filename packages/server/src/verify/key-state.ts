/**
 * Whether a key whose secret matched may be used now: its own state, its account's, its expiry.
 * Told only after the secret matched, so that a stranger learns nothing about a key.
 *
 * @packageDocumentation
 */

import type { KeyCredential } from '../store/keys.js';

/** Why a key is refused once its secret matched. */
export type KeyStateError = 'key_disabled' | 'key_revoked' | 'key_expired' | 'account_disabled';

/** The state check every method applies after the credential itself verified. */
export function keyStateProblem(credential: KeyCredential, now: number): KeyStateError | undefined {
  const { key } = credential;
  if (key.status === 'revoked') return 'key_revoked';
  if (credential.accountStatus !== 'active') return 'account_disabled';
  if (key.status === 'disabled') return 'key_disabled';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'key_expired';
  return undefined;
}
