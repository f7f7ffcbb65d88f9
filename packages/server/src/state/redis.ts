/**
 * Shared state on Redis (`KEYWARD_REDIS_URL`, through ioredis, which also speaks to Sentinel and
 * Cluster): nonces by `SET NX PX`, the invalidation channel by pub/sub. (Limits on Redis are in
 * `shared-limiter.ts`.)
 *
 * Every command fails fast while Redis is unreachable (no offline queue, a command timeout):
 * the request that needed it is refused with 503, never held, never accepted.
 *
 * @packageDocumentation
 */

import { Redis, type RedisOptions } from 'ioredis';
import type { NonceStore } from '../verify/ports.js';
import type { BusTransport, TransportHandlers } from './bus.js';
import { NonceStoreUnavailableError } from './nonces.js';

/** The prefix of every key and channel Keyward uses on Redis. */
export const REDIS_PREFIX = 'keyward:';

/** The invalidation channel on Redis. */
export const REDIS_CHANNEL = `${REDIS_PREFIX}invalidations`;

/**
 * How far ahead of the clock a stamp may be and still be trusted to Redis alone: the floor set
 * after a Redis restart lies this far ahead of the moment it is set, and stamps further ahead
 * are recorded in the database too.
 */
export const AHEAD_MS = 2000;

/** A command that takes longer than this fails (and the request with it, 503). */
const COMMAND_TIMEOUT_MS = 1000;

/**
 * Connects to Redis at `url` (`redis://`, `rediss://` for TLS) the way Keyward uses it:
 * commands fail at once while disconnected, reconnection is retried forever in the
 * background, and auto-pipelining sends the commands of one turn of the event loop together.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
    lazyConnect: true,
    ...options,
  });
  return redis;
}

// Sets the floor when the Redis server is not the one that set it (restarted, failed over):
// its nonces may be gone, so requests stamped before now may be replays it cannot recognise.
const FLOOR_SCRIPT = `
local run = redis.call('hget', KEYS[1], 'run')
if run ~= ARGV[1] then
  redis.call('hset', KEYS[1], 'run', ARGV[1], 'since', ARGV[2])
  return ARGV[2]
end
return redis.call('hget', KEYS[1], 'since')`;

/**
 * Nonces on Redis: `SET key 1 NX PX ttl` records a nonce only if it is not there, atomically
 * (Redis runs one command at a time), and lets it expire with the timestamp window. No sweep.
 *
 * A Redis server that restarts may come back without the nonces it held (no persistence, or the
 * last second of an `appendfsync everysec` log). Each time this store connects it compares the
 * server's `run_id` with the one recorded beside the nonces; when they differ, it records a
 * floor, {@link AHEAD_MS} after now: requests stamped at or before it are refused as out of the
 * timestamp window (`floorMs`), and clients sign again. A request stamped more than
 * {@link AHEAD_MS} ahead of the clock (a client clock ahead: the window allows it) could carry
 * a stamp above that floor, so its nonce is also recorded durably, in the store's database
 * ({@link RedisNonceStore.keepAheadIn}), before it is accepted. Until the floor check is done
 * on a connection, every consume fails closed (503).
 */
