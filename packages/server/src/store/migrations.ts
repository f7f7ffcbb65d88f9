/**
 * Versioned schema migrations, run by Kysely's Migrator (which takes a lock, so two instances
 * starting together do not both migrate, and records what ran, so running again is a no-op).
 * Column types are the portable subset of SQLite and PostgreSQL: text, bigint, integer.
 *
 * @packageDocumentation
 */

import { type Kysely, type Migration, type MigrationResultSet, Migrator, SqliteAdapter, sql } from 'kysely';

// Migrations see the database untyped: they describe how it changes, not what it is now.
// biome-ignore lint/suspicious/noExplicitAny: Kysely's migration convention
type AnyDb = Kysely<any>;

/**
 * Refuses UPDATE and DELETE on a table at the database level, so that the audit trail cannot be
 * rewritten through Keyward's own connection, whatever the application code does.
 */
async function makeAppendOnly(db: AnyDb, table: string): Promise<void> {
  const message = `${table} is append-only`;
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    for (const op of ['update', 'delete']) {
      await sql`create trigger ${sql.raw(`${table}_no_${op}`)} before ${sql.raw(op)} on ${sql.table(table)}
        begin select raise(abort, ${sql.lit(message)}); end`.execute(db);
    }
    return;
  }
  await sql`create function ${sql.raw(`${table}_append_only`)}() returns trigger language plpgsql as $$
    begin raise exception '%', ${sql.lit(message)}; end $$`.execute(db);
  await sql`create trigger ${sql.raw(`${table}_append_only`)} before update or delete on ${sql.table(table)}
    for each statement execute function ${sql.raw(`${table}_append_only`)}()`.execute(db);
}

const initial: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('keyward_meta')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text')
      .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'member')`))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'disabled')`))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('methods', 'text')
      .addColumn('expires_at', 'bigint')
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'disabled', 'revoked')`))
      .addColumn('disabled_reason', 'text')
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('rate_limit', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .addColumn('use_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('api_keys_account').on('api_keys').column('account_id').execute();

    await db.schema
      .createTable('key_secrets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('sealed_secret', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .execute();
    await db.schema.createIndex('key_secrets_key').on('key_secrets').column('key_id').execute();

    await db.schema
      .createTable('access_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('access_tokens_key').on('access_tokens').column('key_id').execute();
    await db.schema.createIndex('access_tokens_expiry').on('access_tokens').column('expires_at').execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('client_ip', 'text', (c) => c.notNull())
      .addColumn('sealed_secret', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('idle_expires_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('sessions_account').on('sessions').column('account_id').execute();

    await db.schema
      .createTable('nonces')
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('nonce', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('nonces_pk', ['scope', 'nonce'])
      .execute();
    await db.schema.createIndex('nonces_expiry').on('nonces').column('expires_at').execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor_type', 'text', (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('object_type', 'text', (c) => c.notNull())
      .addColumn('object_id', 'text')
      .addColumn('ip', 'text')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('audit_events_at').on('audit_events').columns(['at', 'id']).execute();
    await db.schema.createIndex('audit_events_object').on('audit_events').columns(['object_id', 'at']).execute();
    await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor_id', 'at']).execute();
    await makeAppendOnly(db, 'audit_events');

    await db.schema
      .createTable('usage_hourly')
      .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
      .addColumn('hour', 'bigint', (c) => c.notNull())
      .addColumn('count', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('usage_hourly_pk', ['key_id', 'hour'])
      .execute();
  },
};

// JWT access tokens (RFC 9068) are signed with keys kept here; see store/signing-keys.ts.
const signingKeys: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('signing_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('generation', 'integer', (c) => c.notNull().unique())
      .addColumn('algorithm', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('sealed_private_key', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('sign_until', 'bigint', (c) => c.notNull())
      .addColumn('publish_until', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('signing_keys_publish').on('signing_keys').column('publish_until').execute();
  },
};

// The hourly purge finds ended sessions by these (see Sessions.purgeEnded) without reading the
// whole table.
const sessionEnds: Migration = {
  async up(db: AnyDb) {
    await db.schema.createIndex('sessions_idle_expiry').on('sessions').column('idle_expires_at').execute();
    await db.schema.createIndex('sessions_revoked').on('sessions').column('revoked_at').execute();
  },
};

// Limits shared by every instance on PostgreSQL (state/shared-limiter.ts): the table
// rate-limiter-flexible's PostgreSQL limiter expects, made here so that instances starting
// together never race to create it. Unused on SQLite (one instance counts in memory), and made
// there too so that both engines keep one schema.
const sharedLimits: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('rate_limits')
      .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('expire', 'bigint')
      .execute();
  },
};

// Verification outcomes per key and hour (store/outcomes.ts): accepted and refused requests by
// method and refusal code, with the first and last time seen and a few client addresses. Rows
// that name no existing key go to a table of their own, which has no key column to cascade.
const usageOutcomes: Migration = {
  async up(db: AnyDb) {
    const counts = (table: string) =>
      db.schema
        .createTable(table)
        .addColumn('hour', 'bigint', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .addColumn('addresses', 'text', (c) => c.notNull());
    await counts('usage_outcomes')
      .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('usage_outcomes_pk', ['key_id', 'hour', 'method', 'outcome', 'code'])
      .execute();
    // The all-keys views read by hour.
    await db.schema.createIndex('usage_outcomes_hour').on('usage_outcomes').column('hour').execute();
    await counts('unattributed_outcomes')
      .addPrimaryKeyConstraint('unattributed_outcomes_pk', ['hour', 'method', 'outcome', 'code'])
      .execute();
  },
};

/** Every migration, by name; names sort in the order they run. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_signing_keys': signingKeys,
  '0003_session_ends': sessionEnds,
  '0004_shared_limits': sharedLimits,
  '0005_usage_outcomes': usageOutcomes,
};

/**
 * Brings the schema to the latest version. Idempotent; safe to run from several instances at
 * once. Each migration runs in a transaction with its record (on SQLite too: see database.ts),
 * so a crash or failure leaves it wholly applied or not at all. Throws with the failing
 * migration's name when one fails.
 */
export async function migrateToLatest(db: AnyDb): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
    migrationTableName: 'keyward_migrations',
    migrationLockTableName: 'keyward_migrations_lock',
  });
  const result = await migrator.migrateToLatest();
  if (result.error !== undefined) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${String(result.error)}`, { cause: result.error });
  }
  return result;
}
