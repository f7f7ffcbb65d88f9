/**
 * Where the state every instance must share lives, chosen by the configuration:
 *
 * | setup | nonces | limits | invalidation |
 * | --- | --- | --- | --- |
 * | SQLite (one instance) | the embedded store | memory | in process |
 * | PostgreSQL | the `nonces` table | the `rate_limits` table (atomic upserts) | `LISTEN/NOTIFY` |
 * | Redis (`KEYWARD_REDIS_URL`) | `SET NX PX` | one Lua script per hit | pub/sub |
 *
 * The store is opened with the bus this returns, so that every change it makes is published
 * on it; servers and gateways are members (they cache, heartbeat and acknowledge), CLI commands
 * only publish.
 *
 * @packageDocumentation
 */

import type { Redis } from 'ioredis';
import type { KeywardConfig } from '../config/index.js';
import { isPostgresUrl } from '../store/database.js';
import type { Clock, Limiter, NonceStore } from '../verify/ports.js';
import type { SharedInvalidationBus } from './bus.js';
import { type OwnNonceStore, ownNonceStore, SqlNonceStore } from './nonces.js';
import type { RedisNonceStore } from './redis.js';

/** A dependency `/readyz` reports on. */
export type Dependency = 'redis' | 'invalidations';

/** The shared state of a deployment (see the module comment). */
export interface SharedState {
  /** Where it lives. */
  readonly kind: 'memory' | 'postgres' | 'redis';
  /** The invalidation bus to open the store with; undefined: the store's own, in process. */
  readonly bus: SharedInvalidationBus | undefined;
  /** Nonces, when they do not live in the store's database (Redis). */
  readonly nonces: RedisNonceStore | undefined;
  /** Limits, when they are shared; undefined: in memory. */
  readonly limiter: Limiter | undefined;
  /** Whether each dependency answers now (PostgreSQL itself is checked through the store). */
  check(): Promise<Partial<Record<Dependency, boolean>>>;
  close(): Promise<void>;
}

/**
 * The nonce store of a server or gateway on `store`: Redis's when the shared state keeps them
 * (with the store's database for stamps ahead of the clock), else the store's own (see
 * `ownNonceStore`). `own` is the part that lives in the database, to sweep.
 */
export async function nonceStoreOf(
  state: SharedState,
  store: Parameters<typeof ownNonceStore>[0],
  clock: Clock,
): Promise<{ nonces: NonceStore; own: OwnNonceStore }> {
  if (state.nonces === undefined) {
    const own = await ownNonceStore(store, clock);
    return { nonces: own, own };
  }
  const own = new SqlNonceStore(store.context.db, clock);
  state.nonces.keepAheadIn(own);
  return { nonces: state.nonces, own };
}

/** Options of {@link openSharedState}. */
export interface SharedStateOptions {
  /** A server or gateway (caches, heartbeats, acknowledges) or a CLI command (publishes only). */
  readonly member: boolean;
  readonly clock: Clock;
  /** Told about a lost channel or connection. Default: a process warning. */
  readonly onWarning?: ((message: string, error?: unknown) => void) | undefined;
}

/** Opens the shared state the configuration names; nothing to open on SQLite without Redis. */
export async function openSharedState(config: KeywardConfig, options: SharedStateOptions): Promise<SharedState> {
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message));
  // The drivers are loaded only when used: a single SQLite instance, and every CLI command on
  // it, starts without them.
  if (config.redisUrl !== undefined) {
    const [{ SharedInvalidationBus }, { connectRedis, RedisBusTransport, RedisNonceStore }, { SharedLimiter }] =
      await Promise.all([import('./bus.js'), import('./redis.js'), import('./shared-limiter.js')]);
    const redis: Redis = connectRedis(config.redisUrl);
    redis.on('error', (error: unknown) => warn('Redis connection failed', error));
    // Not fatal: the instance starts, fails closed (503) and reports on /readyz until Redis
    // answers; ioredis keeps reconnecting.
    await redis.connect().catch((error: unknown) => warn('Redis not reachable at start', error));
    const bus = new SharedInvalidationBus(new RedisBusTransport(config.redisUrl, redis), {
      member: options.member,
      onWarning: warn,
    });
    await bus.start();
    return {
      kind: 'redis',
      bus,
      nonces: new RedisNonceStore(redis, () => options.clock.now(), warn),
      limiter: new SharedLimiter({ redis }),
      async check() {
        const answers = await redis.ping().then(
          () => true,
          () => false,
        );
        return { redis: answers, invalidations: bus.healthy() };
      },
      async close() {
        await bus.close();
        redis.disconnect();
      },
    };
  }
  if (config.databaseUrl !== undefined && config.databaseUrl !== '' && isPostgresUrl(config.databaseUrl)) {
    const [{ default: pg }, { SharedInvalidationBus }, { PostgresBusTransport }, { SharedLimiter }] = await Promise.all(
      [import('pg'), import('./bus.js'), import('./postgres-bus.js'), import('./shared-limiter.js')],
    );
    // A pool of its own, small: the channel's messages and the limits, never held up behind
    // the store's queries.
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 4, connectionTimeoutMillis: 5000 });
    pool.on('error', (error) => warn('PostgreSQL connection failed while idle', error));
    // As in store/database.ts: a connection failing while checked out must not crash the process.
    pool.on('connect', (client) => client.on('error', () => {}));
    const bus = new SharedInvalidationBus(new PostgresBusTransport(config.databaseUrl, pool), {
      member: options.member,
      onWarning: warn,
    });
    await bus.start();
    return {
      kind: 'postgres',
      bus,
      nonces: undefined,
      limiter: new SharedLimiter({ pool }),
      async check() {
        return { invalidations: bus.healthy() };
      },
      async close() {
        await bus.close();
        await pool.end();
      },
    };
  }
  return inProcessState();
}

/** No shared state: one instance, whose store tells its own caches (SQLite, or tests). */
export function inProcessState(): SharedState {
  return {
    kind: 'memory',
    bus: undefined,
    nonces: undefined,
    limiter: undefined,
    check: async () => ({}),
    close: async () => {},
  };
}