export class RedisNonceStore implements NonceStore {
  private floor: number | undefined;
  private checked = false;
  private durable: NonceStore | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly now: () => number,
    private readonly onWarning: (message: string, error?: unknown) => void = () => {},
  ) {
    redis.on('close', () => {
      this.checked = false;
    });
    redis.on('ready', () => void this.checkFloor());
    if (redis.status === 'ready') void this.checkFloor();
  }

  /** Requests stamped at or before this time may be replays of nonces Redis lost. */
  get floorMs(): number | undefined {
    return this.floor;
  }

  /** Where nonces stamped more than {@link AHEAD_MS} ahead are also recorded, durably. */
  keepAheadIn(durable: NonceStore): void {
    this.durable = durable;
  }

  private async checkFloor(): Promise<void> {
    try {
      const info = await this.redis.info('server');
      const run = /^run_id:(\w+)/m.exec(info)?.[1] ?? 'unknown';
      const since = await this.redis.eval(
        FLOOR_SCRIPT,
        1,
        `${REDIS_PREFIX}nonce-floor`,
        run,
        String(this.now() + AHEAD_MS),
      );
      this.floor = Number(since);
      this.checked = true;
    } catch (error) {
      this.onWarning('Redis nonce floor check failed; nonces refused until it succeeds', error);
      setTimeout(() => void this.checkFloor(), 500).unref();
    }
    try {
      // Evicting a nonce before it expires would let its replay through.
      const policy = (await this.redis.config('GET', 'maxmemory-policy')) as string[];
      if (policy[1] !== undefined && policy[1] !== 'noeviction')
        this.onWarning(`Redis maxmemory-policy is ${policy[1]}: set noeviction, or nonces may be evicted early`);
    } catch {
      // CONFIG is often disabled on managed Redis: nothing to check then.
    }
  }

  async consume(scope: string, nonce: string, expiresAt: number, stampedAt?: number): Promise<boolean> {
    if (!this.checked) throw new NonceStoreUnavailableError('nonce store (Redis) not ready');
    // The verifier refuses these stamps before asking; a caller that did not is refused here.
    if (this.floor !== undefined && (stampedAt === undefined || stampedAt <= this.floor)) return false;
    const now = this.now();
    const ahead = stampedAt !== undefined && stampedAt > now + AHEAD_MS;
    if (ahead && this.durable === undefined) throw new NonceStoreUnavailableError('no durable store for stamps ahead');
    const ttl = Math.max(1, Math.ceil(expiresAt - now));
    let fresh: boolean;
    try {
      // NUL cannot occur in a scope (key ids and tokens are base62): the join is unambiguous.
      fresh = (await this.redis.set(`${REDIS_PREFIX}nonce:${scope}\u0000${nonce}`, '1', 'PX', ttl, 'NX')) === 'OK';
    } catch (error) {
      throw new NonceStoreUnavailableError('nonce store (Redis) did not answer', { cause: error });
    }
    // Redis decides among concurrent copies; the database remembers it across a Redis restart.
    if (!fresh || !ahead) return fresh;
    return (this.durable as NonceStore).consume(scope, nonce, expiresAt, stampedAt);
  }
}

/**
 * The invalidation channel on Redis pub/sub. A subscribed connection takes no other command, so
 * listening holds its own connection; sending goes through the command connection.
 */
export class RedisBusTransport implements BusTransport {
  readonly name = 'redis';
  private subscriber: Redis | undefined;

  constructor(
    private readonly url: string,
    private readonly commands: Redis,
  ) {}

  async send(message: string): Promise<void> {
    await this.commands.publish(REDIS_CHANNEL, message);
  }

  async start(handlers: TransportHandlers): Promise<void> {
    // The offline queue stays on here, with no limit of retries: the first SUBSCRIBE waits for
    // Redis if it is not there yet, and ioredis subscribes again after every reconnect.
    const sub = connectRedis(this.url, {
      enableOfflineQueue: true,
      commandTimeout: undefined,
      maxRetriesPerRequest: null,
      lazyConnect: false,
    });
    this.subscriber = sub;
    let up = false;
    sub.on('message', (channel: string, text: string) => {
      if (channel === REDIS_CHANNEL) handlers.message(text);
    });
    const down = (error: unknown) => {
      if (!up) return;
      up = false;
      handlers.down(error);
    };
    sub.on('error', () => {});
    sub.on('close', () => down(new Error('Redis connection closed')));
    sub.on('end', () => down(new Error('Redis connection ended')));
    // 'ready' comes after every reconnect, once ioredis has subscribed again (autoResubscribe).
    sub.on('ready', () => {
      if (up) return;
      up = true;
      handlers.up();
    });
    // Not awaited: with Redis not there yet, the server starts anyway, fenced, and the
    // subscription is made when Redis comes.
    sub.subscribe(REDIS_CHANNEL).catch((error: unknown) => handlers.down(error));
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub !== undefined) {
      sub.removeAllListeners();
      sub.on('error', () => {});
      sub.disconnect();
    }
  }
}
