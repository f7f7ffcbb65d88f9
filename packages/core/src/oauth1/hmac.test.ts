import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HmacAlgorithm, HmacKey } from './hmac.js';

const algorithms: readonly HmacAlgorithm[] = ['sha1', 'sha256'];

describe('HmacKey', () => {
  it('equals crypto.createHmac for any key and message, keys longer than a block included', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.uint8Array({ maxLength: 200 })),
        fc.string({ unit: 'grapheme', maxLength: 600 }),
        fc.constantFrom(...algorithms),
        (key, message, algorithm) => {
          const expected = createHmac(algorithm, key).update(message, 'utf8').digest('base64');
          const prepared = new HmacKey(key);
          expect(prepared.digestBase64(algorithm, message)).toBe(expected);
          // The same key again, and under the other algorithm: pads are kept per algorithm.
          expect(prepared.digestBase64(algorithm, message)).toBe(expected);
          const other = algorithm === 'sha1' ? 'sha256' : 'sha1';
          expect(prepared.digestBase64(other, message)).toBe(createHmac(other, key).update(message).digest('base64'));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('matches at the block-size edges (RFC 2104 §2: B = 64) and for long and non-ASCII messages', () => {
    for (const length of [0, 1, 63, 64, 65, 128, 129]) {
      const key = 'k'.repeat(length);
      for (const message of ['', 'x'.repeat(1024), '€'.repeat(5000), 'y'.repeat(100_000)]) {
        for (const algorithm of algorithms) {
          expect(new HmacKey(key).digestBase64(algorithm, message)).toBe(
            createHmac(algorithm, key).update(message).digest('base64'),
          );
        }
      }
    }
  });

  it('copies the key it is given and never shows it', () => {
    const bytes = Buffer.from('kw_sk_secret&');
    const key = new HmacKey(bytes);
    const before = key.digestBase64('sha256', 'm');
    bytes.fill(0);
    expect(key.digestBase64('sha256', 'm')).toBe(before);
    const shown = new HmacKey('kw_sk_secret&');
    expect(inspect(shown, { showHidden: true, depth: 5 })).not.toContain('kw_sk');
    expect(JSON.stringify(shown)).toBe('{}');
  });
});
