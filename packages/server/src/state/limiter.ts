/**
 * Fixed-window counters in memory: failed attempts (per client address, per key id and
 * address, per account and address) and per-key request rates.
 *
 * Bounded without ever forgetting a counter that is still inside its window: guard counters
 * (keys starting `fail:`, the ones a stranger can create) are aggregated to a wider address
 * prefix as the table fills, and once it is full a newcomer it cannot track is treated as over
 * its limit. A flood therefore limits the flood, never frees the already-limited.
 *
 * @packageDocumentation
 */

import { isIPv4, isIPv6 } from 'node:net';
import type { Clock, Limit, Limiter, LimitState } from '../verify/ports.js';

export type { Limit, Limiter, LimitState } from '../verify/ports.js';

/**
 * The prefix of guard counters: counters a stranger can create by sending requests (failures,
 * logins, registrations). Only these are aggregated under pressure and refused when the table
 * is full; other counters (`rate:` per verified key) are created only after a secret matched.
 */
export const GUARD_PREFIX = 'fail:';

/** Separates a guard counter's subject from the client address it is counted for. */
const AT = '@';

/**
 * An address as limits count it: IPv4 as is, IPv6 by its /64 (one subscriber's network: a
 * host that owns a /64 could otherwise step through 2^64 addresses), IPv4-mapped IPv6 as IPv4.
 */
export function addressBucket(clientIp: string): string {
  return widenAddress(clientIp, 0);
}

// Level 0: the exact IPv4 address or the IPv6 /64. Level 1 (the table is half full): IPv4 /24,
// IPv6 /48. Level 2 (nearly full): IPv4 /16, IPv6 /32. Anything not an address is kept as is.
const V4_BITS = [32, 24, 16];
const V6_BITS = [64, 48, 32];

function widenAddress(address: string, level: number): string {
  const slash = address.indexOf('/');
  const ip = slash === -1 ? address : address.slice(0, slash);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped?.[1] ?? ip;
  if (isIPv4(v4)) {
    const bits = V4_BITS[level] ?? 16;
    const octets = v4.split('.').map(Number);
    const kept = octets.map((o, i) => (i * 8 < bits ? o : 0));
    return bits === 32 ? kept.join('.') : `${kept.join('.')}/${bits}`;
  }
  if (isIPv6(ip)) {
    const bits = V6_BITS[level] ?? 32;
    const groups = expandIPv6(ip).slice(0, bits / 16);
    return `${groups.join(':')}::/${bits}`;
  }
  return address;
}

