/**
 * The store as the verifier's credential source (the {@link CredentialSource} port): reads of
 * keys, access tokens, sessions and accounts, with every database failure turned into a
 * {@link StoreUnavailableError}, so that the verifier fails closed (503) on a store that cannot
 * answer and reports anything else as the fault it is.
 *
 * @packageDocumentation
 */

import { hashSecret } from '@keyward/core';
import { type CredentialSource, StoreUnavailableError } from '../verify/ports.js';
import type { Accounts } from './accounts.js';
import type { StoreContext } from './context.js';
import type { Keys } from './keys.js';
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
  constructor(private readonly repos: CredentialRepositories) {}

  key(rawKeyId: string) {
    return reading('read a key', async () => {
      const found = await this.repos.keys.credential(rawKeyId);
      // A known key costs a second query (its secrets); an unknown one makes the same query, so
      // that the time of the answer does not tell whether the id exists.
      if (found === undefined) await this.repos.keys.secretHashes(rawKeyId);
      return found;
    });
  }

  openKeySecrets(rawKeyId: string, credential: Parameters<Keys['openSecrets']>[1]): string[] {
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
