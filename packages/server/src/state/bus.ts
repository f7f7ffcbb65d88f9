/**
 * The invalidation bus shared by every instance of a deployment (over PostgreSQL `LISTEN/NOTIFY`
 * or Redis pub/sub): a key revoked, rotated, disabled or narrowed through one instance, or
 * through the CLI, is dropped from every instance's cache before the call that changed it
 * returns.
 *
 * A message on a channel is not a promise that it arrived. Three rules make it one:
 * - **Acknowledged**: every instance acknowledges each change after it dropped the stale
 *   entries; `publish` resolves once every live instance has acknowledged.
 * - **Heartbeats**: every instance sends a heartbeat on the channel every `heartbeatMs`; the
 *   heartbeats tell a publisher which instances are live, and each instance hears its own
 *   heartbeat come back, which proves its channel works end to end.
 * - **Fencing**: an instance trusts its caches only while its own last heartbeat came back less
 *   than `fenceMs` ago. An instance that lost its channel (or cannot tell) reads the store on
 *   every request until it hears itself again, then forgets everything it had cached. A
 *   publisher that gets no acknowledgement from an instance waits until that instance, by the
 *   same rule, must have fenced itself off (its last heartbeat seen + `fenceMs`), then returns.
 *
 * So a stale accept would need an instance that hears its own heartbeats but not a change sent
 * on the same channel before them, which an ordered channel (both transports deliver one
 * channel's messages in order) rules out.
 *
 * @packageDocumentation
 */

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type Invalidation, type InvalidationBus, StoreUnavailableError } from '../verify/ports.js';

/** A channel every instance hears: PostgreSQL `LISTEN/NOTIFY` or Redis pub/sub. */
export interface BusTransport {
  /** A name for logs and `/readyz`: `postgres` or `redis`. */
  readonly name: string;
  /** Sends `message` to every listener of the channel, this process's own included. */
  send(message: string): Promise<void>;
  /**
   * Starts listening; reconnects by itself when the connection is lost, telling `down` each
   * time, and `up` once it listens again.
   */
  start(handlers: TransportHandlers): Promise<void>;
  close(): Promise<void>;
}

/** What a {@link BusTransport} tells the bus. */
export interface TransportHandlers {
  message(text: string): void;
  down(error: unknown): void;
  up(): void;
}

/** Options of {@link SharedInvalidationBus}. */
export interface SharedBusOptions {
  /**
   * Whether this process holds caches (a server or gateway) and so takes part: sends heartbeats
   * and acknowledges. A CLI command only publishes. Default true.
   */
  readonly member?: boolean | undefined;
  /** How often a member sends its heartbeat. Default 500 ms. */
  readonly heartbeatMs?: number | undefined;
  /** How long without hearing itself before a member stops trusting its caches. Default 2 s. */
  readonly fenceMs?: number | undefined;
  /** The longest a publish waits for acknowledgements in all. Default 10 s. */
  readonly publishTimeoutMs?: number | undefined;
  /** Told about a lost channel, an instance that did not acknowledge, a send that failed. */
  readonly onWarning?: ((message: string, error?: unknown) => void) | undefined;
  /** Monotonic milliseconds; injected by tests. Default `performance.now`. */
  readonly now?: (() => number) | undefined;
}

type Message =
  | { readonly t: 'hb'; readonly from: string }
  | { readonly t: 'inv'; readonly from: string; readonly id: string; readonly ev: Invalidation }
  | { readonly t: 'ack'; readonly from: string; readonly id: string };

interface PendingPublish {
  readonly waiting: Set<string>;
  done(): void;
}

const KINDS = new Set(['key', 'account', 'token', 'all']);

