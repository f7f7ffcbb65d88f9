/**
 * WebSocket upgrades through the gateway (RFC 6455 §4.1): the upgrade request is matched and
 * verified like any request (it has no body), then its connection is spliced to a new one to
 * the upstream, which receives the request with the gateway's headers (identity added, spoofed
 * identity and credentials stripped) and answers the handshake itself. `@fastify/reply-from`
 * forwards requests, not upgraded connections; a socket splice after the handshake request is
 * all a WebSocket proxy does, so it is done here rather than with another proxy library.
 *
 * @packageDocumentation
 */

import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { fromNodeRequest, renderRefusal } from '../adapters/http.js';
import type { ErrorCode } from '../errors/codes.js';
import type { Principal, Refusal } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { matchRoute, type RouteRule, type RouteRules, routeOptions } from './rules.js';

/** What {@link handleUpgrades} needs from the gateway. */
export interface UpgradeOptions {
  readonly origin: string;
  readonly prefix: string;
  readonly rules: RouteRules;
  readonly verifier: Verifier;
  /** How long the upstream may take to answer the handshake; then 504. */
  readonly timeoutMs: number;
  /** The headers the upstream receives (identity added, spoofed identity and credentials removed). */
  readonly headersFor: (
    req: IncomingMessage,
    rule: RouteRule | undefined,
    principal: Principal | undefined,
  ) => Record<string, string | string[]>;
}

/** The upgraded connections of a gateway, closed with it. */
export interface GatewayUpgrades {
  /** Destroys every open upgraded connection (a WebSocket has no graceful end a proxy can wait for). */
  close(): void;
}

/** A refusal written on a socket that has not been answered yet, then the socket is closed. */
function writeRefusal(socket: Duplex, refusal: Refusal): void {
  const rendered = renderRefusal(refusal, randomUUID());
  const body = JSON.stringify(rendered.body);
  const lines = [`HTTP/1.1 ${rendered.status} ${STATUS_CODES[rendered.status] ?? ''}`];
  for (const [name, value] of Object.entries(rendered.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  lines.push(`content-length: ${Buffer.byteLength(body)}`, 'connection: close', '', body);
  socket.end(lines.join('\r\n'));
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * Handles `Upgrade: websocket` requests on the gateway's Node server: matched against the
 * rules, verified, then spliced to the upstream. Other upgrades are refused (400).
 */
export function handleUpgrades(app: FastifyInstance, options: UpgradeOptions): GatewayUpgrades {
  const { verifier, rules } = options;
  const upstream = new URL(options.origin);
  const secure = upstream.protocol === 'https:';
  const port = Number(upstream.port || (secure ? 443 : 80));
  const open = new Set<Duplex>();
  const refuse = (socket: Duplex, code: ErrorCode) => writeRefusal(socket, verifier.refuse(code));

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', () => socket.destroy());
    if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return refuse(socket, 'malformed_request');
    const rule = matchRoute(rules, req.method ?? 'GET', pathOf(req.url ?? '/'));
    if (rule === undefined && rules.denyUnmatched) return refuse(socket, 'route_not_allowed');
    let principal: Principal | undefined;
    if (rule !== undefined && rule.public !== true) {
      try {
        const outcome = await verifier.verify(fromNodeRequest(req), routeOptions(rule));
        if (!outcome.ok) return writeRefusal(socket, outcome);
        principal = outcome.principal;
      } catch (error) {
        return writeRefusal(socket, verifier.fault(error, randomUUID()));
      }
    }
    if (socket.destroyed) return;
    const headers = options.headersFor(req, rule, principal);
    // The handshake's own headers (RFC 6455 §4.1), which the hop-by-hop filter removed.
    headers.connection = 'Upgrade';
    headers.upgrade = String(req.headers.upgrade);
    headers.host = upstream.host;
    const lines = [`${req.method ?? 'GET'} ${options.prefix}${req.url ?? '/'} HTTP/1.1`];
    for (const [name, value] of Object.entries(headers)) {
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
    }
    const target: Socket = secure
      ? tlsConnect({ host: upstream.hostname, port, servername: upstream.hostname })
      : netConnect({ host: upstream.hostname, port });
    open.add(socket);
    let answered = false;
    const end = () => {
      open.delete(socket);
      socket.destroy();
      target.destroy();
    };
    target.setTimeout(options.timeoutMs, () => {
      if (!answered) refuse(socket, 'upstream_timeout');
      target.destroy();
    });
    target.once('error', () => {
      if (!answered) refuse(socket, 'upstream_unavailable');
      else end();
    });
    target.once(secure ? 'secureConnect' : 'connect', () => {
      target.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) target.write(head);
      target.once('data', () => {
        answered = true;
        // An open WebSocket may stay quiet for as long as its peers like.
        target.setTimeout(0);
      });
      target.pipe(socket);
      socket.pipe(target);
    });
    target.once('close', () => {
      if (answered) end();
    });
    socket.once('close', end);
  };

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(req, socket, head).catch((error: unknown) => {
      app.log.error({ err: error }, 'upgrade failed');
      socket.destroy();
    });
  });
  return {
    close() {
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}
