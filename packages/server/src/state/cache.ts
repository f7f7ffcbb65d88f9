/**
 * A bounded LRU cache with a time to live, for verified key material: the hot path reads no
 * database for a key it saw recently. Invalidated at once, in this process, when a key or its
 * account changes.
 *
 * @packageDocumentation
 */

import type { Clock } from '../store/context.js';

/** Options of {@link LruCache}. */
export interface LruCacheOptions {
  readonly clock: Clock;
  /** Most entries held. Default 10,000. */
  readonly maxEntries?: number;
  /** How long an entry is trusted, in milliseconds. Default 60 s. */
  readonly ttlMs?: number;
}

/**
 * Map-based LRU: a hit moves the entry to the end (most recent); inserting past the bound
 * evicts from the front (least recent). Every operation is O(1).
 */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;

  constructor(private readonly options: LruCacheOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  /** The value for `key`, if present and fresh. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.options.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` under `key` for the TTL. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.options.clock.now() + this.ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every entry whose value matches. */
  deleteWhere(predicate: (value: V) => boolean): void {
    for (const [key, entry] of this.entries) if (predicate(entry.value)) this.entries.delete(key);
  }

  /** Number of entries (fresh or not yet swept). */
  get size(): number {
    return this.entries.size;
  }
}
