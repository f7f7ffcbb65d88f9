/**
 * The store as the verifier's credential source (the {@link CredentialSource} port): reads of
 * keys, access tokens, sessions and accounts, with every database failure turned into a
 * {@link StoreUnavailableError}, so that the verifier fails closed (503) on a store that cannot
 * answer and reports anything else as the fault it is.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';
import { hashSecret, openSecret, sealSecret } from '@keyward/core';
import { type CredentialSource, StoreUnavailableError } from '../verify/ports.js';
import type { Accounts } from './accounts.js';
import type { StoreContext } from './context.js';
import type { KeyCredential, Keys } from './keys.js';
import type { Session, Sessions } from './sessions.js';
import type { AccessTokens } from './tokens.js';
import type { UsageCounter } from './usage.js';

/** Runs a database read; a failure becomes a {@link StoreUnavailableError} carrying it as cause. */
async function reading<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(`the store could not ${what}`, { cause: error });
  }
}

/** The repositories a {@link SqlCredentialSource} reads. */
export interface CredentialRepositories {
  readonly context: StoreContext;
  readonly accounts: Accounts;
  readonly keys: Keys;
  readonly tokens: AccessTokens;
  readonly sessions: Sessions;
  readonly usage: UsageCounter;
}

/** The SQL store (SQLite or PostgreSQL) behind the credential-source port. */
export class SqlCredentialSource implements CredentialSource {
  // A secret no key has, sealed like a key's (same length, same AES-256-GCM under the current
  // master key), so that a miss can open it and pay what a hit pays to open its real one.
  private readonly decoy: { readonly sealed: string; readonly context: string };
  // The last key found: what a miss reads and opens in its place (never returned for a miss).
  private shadow: { readonly rawId: string; readonly credential: KeyCredential } | undefined;

  constructor(private readonly repos: CredentialRepositories) {
    const context = `key:decoy-${randomBytes(8).toString('hex')}`;
    this.decoy = {
      sealed: sealSecret(randomBytes(32).toString('base64url'), repos.context.keyring.current, context),
      context,
    };
  }

  key(rawKeyId: string) {
    return reading('read a key', async () => {
      // A miss makes a hit's secrets query, for the last key found, so it reads the rows a hit
      // reads and its time does not tell that the id has no key.
      const found = await this.repos.keys.credential(rawKeyId, this.shadow?.rawId);
      if (found !== undefined) this.shadow = { rawId: rawKeyId, credential: found };
      return found;
    });
  }

  /**
   * The key's secrets in clear. Given no credential (an unknown id) or no secrets, opens the
   * last key found's secrets (or, before any, a decoy sealed secret) and drops them, so that a
   * miss does the work a hit does: AES-GCM opening and formatting.
   */
  openKeySecrets(rawKeyId: string, credential: KeyCredential | null): string[] {
    if (credential === null || credential.secrets.length === 0) {
      const shadow = this.shadow;
      if (shadow !== undefined && shadow.credential.secrets.length > 0)
        this.repos.keys.openSecrets(shadow.rawId, shadow.credential);
      else openSecret(this.decoy.sealed, this.repos.context.keyring.masterKeys, this.decoy.context);
      return [];
    }
    return this.repos.keys.openSecrets(rawKeyId, credential);
  }

  accessToken(rawTokenId: string) {
    return reading('read an access token', () => this.repos.tokens.lookup(rawTokenId));
  }

  hashSecret(rawSecret: string): string {
    return hashSecret(this.repos.context.keyring.pepper, rawSecret);
  }

  session(token: string) {
    return reading('read a session', () => this.repos.sessions.find(token));
  }

  openSessionSecret(sessionId: string, sealed: string): string {
    return this.repos.sessions.openSecret(sessionId, sealed);
  }

  async endSession(sessionId: string): Promise<void> {
    await reading('end a session', () => this.repos.sessions.revoke(sessionId));
  }

  touchSession(session: Session, idleMs: number): Promise<void> {
    return reading('touch a session', () => this.repos.sessions.touch(session, idleMs));
  }

  account(accountId: string) {
    return reading('read an account', () => this.repos.accounts.find(accountId));
  }

  recordUse(rawKeyId: string): void {
    this.repos.usage.record(rawKeyId);
  }
}
