/**
 * Fixed-window counters in memory: failed attempts per client address and per key id, and
 * per-key request rates. Bounded: windows that ended are swept as new ones open.
 *
 * @packageDocumentation
 */

import type { Clock, Limit, Limiter, LimitState } from '../verify/ports.js';

export type { Limit, Limiter, LimitState } from '../verify/ports.js';

/**
 * The limiter key of the failed attempts from one client address. Every place that refuses a
 * credential (the verifier, the OAuth endpoints, the metrics token) counts on this one key, so
 * that an address is limited for its failures wherever they happen.
 */
export function addressFailures(clientIp: string): string {
  return `fail:ip:${clientIp}`;
}

/** The limiter key of the failed attempts naming one key id (raw), wherever they happen. */
export function keyIdFailures(rawKeyId: string): string {
  return `fail:key:${rawKeyId}`;
}

interface Window {
  start: number;
  end: number;
  count: number;
}

/** A {@link Limiter} in process memory; answers synchronously. */
export class MemoryLimiter implements Limiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxKeys: number;

  constructor(
    private readonly clock: Clock,
    options: { maxKeys?: number } = {},
  ) {
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  private window(key: string, limit: Limit, now: number): Window {
    let w = this.windows.get(key);
    if (w === undefined || w.end <= now) {
      const size = limit.windowSeconds * 1000;
      const start = now - (now % size);
      w = { start, end: start + size, count: 0 };
      this.windows.delete(key);
      this.windows.set(key, w);
      this.bound(now);
    }
    return w;
  }

  // Drop ended windows from the front (oldest first); past the bound, drop the oldest anyway:
  // forgetting a counter can only let a client retry sooner, never lock anyone out.
  private bound(now: number): void {
    for (const [key, w] of this.windows) {
      if (this.windows.size <= this.maxKeys && w.end > now) break;
      this.windows.delete(key);
    }
  }

  hit(key: string, limit: Limit): LimitState {
    const now = this.clock.now();
    const w = this.window(key, limit, now);
    w.count++;
    return { allowed: w.count <= limit.limit, retryAfter: Math.max(1, Math.ceil((w.end - now) / 1000)) };
  }

  check(key: string, limit: Limit): LimitState {
    const now = this.clock.now();
    const w = this.windows.get(key);
    if (w === undefined || w.end <= now) return { allowed: true, retryAfter: 0 };
    return { allowed: w.count < limit.limit, retryAfter: Math.max(1, Math.ceil((w.end - now) / 1000)) };
  }
}
