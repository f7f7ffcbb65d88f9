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
  /**
   * Whether the cache may be used now (see `InvalidationBus.trusted`): while false, `get` finds
   * nothing and `set` keeps nothing. Default: always.
   */
  readonly trusted?: (() => boolean) | undefined;
}

/**
 * Map-based LRU: a hit moves the entry to the end (most recent); inserting past the bound
 * evicts from the front (least recent). Every operation is O(1).
 */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  // Counts forgets. A value read from the store before a forget may already be stale, so it is
  // kept only if no forget happened since the read began (see `version` and `set`).
  private forgets = 0;

  constructor(private readonly options: LruCacheOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  /**
   * Taken before reading a value from the store, and given to `set` with it: a value read while
   * an invalidation arrived is not kept.
   */
  version(): number {
    return this.forgets;
  }

  /** The value for `key`, if present and fresh. */
  get(key: string): V | undefined {
    if (this.options.trusted?.() === false) return undefined;
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

  /**
   * Stores `value` under `key` for the TTL, unless something was forgotten since `version` (the
   * value read from the store may be stale) or the cache is not trusted now.
   */
  set(key: string, value: V, version: number): void {
    if (version !== this.forgets || this.options.trusted?.() === false) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.options.clock.now() + this.ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.forgets++;
    this.entries.delete(key);
  }

  /** Forgets everything. */
  clear(): void {
    this.forgets++;
    this.entries.clear();
  }

  /** Forgets every entry whose value matches. */
  deleteWhere(predicate: (value: V) => boolean): void {
    this.forgets++;
    for (const [key, entry] of this.entries) if (predicate(entry.value)) this.entries.delete(key);
  }

  /** Number of entries (fresh or not yet swept). */
  get size(): number {
    return this.entries.size;
  }
}
