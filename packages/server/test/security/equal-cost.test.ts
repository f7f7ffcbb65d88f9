// Issue 16 finding 8: an unknown key id cost less than a wrong secret (no sealed secret opened),
// so timing told a known id from an unknown one. Counts the work rather than timing it, so it
// holds on a noisy machine. Fails on the old code: a miss never opened a sealed secret.
import { generateApiKey } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqlCredentialSource } from '../../src/store/credentials.js';
import { basic, type Harness, harness, request } from '../support/verifier.js';

describe('equal cost for every miss (Basic)', () => {
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
});
