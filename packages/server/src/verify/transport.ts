/**
 * Who is on the other end, and over what: the client address and whether the request arrived
 * over TLS, trusting `X-Forwarded-For` / `X-Forwarded-Proto` only from configured proxies.
 *
 * @packageDocumentation
 */

import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import proxyaddr from 'proxy-addr';
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

/**
 * One `X-Forwarded-For` hop as an address: the IP without the port some proxies append
 * (`10.6.0.1:5555`, `[2001:db8::1]:443`, `[::1]`), or undefined when it is no IP address at all.
 * A bare IPv6 address (`2001:db8::1`) is taken whole: its last group is not a port.
 */
export function hopAddress(hop: string): string | undefined {
  if (isIP(hop) !== 0) return hop;
  const match = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(hop) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(hop);
  if (match === null) return undefined;
  const [, address = '', port] = match;
  if (port !== undefined && Number(port) > 65535) return undefined;
  // Brackets hold IPv6 only (RFC 3986 §3.2.2); an unbracketed address with a port is IPv4.
  return isIP(address) === (hop.startsWith('[') ? 6 : 4) ? address : undefined;
}

/**
 * Works out the {@link Transport} of a request. Forwarding headers from anyone else are ignored.
 *
 * `X-Forwarded-For` is split by `proxy-addr` (Express's parser) and walked from the right, past
 * our trusted proxies, to the first untrusted hop, which is the client. A hop that is no IP
 * address (after dropping a port) is never taken as the client: the request is attributed to the
 * trusted proxy that reported it. Only a trusted proxy can put such a hop where the walk reaches
 * it (anything a client sends sits left of the address its proxy appends), so it is that proxy's
 * misconfiguration, and the proxy is the nearest address we do know; binding a session to it
 * stays stable, where binding to `garbage` broke the session on its next request.
 */
export function transportOf(
  req: Pick<VerifyRequest, 'headers' | 'remoteAddress' | 'secure'>,
  proxies: TrustedProxies,
): Transport {
  const peer = req.remoteAddress;
  if (!proxies.has(peer)) return { clientIp: peer, secure: req.secure, loopback: isLoopback(peer) };
  const xff = header(req, 'x-forwarded-for') ?? '';
  // proxy-addr reads only these two fields of a Node request.
  const carrier = { headers: { 'x-forwarded-for': xff }, socket: { remoteAddress: peer } };
  // [peer, nearest hop, ..., first untrusted hop]: proxy-addr stops at the first hop `trust` refuses.
  const chain = proxyaddr.all(carrier as unknown as IncomingMessage, (hop) => {
    const address = hopAddress(hop);
    return address !== undefined && proxies.has(address);
  });
  let clientIp = peer;
  for (const hop of chain.slice(1)) {
    const address = hopAddress(hop);
    if (address === undefined) break;
    clientIp = address;
  }
  const proto = header(req, 'x-forwarded-proto')?.split(',').pop()?.trim().toLowerCase();
  return { clientIp, secure: req.secure || proto === 'https', loopback: false };
}