// A message from the channel, or undefined for anything malformed: whoever can write to the
// channel can only make us forget (an `inv`) or wait (an `ack`), never trust more.
function parse(text: string): Message | undefined {
  try {
    const m = JSON.parse(text) as Record<string, unknown>;
    if (typeof m.from !== 'string') return undefined;
    if (m.t === 'hb') return { t: 'hb', from: m.from };
    if (typeof m.id !== 'string') return undefined;
    if (m.t === 'ack') return { t: 'ack', from: m.from, id: m.id };
    const ev = m.ev as Record<string, unknown> | undefined;
    if (m.t !== 'inv' || typeof ev?.kind !== 'string' || !KINDS.has(ev.kind)) return undefined;
    if (ev.kind === 'all') return { t: 'inv', from: m.from, id: m.id, ev: { kind: 'all' } };
    if (typeof ev.id !== 'string') return undefined;
    return { t: 'inv', from: m.from, id: m.id, ev: { kind: ev.kind as 'key', id: ev.id } };
  } catch {
    return undefined;
  }
}

/** An {@link InvalidationBus} over a channel every instance hears (see the module comment). */
export class SharedInvalidationBus implements InvalidationBus {
  /** This process's id on the channel. */
  readonly id = randomUUID();
  private readonly listeners = new Set<(event: Invalidation) => void>();
  private readonly peers = new Map<string, number>();
  private readonly pending = new Map<string, PendingPublish>();
  private readonly member: boolean;
  private readonly heartbeatMs: number;
  private readonly fenceMs: number;
  private readonly publishTimeoutMs: number;
  private readonly now: () => number;
  private connected = false;
  private lastOwnHeartbeat = Number.NEGATIVE_INFINITY;
  // Hearing itself again after a silence, an instance waits one more heartbeat before it trusts:
  // by then every publisher has heard it too and counts it among the instances to wait for.
  private trustFrom = Number.POSITIVE_INFINITY;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly transport: BusTransport,
    options: SharedBusOptions = {},
  ) {
    this.member = options.member ?? true;
    this.heartbeatMs = options.heartbeatMs ?? 500;
    this.fenceMs = options.fenceMs ?? 2000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
    this.now = options.now ?? (() => performance.now());
    this.warn = options.onWarning ?? ((message) => process.emitWarning(message));
  }

  private readonly warn: (message: string, error?: unknown) => void;

  /** The transport's name (`postgres`, `redis`). */
  get name(): string {
    return this.transport.name;
  }

  /** Connects and starts the heartbeats. Resolves once listening (or failing to: it retries). */
  async start(): Promise<void> {
    this.startedAt = this.now();
    await this.transport.start({
      message: (text) => this.receive(text),
      down: (error) => {
        const was = this.connected;
        this.connected = false;
        if (was) this.warn(`invalidation channel (${this.transport.name}) lost; caches off until it is back`, error);
        this.forgetAll();
      },
      up: () => {
        this.connected = true;
        if (this.member) this.heartbeat();
      },
    });
    this.timer = setInterval(() => this.tick(), this.heartbeatMs);
    this.timer.unref();
  }

  /** Stops listening; a closed bus trusts nothing. */
  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const p of this.pending.values()) p.done();
    await this.transport.close();
  }

  /** Whether this instance heard its own heartbeat less than `fenceMs` ago. */
  trusted(): boolean {
    const now = this.now();
    return this.member && this.connected && now - this.lastOwnHeartbeat < this.fenceMs && now >= this.trustFrom;
  }

  /** Whether the channel is up (for `/readyz`): listening, and for a member, hearing itself. */
  healthy(): boolean {
    if (!this.connected) return false;
    // Just started: give the first heartbeat time to come back before calling it down.
    return !this.member || this.trusted() || this.now() - this.startedAt < this.fenceMs;
  }

  subscribe(listener: (event: Invalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Applies the change here, sends it, and resolves once every live instance acknowledged it
   * or must have fenced itself off. Rejects with a {@link StoreUnavailableError} when the
   * channel takes no message: the change is saved, but instances that still trust their
   * caches could not be told.
   */
  async publish(event: Invalidation): Promise<void> {
    this.tell(event);
    await this.waitForPeers();
    const id = randomUUID();
    const waiting = new Set(this.livePeers());
    const acknowledged = new Promise<void>((resolve) => {
      this.pending.set(id, {
        waiting,
        done: () => {
          this.pending.delete(id);
          resolve();
        },
      });
    });
    try {
      await this.transport.send(JSON.stringify({ t: 'inv', from: this.id, id, ev: event }));
    } catch (error) {
      this.pending.delete(id);
      throw new StoreUnavailableError(
        `the change was saved, but the invalidation channel (${this.transport.name}) did not take it`,
        { cause: error },
      );
    }
    const deadline = this.now() + this.publishTimeoutMs;
    while (waiting.size > 0 && !this.closed) {
      // A peer that has not acknowledged is waited for until it must have fenced itself off.
      for (const peer of waiting) {
        const seen = this.peers.get(peer) ?? Number.NEGATIVE_INFINITY;
        if (this.now() > seen + this.fenceMs + this.heartbeatMs) {
          waiting.delete(peer);
          this.warn(`instance ${peer} did not acknowledge an invalidation; it has fenced its caches off`);
        }
      }
      if (waiting.size === 0) break;
      if (this.now() > deadline) {
        this.warn(`invalidation not acknowledged by ${waiting.size} instance(s) within ${this.publishTimeoutMs} ms`);
        break;
      }
      await Promise.race([acknowledged, new Promise((r) => setTimeout(r, this.heartbeatMs / 5))]);
    }
    this.pending.get(id)?.done();
  }

  // Before the first publish of a process, hear one round of heartbeats, so that the list of
  // live instances is complete.
  private async waitForPeers(): Promise<void> {
    const ready = this.startedAt + 2 * this.heartbeatMs;
    while (this.now() < ready && !this.closed) await new Promise((r) => setTimeout(r, this.heartbeatMs / 5));
  }

  private livePeers(): string[] {
    const now = this.now();
    const live: string[] = [];
    for (const [peer, seen] of this.peers) {
      if (now - seen < this.fenceMs) live.push(peer);
      else if (now - seen > 10 * this.fenceMs) this.peers.delete(peer);
    }
    return live;
  }

  private tick(): void {
    if (this.member && this.connected) this.heartbeat();
    // Fell silent: nothing cached stays, so that nothing from before the silence is trusted
    // when it ends. (`trusted()` already answers false from the moment the silence began.)
    if (this.member && this.lastOwnHeartbeat > Number.NEGATIVE_INFINITY && !this.trusted()) this.forgetAll();
  }

  private heartbeat(): void {
    this.transport.send(JSON.stringify({ t: 'hb', from: this.id })).catch((error: unknown) => {
      this.warn(`invalidation heartbeat failed (${this.transport.name})`, error);
    });
  }

  private receive(text: string): void {
    const m = parse(text);
    if (m === undefined) return;
    if (m.t === 'hb') {
      const now = this.now();
      if (m.from === this.id) {
        // Silent for fenceMs or more (or never heard): whatever was cached before may be stale.
        if (now - this.lastOwnHeartbeat >= this.fenceMs) {
          this.forgetAll();
          this.trustFrom = now + this.heartbeatMs;
        }
        this.lastOwnHeartbeat = now;
      } else this.peers.set(m.from, now);
      return;
    }
    if (m.t === 'ack') {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      p.waiting.delete(m.from);
      if (p.waiting.size === 0) p.done();
      return;
    }
    if (m.from === this.id) return;
    this.tell(m.ev);
    if (this.member) {
      this.transport.send(JSON.stringify({ t: 'ack', from: this.id, id: m.id })).catch((error: unknown) => {
        this.warn(`invalidation acknowledgement failed (${this.transport.name})`, error);
      });
    }
  }

  private forgetAll(): void {
    this.tell({ kind: 'all' });
  }

  private tell(event: Invalidation): void {
    for (const listener of this.listeners) listener(event);
  }
}
