/**
 * Who is on the other end, and over what: the client address and whether the request arrived
 * over TLS, trusting `X-Forwarded-For` / `X-Forwarded-Proto` only from configured proxies.
 *
 * @packageDocumentation
 */

import { BlockList, isIP } from 'node:net';
import type { VerifyRequest } from './types.js';

/** Addresses and CIDR blocks whose forwarding headers are believed. */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  /** `entries`: addresses (`10.0.0.7`, `::1`) or CIDR blocks (`10.0.0.0/8`). Throws on a bad entry. */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address);
      if (family === 0) throw new TypeError(`trustProxy: not an IP address or CIDR block: ${entry}`);
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(prefix), type);
    }
  }

  /** Whether `address` is a trusted proxy. */
  has(address: string): boolean {
    if (this.empty) return false;
    const { address: a, family } = normalize(address);
    return family !== 0 && this.list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  }
}

function normalize(address: string): { address: string; family: number } {
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) is the IPv4 address for every rule here.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const a = mapped?.[1] ?? address;
  return { address: a, family: isIP(a) };
}

/** Whether `address` is a loopback address (127.0.0.0/8, ::1). */
export function isLoopback(address: string): boolean {
  const { address: a, family } = normalize(address);
  return family === 4 ? a.startsWith('127.') : a === '::1';
}

function header(req: Pick<VerifyRequest, 'headers'>, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : (v as string | undefined);
}

/** Where the request comes from, and whether it arrived over TLS. */
export interface Transport {
  /** The client address: the peer, or the nearest untrusted hop a trusted proxy reported. */
  readonly clientIp: string;
  /** TLS to us, or a trusted proxy said `X-Forwarded-Proto: https`. */
  readonly secure: boolean;
  /** The client is this machine (and no proxy stands between). */
  readonly loopback: boolean;
}

/** Works out the {@link Transport} of a request. Forwarding headers from anyone else are ignored. */
export function transportOf(
  req: Pick<VerifyRequest, 'headers' | 'remoteAddress' | 'secure'>,
  proxies: TrustedProxies,
): Transport {
  const peer = req.remoteAddress;
  if (!proxies.has(peer)) return { clientIp: peer, secure: req.secure, loopback: isLoopback(peer) };
  // RFC 7239 §5.2 / X-Forwarded-For: walk from the right, skipping our own trusted proxies.
  const hops = (header(req, 'x-forwarded-for') ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  let clientIp = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(normalize(hop).address) === 0) break;
    clientIp = hop;
    if (!proxies.has(hop)) break;
  }
  const proto = header(req, 'x-forwarded-proto')?.split(',').pop()?.trim().toLowerCase();
  return { clientIp, secure: req.secure || proto === 'https', loopback: false };
}
