// The rules of the shared invalidation bus (state/bus.ts) on an in-memory channel under fake
// timers: acknowledged publishes, heartbeats, and fencing. The real channels (PostgreSQL,
// Redis) run in test/scale-out.test.ts and test/scale-faults.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Invalidation } from '../verify/ports.js';
import { type BusTransport, SharedInvalidationBus, type TransportHandlers } from './bus.js';
import { LruCache } from './cache.js';

/** One channel; each transport on it can be cut (it hears and sends nothing) and restored. */
class Channel {
  readonly members = new Set<MemoryTransport>();
  deliver(text: string) {
    for (const m of this.members) if (m.connected) queueMicrotask(() => m.handlers?.message(text));
  }
}

class MemoryTransport implements BusTransport {
  readonly name = 'memory';
  handlers: TransportHandlers | undefined;
  connected = false;
  /** When set, this member's own sends are dropped (it is alive but cannot speak). */
  mute = false;
  constructor(private readonly channel: Channel) {
    channel.members.add(this);
  }
  async send(text: string) {
    if (!this.connected) throw new Error('channel down');
    if (!this.mute) this.channel.deliver(text);
  }
  async start(handlers: TransportHandlers) {
    this.handlers = handlers;
    this.connected = true;
    handlers.up();
  }
  cut() {
    this.connected = false;
    this.handlers?.down(new Error('cut'));
  }
  restore() {
    this.connected = true;
    this.handlers?.up();
  }
  async close() {
    this.connected = false;
  }
}

describe('SharedInvalidationBus', () => {
  let channel: Channel;
  const buses: SharedInvalidationBus[] = [];

  beforeEach(() => {
    vi.useFakeTimers();
    channel = new Channel();
  });
  afterEach(async () => {
    for (const b of buses.splice(0)) await b.close();
    vi.useRealTimers();
  });

  async function member(options: { member?: boolean } = {}) {
    const transport = new MemoryTransport(channel);
    const bus = new SharedInvalidationBus(transport, {
      heartbeatMs: 100,
      fenceMs: 400,
      now: () => Date.now(),
      onWarning: () => {},
      ...options,
    });
    buses.push(bus);
    const heard: Invalidation[] = [];
    bus.subscribe((e) => heard.push(e));
    await bus.start();
    return { bus, transport, heard };
  }

  it('trusts its caches only once it heard its own heartbeat and one more interval passed; a CLI publisher never', async () => {
    const a = await member();
    const cli = await member({ member: false });
    await vi.advanceTimersByTimeAsync(0);
    // Heard itself, but the others may not have heard it yet: not yet.
    expect(a.bus.trusted()).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(a.bus.trusted()).toBe(true);
    expect(cli.bus.trusted()).toBe(false);
  });

  it('resolves a publish once every live instance applied the change', async () => {
    const [a, b, c] = [await member(), await member(), await member()];
    await vi.advanceTimersByTimeAsync(250);
    let done = false;
    const published = a.bus.publish({ kind: 'key', id: 'kw_kid_1' }).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1);
    await published;
    expect(done).toBe(true);
    for (const m of [a, b, c]) expect(m.heard).toContainEqual({ kind: 'key', id: 'kw_kid_1' });
  });

  it('waits for a silent instance until it must have fenced itself off, and that instance trusts nothing', async () => {
    const [a, b] = [await member(), await member()];
    await vi.advanceTimersByTimeAsync(250);
    // B is alive on the channel but its messages (acknowledgements, heartbeats) are lost.
    b.transport.mute = true;
    const started = Date.now();
    let done = false;
    const published = a.bus.publish({ kind: 'key', id: 'kw_kid_2' }).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(300);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(600);
    await published;
    expect(done).toBe(true);
    // A waited past B's last heartbeat + fenceMs; by then B no longer heard itself either.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(b.bus.trusted()).toBe(false);
    expect(b.heard).toContainEqual({ kind: 'all' });
  });

  it('stops trusting at once when the channel is lost, forgets everything, and trusts again once it hears itself', async () => {
    const a = await member();
    await vi.advanceTimersByTimeAsync(150);
    const cache = new LruCache<string>({ clock: { now: () => Date.now() }, trusted: () => a.bus.trusted() });
    a.bus.subscribe((e) => {
      if (e.kind === 'all') cache.clear();
    });
    cache.set('k', 'v', cache.version());
    expect(cache.get('k')).toBe('v');
    a.transport.cut();
    expect(a.bus.trusted()).toBe(false);
    expect(a.bus.healthy()).toBe(false);
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', 'stale', cache.version());
    a.transport.restore();
    await vi.advanceTimersByTimeAsync(0);
    expect(a.bus.trusted()).toBe(true);
    expect(cache.get('k')).toBeUndefined();
  });

  it('rejects a publish the channel does not take (the change is saved; the caller hears it)', async () => {
    const a = await member();
    await vi.advanceTimersByTimeAsync(250);
    a.transport.cut();
    await expect(a.bus.publish({ kind: 'account', id: 'acc_1' })).rejects.toThrow(/did not take it/);
    expect(a.heard).toContainEqual({ kind: 'account', id: 'acc_1' });
  });

  it('ignores malformed messages: they can neither make it trust nor apply anything', async () => {
    const a = await member();
    await vi.advanceTimersByTimeAsync(0);
    const before = a.heard.length;
    for (const text of ['', '{', '[]', '{"t":"inv","from":"x","id":"1","ev":{"kind":"nope"}}', '{"t":"hb"}'])
      a.transport.handlers?.message(text);
    expect(a.heard.length).toBe(before);
  });
});

describe('LruCache versions', () => {
  it('does not keep a value read before an invalidation arrived', () => {
    const cache = new LruCache<string>({ clock: { now: () => 0 } });
    const version = cache.version();
    // The store answered "active" …, but a revocation arrived while the read was in flight.
    cache.delete('kw_kid_1');
    cache.set('kw_kid_1', 'active', version);
    expect(cache.get('kw_kid_1')).toBeUndefined();
    cache.set('kw_kid_1', 'fresh', cache.version());
    expect(cache.get('kw_kid_1')).toBe('fresh');
  });
});
