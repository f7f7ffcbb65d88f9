/**
 * Opening a store: choose the engine, prepare the data directory, migrate, load and check the
 * keyring, and hand out the repositories.
 *
 * @packageDocumentation
 */

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CredentialSource, InvalidationBus } from '../verify/ports.js';
import { Accounts } from './accounts.js';
import { AuditLog } from './audit.js';
import { type Clock, Invalidations, type StoreContext, systemClock } from './context.js';
import { SqlCredentialSource } from './credentials.js';
import { type Engine, type OpenDatabase, openDatabase } from './database.js';
import {
  checkKeyring,
  DEFAULT_DATA_DIR,
  ensureDataDir,
  hasKeyringCheck,
  type Keyring,
  loadKeyring,
  missingKeyFiles,
  StoreNotFoundError,
} from './keyring.js';
import { Keys } from './keys.js';
import { migrateToLatest } from './migrations.js';
import { OutcomeCounter } from './outcomes.js';
import { Sessions } from './sessions.js';
import { SigningKeys } from './signing-keys.js';
import { AccessTokens } from './tokens.js';
import { UsageCounter } from './usage.js';

/** Where the store lives and what it is keyed with; usually from the configuration (`storeConfigOf`). */
export interface StoreConfig {
  /** `KEYWARD_DATA_DIR`; default `.keyward`. */
  readonly dataDir?: string | undefined;
  /** `KEYWARD_DATABASE_URL`; a `postgres://` URL, or unset for SQLite in the data directory. */
  readonly databaseUrl?: string | undefined;
  /** `KEYWARD_MASTER_KEY`. */
  readonly masterKey?: string | undefined;
  /** `KEYWARD_PEPPER`. */
  readonly pepper?: string | undefined;
  readonly clock?: Clock | undefined;
  /** How often batched usage counters are written, in milliseconds. Default 10 s; 0 disables the timer. */
  readonly usageFlushMs?: number | undefined;
  /** Told when a usage flush fails (the counts are kept for the next flush). Default: a process warning. */
  readonly onUsageFlushError?: ((error: unknown) => void) | undefined;
  /**
   * Told when a pooled PostgreSQL connection fails while idle; the pool reconnects on demand and
   * the store carries on. Default: a process warning.
   */
  readonly onDatabaseError?: ((error: Error) => void) | undefined;
  /** How long a JWT signing key signs before the next one is made, in milliseconds. Default 30 days. */
  readonly signingKeyRotationMs?: number | undefined;
  /**
   * Where changes to keys, accounts and tokens are published; every verifier on this store
   * subscribes. Default: this process only ({@link Invalidations}); a shared bus reaches every
   * instance.
   */
  readonly invalidations?: InvalidationBus | undefined;
  /**
   * Whether a missing SQLite data directory, database and key files may be created: the server
   * does on its first start (the default). With `false` (every command but `serve`), a store
   * that is not there is refused with a {@link StoreNotFoundError} and nothing is created.
   */
  readonly create?: boolean | undefined;
}

/** An open store. */
export interface Store {
  readonly engine: Engine;
  /** Names of the migrations this open applied (empty when the schema was current). */
  readonly migrated: readonly string[];
  readonly context: StoreContext;
  readonly accounts: Accounts;
  readonly keys: Keys;
  readonly tokens: AccessTokens;
  /** Keys that sign JWT access tokens (made on demand, rotated, published as a JWK set). */
  readonly signingKeys: SigningKeys;
  readonly sessions: Sessions;
  readonly audit: AuditLog;
  readonly usage: UsageCounter;
  /** Verification outcomes per key and hour (accepted and refused), batched like `usage`. */
  readonly outcomes: OutcomeCounter;
  /** The store as the verifier's credential source (database failures fail closed). */
  readonly credentials: CredentialSource;
  /** Where changes to keys, accounts and tokens are published (this process's bus). */
  readonly invalidations: InvalidationBus;
  /** Flushes usage and closes the database. */
  close(): Promise<void>;
}

/**
 * Opens the store: migrations run first (idempotent), then the keyring is loaded, generated
 * only for a database that holds no secrets yet, and checked against the database. Refuses to
 * open, with a message that says what to do, when the keys do not match.
 */
