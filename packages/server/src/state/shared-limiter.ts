/**
 * Limits shared by every instance, on Redis or PostgreSQL, through rate-limiter-flexible: one
 * atomic operation per hit (a Lua script on Redis, an `INSERT … ON CONFLICT DO UPDATE …
 * RETURNING` upsert on PostgreSQL), so N instances allow N requests in all, not N each.
 *
 * A backend that does not answer fails closed: the hit rejects with a
 * {@link StoreUnavailableError} (503), it never lets the request through uncounted.
 *
 * @packageDocumentation
 */

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { type RateLimiterAbstract, RateLimiterPostgres, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { type Limit, type Limiter, type LimitState, StoreUnavailableError } from '../verify/ports.js';

/** The table of limits on PostgreSQL (created by the migration `0004_shared_limits`). */
export const LIMITS_TABLE = 'rate_limits';

/** Where a {@link SharedLimiter} counts. */
export type LimitBackend = { readonly redis: Redis } | { readonly pool: pg.Pool };

// PostgreSQL keys are varchar(255) (rate-limiter-flexible's schema); a longer key (a long key id
// named in a failed attempt) is counted under its hash.
const MAX_KEY = 200;

function storeKey(key: string): string {
  return key.length <= MAX_KEY ? key : `h:${createHash('sha256').update(key).digest('base64url')}`;
}

/** A {@link Limiter} shared by every instance (see the module comment). */
export class SharedLimiter implements Limiter {
  // rate-limiter-flexible fixes the limit per limiter object: one per distinct limit, made on
  // first use. A key always counts under the same name whatever its limit, so a limit changed
  // by an administrator applies to the count so far.
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly backend: LimitBackend) {}

  private limiter(limit: Limit): RateLimiterAbstract {
    const name = `${limit.limit}/${limit.windowSeconds}`;
    let limiter = this.limiters.get(name);
    if (limiter === undefined) {
      const common = { points: limit.limit, duration: limit.windowSeconds, keyPrefix: 'keyward' };
      limiter =
        'redis' in this.backend
          ? new RateLimiterRedis({ ...common, storeClient: this.backend.redis, rejectIfRedisNotReady: true })
          : new RateLimiterPostgres({
              ...common,
              storeClient: this.backend.pool,
              tableName: LIMITS_TABLE,
              tableCreated: true,
            });
      this.limiters.set(name, limiter);
    }
    return limiter;
  }

  // Any limiter reads and rewards a key the same way whatever its points: the first one made.
  private any(): RateLimiterAbstract {
    return this.limiter({ limit: 1, windowSeconds: 1 });
  }

  async hit(key: string, limit: Limit): Promise<LimitState> {
    try {
      const res = await this.limiter(limit).consume(storeKey(key), 1);
      return { allowed: true, retryAfter: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
    } catch (outcome) {
      // Over the limit: rate-limiter-flexible rejects with the state, not an Error.
      if (outcome instanceof RateLimiterRes)
        return { allowed: false, retryAfter: Math.max(1, Math.ceil(outcome.msBeforeNext / 1000)) };
      throw unavailable(outcome);
    }
  }

  async check(key: string, limit: Limit): Promise<LimitState> {
    const res = await this.read(key);
    if (res === null || res.consumedPoints < limit.limit) return { allowed: true, retryAfter: 0 };
    return { allowed: false, retryAfter: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
  }

  async undo(key: string): Promise<void> {
    const res = await this.read(key);
    // Nothing to take back when the window ended (never below zero, never a credit).
    if (res === null || res.consumedPoints <= 0) return;
    try {
      await this.any().reward(storeKey(key), 1);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async count(key: string): Promise<number> {
    return (await this.read(key))?.consumedPoints ?? 0;
  }

  private async read(key: string): Promise<RateLimiterRes | null> {
    try {
      return await this.any().get(storeKey(key));
    } catch (error) {
      throw unavailable(error);
    }
  }
}

function unavailable(cause: unknown): StoreUnavailableError {
  return new StoreUnavailableError('shared limits did not answer', { cause });
}
