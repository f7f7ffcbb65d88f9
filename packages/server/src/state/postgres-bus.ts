/**
 * The invalidation channel on PostgreSQL alone: `LISTEN/NOTIFY` on one channel. Listening holds
 * a connection of its own (a pooled one would be handed to other queries); sending goes through
 * a small pool, so a heartbeat travels the same way a change does.
 *
 * @packageDocumentation
 */

import pg from 'pg';
import type { BusTransport, TransportHandlers } from './bus.js';

/** The channel's name (an identifier: NOTIFY takes no parameter for it). */
export const POSTGRES_CHANNEL = 'keyward_invalidations';

/** The application name of a listening connection, as `pg_stat_activity` shows it. */
export const POSTGRES_LISTENER_NAME = 'keyward-invalidations';

/** A {@link BusTransport} over PostgreSQL `LISTEN/NOTIFY`. */
export class PostgresBusTransport implements BusTransport {
  readonly name = 'postgres';
  private listener: pg.Client | undefined;
  private handlers: TransportHandlers | undefined;
  private closed = false;
  private retryMs = 100;
  private reconnecting: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
  ) {}

  async send(message: string): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [POSTGRES_CHANNEL, message]);
  }

  async start(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      application_name: POSTGRES_LISTENER_NAME,
      // A peer that vanished without closing (a cut cable) is noticed by the heartbeats first;
      // keepalive lets the socket itself fail eventually too.
      keepAlive: true,
      connectionTimeoutMillis: 5000,
    });
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      if (this.listener === client) this.listener = undefined;
      this.handlers?.down(error);
      this.scheduleReconnect();
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('listening connection ended')));
    client.on('notification', (n) => {
      if (n.channel === POSTGRES_CHANNEL && n.payload !== undefined) this.handlers?.message(n.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${POSTGRES_CHANNEL}`);
    } catch (error) {
      fail(error);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
    this.retryMs = 100;
    this.handlers?.up();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnecting !== undefined) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 2000);
    this.reconnecting = setTimeout(() => {
      this.reconnecting = undefined;
      void this.connect();
    }, wait);
    this.reconnecting.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnecting !== undefined) clearTimeout(this.reconnecting);
    const client = this.listener;
    this.listener = undefined;
    if (client !== undefined) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
  }
}