export async function openStore(config: StoreConfig = {}): Promise<Store> {
  const dataDir = config.dataDir ?? DEFAULT_DATA_DIR;
  const usesSqlite = config.databaseUrl === undefined || config.databaseUrl === '';
  const create = config.create ?? true;
  if (!create) {
    // Checked before the database is opened: opening SQLite creates the file, and migrating an
    // empty PostgreSQL database whose keys are missing would leave it half set up.
    const database = join(dataDir, 'keyward.db');
    const missing = !usesSqlite
      ? []
      : !existsSync(dataDir)
        ? [resolve(dataDir)]
        : existsSync(database)
          ? []
          : [resolve(database)];
    if (!missing.includes(resolve(dataDir)))
      missing.push(...missingKeyFiles({ dataDir, masterKey: config.masterKey, pepper: config.pepper }));
    if (missing.length > 0) throw new StoreNotFoundError(resolve(dataDir), missing);
  } else if (usesSqlite) ensureDataDir(dataDir);
  const database: OpenDatabase = openDatabase({
    url: config.databaseUrl,
    sqlitePath: join(dataDir, 'keyward.db'),
    onIdleError:
      config.onDatabaseError ??
      ((error) => process.emitWarning(`database connection failed while idle: ${String(error)}`)),
  });
  try {
    const migration = await migrateToLatest(database.db);
    const migrated = (migration.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    const keyring: Keyring = loadKeyring({
      dataDir,
      masterKey: config.masterKey,
      pepper: config.pepper,
      allowGenerate: create && !(await hasKeyringCheck(database.db)),
    });
    await checkKeyring(database.db, keyring);
    const context: StoreContext = {
      db: database.db,
      keyring,
      clock: config.clock ?? systemClock,
      invalidations: config.invalidations ?? new Invalidations(),
      unsynced: database.unsynced,
    };
    const audit = new AuditLog(context);
    const usage = new UsageCounter(context);
    const outcomes = new OutcomeCounter(context);
    const flushMs = config.usageFlushMs ?? 10_000;
    if (flushMs > 0) {
      const onFlushError =
        config.onUsageFlushError ?? ((error) => process.emitWarning(`usage flush failed: ${String(error)}`));
      usage.start(flushMs, onFlushError);
      outcomes.start(flushMs, onFlushError);
    }
    const repos = {
      context,
      accounts: new Accounts(context, audit),
      keys: new Keys(context, audit),
      tokens: new AccessTokens(context, audit),
      sessions: new Sessions(context, audit),
      usage,
    };
    return {
      ...repos,
      engine: database.engine,
      migrated,
      signingKeys: new SigningKeys(context, { rotationMs: config.signingKeyRotationMs }),
      audit,
      outcomes,
      credentials: new SqlCredentialSource(repos),
      invalidations: context.invalidations,
      async close() {
        try {
          await usage.stop();
        } finally {
          try {
            await outcomes.stop();
          } finally {
            await database.close();
          }
        }
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

export type { Account, NewAccount } from './accounts.js';
export type { AuditEvent, AuditQuery } from './audit.js';
export type { Actor, Clock, Invalidation, StoreContext } from './context.js';
export { Invalidations } from './context.js';
export type { Engine } from './database.js';
export { KeyringMismatchError, StoreNotFoundError } from './keyring.js';
export type { ApiKey, IssuedKey, KeyCredential, KeyMethod, KeySettings, RateLimit } from './keys.js';
export { KEY_METHODS, keyStateProblem, parseKeyId } from './keys.js';
export { ENDED_RETENTION_MS, purgeEnded } from './maintenance.js';
export { migrateToLatest } from './migrations.js';
export type { OutcomeEvent, OutcomeHour, OutcomeKind, RefusalQuery, RefusalRow } from './outcomes.js';
export { MAX_ADDRESSES, MAX_PENDING_KEYED_REFUSALS, OutcomeCounter } from './outcomes.js';
export type { IssuedSession, Session } from './sessions.js';
export type { PublicJwk, PublicSigningKey, SigningKey, SigningKeyOptions } from './signing-keys.js';
export { DEFAULT_SIGNING_KEY_ROTATION_MS, SigningKeys } from './signing-keys.js';
export type { AccessToken, AccessTokenFormat, TokenGrant } from './tokens.js';
