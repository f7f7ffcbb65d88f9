// Issue 16 finding 9: a trusted proxy's X-Forwarded-For of `10.6.0.1:5555` or `garbage` became
// the client address a session was bound to, so the next identical request was
// `session_ip_mismatch` and the session was revoked. Fails on the old code for the port cases
// (the hop was refused, so the proxy's address was taken) and keeps the spoofing cases holding.
import { describe, expect, it } from 'vitest';
import { hopAddress, TrustedProxies, transportOf } from '../../src/verify/transport.js';

const proxies = new TrustedProxies(['10.0.0.0/8', 'fd00::/8']);

function clientIp(remoteAddress: string, xff?: string | string[]): string {
  const headers: Record<string, string | string[]> = {};
  if (xff !== undefined) headers['x-forwarded-for'] = xff;
  return transportOf({ headers, remoteAddress, secure: false }, proxies).clientIp;
}

describe('X-Forwarded-For through a trusted proxy', () => {
  it('drops the port of an IPv4 hop', () => {
    expect(clientIp('10.0.0.2', '203.0.113.7:5555')).toBe('203.0.113.7');
  });

  it('drops the port of a trusted IPv4 hop and walks on past it', () => {
    expect(clientIp('10.0.0.2', '203.0.113.7, 10.6.0.1:5555')).toBe('203.0.113.7');
  });

  it('drops the brackets and port of an IPv6 hop', () => {
    expect(clientIp('10.0.0.2', '[2001:db8::7]:443')).toBe('2001:db8::7');
    expect(clientIp('10.0.0.2', '[2001:db8::7]')).toBe('2001:db8::7');
    expect(clientIp('10.0.0.2', '203.0.113.7, [fd00::5]:80')).toBe('203.0.113.7');
  });

  it('takes a bare IPv6 hop whole (its last group is no port)', () => {
    expect(clientIp('10.0.0.2', '2001:db8::1:5555')).toBe('2001:db8::1:5555');
  });

  it('never takes an invalid hop: the request is the reporting proxy’s', () => {
    expect(clientIp('10.0.0.2', 'garbage')).toBe('10.0.0.2');
    expect(clientIp('10.0.0.2', '203.0.113.7, garbage, 10.0.0.9')).toBe('10.0.0.9');
    expect(clientIp('10.0.0.2', '999.1.1.1')).toBe('10.0.0.2');
    expect(clientIp('10.0.0.2', '203.0.113.7:99999')).toBe('10.0.0.2');
    expect(clientIp('10.0.0.2', '[not-ip]:80')).toBe('10.0.0.2');
    expect(clientIp('10.0.0.2', '[192.0.2.1]:80')).toBe('10.0.0.2');
  });

  it('gives the same address for the same request, so a bound session survives', () => {
    for (const xff of ['10.6.0.1:5555', 'garbage', '203.0.113.7:1, 10.6.0.1:2']) {
      expect(clientIp('10.0.0.2', xff)).toBe(clientIp('10.0.0.2', xff));
    }
    expect(clientIp('10.0.0.2', '10.6.0.1:5555')).toBe('10.6.0.1');
  });

  it('takes the first untrusted hop from the right, not a spoofed leftmost one', () => {
    expect(clientIp('10.0.0.2', '1.1.1.1, 203.0.113.7, 10.0.0.3')).toBe('203.0.113.7');
    expect(clientIp('10.0.0.2', 'garbage, 203.0.113.7')).toBe('203.0.113.7');
    expect(clientIp('10.0.0.2', ['1.1.1.1', '203.0.113.7'])).toBe('203.0.113.7');
  });

  it('stops at the last trusted hop when every hop is trusted', () => {
    expect(clientIp('10.0.0.2', '10.0.0.4, 10.0.0.3')).toBe('10.0.0.4');
  });

  it('keeps the peer when the header is absent or empty', () => {
    expect(clientIp('10.0.0.2')).toBe('10.0.0.2');
    expect(clientIp('10.0.0.2', ' , ')).toBe('10.0.0.2');
  });

  it('ignores the header from an untrusted peer', () => {
    expect(clientIp('198.51.100.1', '203.0.113.7')).toBe('198.51.100.1');
    expect(clientIp('198.51.100.1', '10.6.0.1:5555')).toBe('198.51.100.1');
  });
});

describe('hopAddress', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:8080', '203.0.113.7'],
    ['::1', '::1'],
    ['[::1]:5555', '::1'],
    ['[::1]', '::1'],
    ['::ffff:203.0.113.7', '::ffff:203.0.113.7'],
  ])('%s -> %s', (hop, address) => {
    expect(hopAddress(hop)).toBe(address);
  });

  it.each(['garbage', '', 'unknown', '_hidden', '1.2.3', '1.2.3.4:', '1.2.3.4:port', '[::1]x', '[1.2.3.4]'])(
    'refuses %j',
    (hop) => {
      expect(hopAddress(hop)).toBeUndefined();
    },
  );
});
