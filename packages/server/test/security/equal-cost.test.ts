// Issue 16 finding 8: an unknown key id cost less than a wrong secret (no sealed secret opened),
// so timing told a known id from an unknown one. Counts the work rather than timing it, so it
// holds on a noisy machine. Fails on the old code: a miss never opened a sealed secret.
import { apiKeyStrings, generateApiKey } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqlCredentialSource } from '../../src/store/credentials.js';
import { Keys } from '../../src/store/keys.js';
import { basic, type Harness, harness, rawParts, request, signed } from '../support/verifier.js';

describe('equal cost for every miss', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await h.cleanup();
  });

  async function work(id: string, secret: string): Promise<{ reads: number; opens: number }> {
    const reads = vi.spyOn(SqlCredentialSource.prototype, 'key');
    const opens = vi.spyOn(SqlCredentialSource.prototype, 'openKeySecrets');
    const outcome = await h.verifier.verify(request({ headers: { authorization: basic(id, secret) } }));
    expect(outcome).toMatchObject({ ok: false, code: 'key_unknown' });
    const counts = { reads: reads.mock.calls.length, opens: opens.mock.calls.length };
    reads.mockRestore();
    opens.mockRestore();
    return counts;
  }

  it('an unknown id reads and opens as a wrong secret does, uncached and then cached', async () => {
    const other = await h.newKey();
    const unknown = generateApiKey().keyId;
    const wrongFirst = await work(h.key.id, other.secret);
    const unknownFirst = await work(unknown, other.secret);
    expect(unknownFirst).toEqual(wrongFirst);
    expect(wrongFirst).toEqual({ reads: 1, opens: 1 });
    const wrongCached = await work(h.key.id, other.secret);
    const unknownCached = await work(unknown, other.secret);
    expect(unknownCached).toEqual(wrongCached);
    expect(wrongCached).toEqual({ reads: 0, opens: 0 });
  });

  // The other key-based methods and the OAuth endpoints' client check: the same reads, secrets
  // queries (a miss reads a real key's secrets) and seal openings for an unknown id as for a
  // wrong secret, uncached and cached.
  async function counted(run: () => Promise<{ ok: boolean }>): Promise<Record<string, number>> {
    const spies = {
      reads: vi.spyOn(SqlCredentialSource.prototype, 'key'),
      opens: vi.spyOn(SqlCredentialSource.prototype, 'openKeySecrets'),
      queries: vi.spyOn(Keys.prototype, 'credential'),
    };
    const outcome = await run();
    expect(outcome.ok).toBe(false);
    const counts: Record<string, number> = Object.fromEntries(
      Object.entries(spies).map(([name, spy]) => [name, spy.mock.calls.length]),
    );
    // The secrets query of a miss reads a key that exists (the one the store last found).
    counts.missReadsAKey = spies.queries.mock.calls.filter(([, missLike]) => typeof missLike === 'string').length;
    for (const spy of Object.values(spies)) spy.mockRestore();
    return counts;
  }

  it('API key, OAuth 1.0a and the OAuth client check: a miss does the work of a wrong secret', async () => {
    const other = await h.newKey();
    const wrongRaw = rawParts(other.token).secret;
    const knownRaw = rawParts(h.key.token).id;
    const unknownRaw = generateApiKey().id;
    const cases: [string, (id: string, raw: string) => () => Promise<{ ok: boolean }>][] = [
      [
        'api-key',
        (_id, raw) => () =>
          h.verifier.verify(request({ headers: { authorization: `Bearer ${apiKeyStrings(raw, wrongRaw).token}` } })),
      ],
      ['oauth1', (id) => () => h.verifier.verify(signed({ id, secret: other.secret }, h.clock))],
      [
        'oauth client',
        (id) => () =>
          h.verifier.verifyKeySecret({
            transport: { clientIp: '127.0.0.1', secure: false, loopback: true },
            keyId: id,
            secret: other.secret,
            method: 'oauth2',
          }),
      ],
    ];
    for (const [name, make] of cases) {
      // A fresh verifier each time: its cache starts empty.
      h.verifier = h.rebuild();
      const knownId = apiKeyStrings(knownRaw, wrongRaw).keyId;
      const unknownId = apiKeyStrings(unknownRaw, wrongRaw).keyId;
      const wrongFirst = await counted(make(knownId, knownRaw));
      const unknownFirst = await counted(make(unknownId, unknownRaw));
      const { missReadsAKey, ...unknownWork } = unknownFirst;
      const { missReadsAKey: _, ...wrongWork } = wrongFirst;
      expect(unknownWork, `${name} uncached`).toEqual(wrongWork);
      expect(wrongWork, name).toEqual({ reads: 1, opens: 1, queries: 1 });
      // After the known key was read, the miss's secrets query reads that key's secrets.
      expect(missReadsAKey, name).toBe(1);
      const wrongCached = await counted(make(knownId, knownRaw));
      const unknownCached = await counted(make(unknownId, unknownRaw));
      expect(unknownCached, `${name} cached`).toEqual(wrongCached);
    }
  });
});
