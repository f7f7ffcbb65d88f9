import { describe, expect, it } from 'vitest';
import { addressBucket, addressFailures, guardKey, MemoryLimiter } from './limiter.js';

const LIMIT = { limit: 2, windowSeconds: 60 };

describe('MemoryLimiter', () => {
  it('counts in fixed windows, with Retry-After to the end of the window', () => {
    const clock = { t: 120_000, now: () => clock.t };
    const limiter = new MemoryLimiter(clock);
    expect(limiter.hit('rate:a', LIMIT)).toEqual({ allowed: true, retryAfter: 60 });
    expect(limiter.hit('rate:a', LIMIT).allowed).toBe(true);
    expect(limiter.hit('rate:a', LIMIT)).toEqual({ allowed: false, retryAfter: 60 });
    expect(limiter.check('rate:a', LIMIT).allowed).toBe(false);
    clock.t += 60_000;
    expect(limiter.check('rate:a', LIMIT).allowed).toBe(true);
    expect(limiter.count('rate:a')).toBe(0);
  });

  it('takes a hit back with undo, never below zero', () => {
    const limiter = new MemoryLimiter({ now: () => 0 });
    limiter.hit('fail:x', LIMIT);
    limiter.hit('fail:x', LIMIT);
    limiter.undo('fail:x');
    expect(limiter.count('fail:x')).toBe(1);
    limiter.undo('fail:x');
    limiter.undo('fail:x');
    expect(limiter.count('fail:x')).toBe(0);
  });

  it('counts IPv6 per /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe(addressBucket('2001:0db8:0001:0002:ffff:1:2:3'));
    expect(addressBucket('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressFailures('192.0.2.1')).toBe('fail:ip@192.0.2.1');
    const limiter = new MemoryLimiter({ now: () => 0 });
    limiter.hit(addressFailures('2001:db8:1:2::1'), LIMIT);
    limiter.hit(addressFailures('2001:db8:1:2::99'), LIMIT);
    expect(limiter.hit(addressFailures('2001:db8:1:2:ffff::'), LIMIT).allowed).toBe(false);
  });

  it('aggregates new guard counters by wider prefixes as it fills, never dropping a live one', () => {
    const limiter = new MemoryLimiter({ now: () => 0 }, { maxKeys: 100 });
    for (let i = 0; i < 50; i++) limiter.hit(addressFailures(`10.0.${i}.1`), LIMIT);
    expect(limiter.size).toBe(50);
    // Half full: a new address is counted with its /24.
    limiter.hit(addressFailures('172.16.5.1'), LIMIT);
    expect(limiter.hit(addressFailures('172.16.5.200'), LIMIT).allowed).toBe(true);
    expect(limiter.hit(addressFailures('172.16.5.99'), LIMIT).allowed).toBe(false);
    // The exact counters made before are still found as such.
    expect(limiter.count(addressFailures('10.0.3.1'))).toBe(1);
    expect(limiter.count(addressFailures('10.0.3.2'))).toBe(0);
  });

  it('ends windows by the clock, and only then frees their room', () => {
    const clock = { t: 0, now: () => clock.t };
    const limiter = new MemoryLimiter(clock, { maxKeys: 10 });
    for (let i = 0; i < 10; i++) limiter.hit(guardKey(`login:${i}`), LIMIT);
    expect(limiter.hit(guardKey('login:new'), LIMIT).allowed).toBe(false);
    expect(limiter.count(guardKey('login:other'))).toBe(Number.POSITIVE_INFINITY);
    clock.t += 60_000;
    expect(limiter.hit(guardKey('login:new'), LIMIT).allowed).toBe(true);
    expect(limiter.size).toBe(1);
  });

  it('does not limit other counters it cannot track (only verified keys make them)', () => {
    const limiter = new MemoryLimiter({ now: () => 0 }, { maxKeys: 1 });
    limiter.hit('rate:a', LIMIT);
    expect(limiter.hit('rate:b', LIMIT).allowed).toBe(true);
  });
});
