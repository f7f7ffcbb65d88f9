// Finding 3 of issue 16: a flood of new addresses must not erase the limits. On the old code
// the memory limiter dropped its oldest live counters past 100,000 keys, so a limited address
// or key could guess again after a flood.
import { describe, expect, it } from 'vitest';
import { addressFailures, keyAddressFailures, MemoryLimiter } from '../../src/state/limiter.js';

const PER_IP = { limit: 30, windowSeconds: 60 };
const PER_KEY = { limit: 10, windowSeconds: 60 };

function ipv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

describe('a flood of 150,000 addresses', () => {
  it('does not make a limited address or key forget its count', () => {
    const clock = { now: () => 1_700_000_000_000 };
    const limiter = new MemoryLimiter(clock);
    const victim = '203.0.113.7';
    for (let i = 0; i < PER_IP.limit; i++) limiter.hit(addressFailures(victim), PER_IP);
    for (let i = 0; i < PER_KEY.limit; i++) limiter.hit(keyAddressFailures('k1', victim), PER_KEY);
    expect(limiter.hit(addressFailures(victim), PER_IP).allowed).toBe(false);

    // 150,000 distinct addresses spread over the whole IPv4 space, each failing once.
    for (let i = 0; i < 150_000; i++) {
      const ip = ipv4((Math.imul(i + 1, 2654435761) >>> 0) | 0x01000000);
      limiter.hit(addressFailures(ip), PER_IP);
      limiter.hit(keyAddressFailures('k1', ip), PER_KEY);
    }
    expect(limiter.size).toBeLessThanOrEqual(200_000);
    // The limited are still limited...
    expect(limiter.hit(addressFailures(victim), PER_IP).allowed).toBe(false);
    expect(limiter.hit(keyAddressFailures('k1', victim), PER_KEY).allowed).toBe(false);
    expect(limiter.check(addressFailures(victim), PER_IP).allowed).toBe(false);
  });

  it('limits newcomers once full rather than forgetting anyone', () => {
    const clock = { now: () => 1_700_000_000_000 };
    const limiter = new MemoryLimiter(clock, { maxKeys: 1000 });
    limiter.hit(addressFailures('203.0.113.7'), PER_IP);
    for (let i = 0; i < 5000; i++) limiter.hit(addressFailures(ipv4(0x0a000000 + i * 65_537)), PER_IP);
    // Full: a failure from an address it cannot track is over the limit...
    const newcomer = limiter.hit(addressFailures('2001:db8:1:2::1'), PER_IP);
    expect(newcomer).toEqual({ allowed: false, retryAfter: 60 });
    // ...while the first address is still counted (1 failure + this one).
    expect(limiter.count(addressFailures('203.0.113.7'))).toBe(1);
    expect(limiter.hit(addressFailures('203.0.113.7'), PER_IP).allowed).toBe(true);
    expect(limiter.count(addressFailures('203.0.113.7'))).toBe(2);
  });
});