// The eight 16-bit groups of an IPv6 address, lower-case, without leading zeros.
function expandIPv6(ip: string): string[] {
  const zone = ip.indexOf('%');
  let text = (zone === -1 ? ip : ip.slice(0, zone)).toLowerCase();
  // A trailing dotted IPv4 part is two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}

/**
 * The limiter key of the failed attempts from one client address (IPv6 by /64). Every place
 * that refuses a credential (the verifier, the OAuth endpoints, the metrics token) counts on
 * this one key, so that an address is limited for its failures wherever they happen.
 */
export function addressFailures(clientIp: string): string {
  return `${GUARD_PREFIX}ip${AT}${addressBucket(clientIp)}`;
}

/**
 * The limiter key of the failed attempts naming one key id (raw) from one client address: a
 * stranger's failures elsewhere never count against the owner's address.
 */
export function keyAddressFailures(rawKeyId: string, clientIp: string): string {
  return `${GUARD_PREFIX}key:${rawKeyId}${AT}${addressBucket(clientIp)}`;
}

/**
 * A guard counter for `subject` (for example `login:<email>`) from one client address, or, with
 * no address, across all addresses.
 */
export function guardKey(subject: string, clientIp?: string): string {
  return clientIp === undefined
    ? `${GUARD_PREFIX}${subject}`
    : `${GUARD_PREFIX}${subject}${AT}${addressBucket(clientIp)}`;
}

interface Window {
  end: number;
  count: number;
}

/** The default bound of each of the limiter's two tables. */
export const DEFAULT_MAX_KEYS = 100_000;

/**
 * A {@link Limiter} in process memory; answers synchronously.
 *
 * Two tables of at most `maxKeys` live windows each: guard counters (`fail:…`) and the rest.
 * Ended windows are swept once the clock passes the earliest end seen; a live window is never
 * dropped. Guard counters for an address are widened as their table fills (IPv4 /24 and IPv6
 * /48 from half full, IPv4 /16 and IPv6 /32 from 90 %); when the table is full, a guard key it
 * cannot track, even widened, answers "over the limit". A full table of other counters stops
 * tracking newcomers (they are created only for keys whose secret matched).
 */
export class MemoryLimiter implements Limiter {
  private readonly guards = new Map<string, Window>();
  private readonly others = new Map<string, Window>();
  private readonly maxKeys: number;
  // The earliest end of a window in the tables, as of the last sweep: before it, nothing ended.
  private nextEnd = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    options: { maxKeys?: number } = {},
  ) {
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  /** Live counters held now (both tables), for tests and metrics. */
  get size(): number {
    return this.guards.size + this.others.size;
  }

  private sweep(now: number): void {
    if (now < this.nextEnd) return;
    let next = Number.POSITIVE_INFINITY;
    for (const table of [this.guards, this.others]) {
      for (const [key, w] of table) {
        if (w.end <= now) table.delete(key);
        else if (w.end < next) next = w.end;
      }
    }
    this.nextEnd = next;
  }

  // The keys a guard key may be counted under, narrowest first: its own, then widened.
  private candidates(key: string): string[] {
    const at = key.lastIndexOf(AT);
    if (!key.startsWith(GUARD_PREFIX) || at === -1) return [key];
    const subject = key.slice(0, at + 1);
    const address = key.slice(at + 1);
    const out = [key];
    for (let level = 1; level < V4_BITS.length; level++) {
      const wider = subject + widenAddress(address, level);
      if (!out.includes(wider)) out.push(wider);
    }
    return out;
  }

  // The live window `key` counts under, if any.
  private find(key: string, now: number): Window | undefined {
    const table = key.startsWith(GUARD_PREFIX) ? this.guards : this.others;
    for (const k of this.candidates(key)) {
      const w = table.get(k);
      if (w !== undefined && w.end > now) return w;
    }
    return undefined;
  }

  // A new window for `key`, at the width the table's fill allows; undefined when full.
  private open(key: string, limit: Limit, now: number): Window | undefined {
    const guard = key.startsWith(GUARD_PREFIX);
    const table = guard ? this.guards : this.others;
    if (table.size >= this.maxKeys) return undefined;
    let name = key;
    if (guard) {
      const candidates = this.candidates(key);
      const level = table.size >= this.maxKeys * 0.9 ? 2 : table.size >= this.maxKeys / 2 ? 1 : 0;
      name = candidates[Math.min(level, candidates.length - 1)] ?? key;
    }
    const size = limit.windowSeconds * 1000;
    const start = now - (now % size);
    const w = { end: start + size, count: 0 };
    table.set(name, w);
    if (w.end < this.nextEnd) this.nextEnd = w.end;
    return w;
  }

  private state(w: Window, now: number, allowed: boolean): LimitState {
    return { allowed, retryAfter: Math.max(1, Math.ceil((w.end - now) / 1000)) };
  }

  /** A newcomer the full guard table cannot track: over the limit for one window. */
  private untracked(key: string, limit: Limit): LimitState {
    return key.startsWith(GUARD_PREFIX)
      ? { allowed: false, retryAfter: limit.windowSeconds }
      : { allowed: true, retryAfter: 0 };
  }

  hit(key: string, limit: Limit): LimitState {
    const now = this.clock.now();
    this.sweep(now);
    const w = this.find(key, now) ?? this.open(key, limit, now);
    if (w === undefined) return this.untracked(key, limit);
    w.count++;
    return this.state(w, now, w.count <= limit.limit);
  }

  check(key: string, limit: Limit): LimitState {
    const now = this.clock.now();
    this.sweep(now);
    const w = this.find(key, now);
    if (w === undefined) {
      const table = key.startsWith(GUARD_PREFIX) ? this.guards : this.others;
      return table.size >= this.maxKeys ? this.untracked(key, limit) : { allowed: true, retryAfter: 0 };
    }
    return this.state(w, now, w.count < limit.limit);
  }

  undo(key: string): void {
    const w = this.find(key, this.clock.now());
    if (w !== undefined && w.count > 0) w.count--;
  }

  count(key: string): number {
    const now = this.clock.now();
    this.sweep(now);
    const w = this.find(key, now);
    if (w !== undefined) return w.count;
    // A guard key the full table cannot track counts as without bound (newcomers are limited).
    return key.startsWith(GUARD_PREFIX) && this.guards.size >= this.maxKeys ? Number.POSITIVE_INFINITY : 0;
  }
}
