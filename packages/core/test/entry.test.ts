// The package entry is the public API: no declaration marked `@internal` in core's sources, nor
// a helper that only other core modules use, may leave through it. An `export *` in index.ts
// would pass on anything a module exports, so a helper tagged later is caught here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as entry from '../src/index.js';

const src = new URL('../src/', import.meta.url).pathname;

/** Names of top-level declarations whose TSDoc says `@internal`, across core's sources. */
function internalNames(): string[] {
  const names: string[] = [];
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
  );
  for (const file of files) {
    const text = readFileSync(join(src, file), 'utf8');
    // A doc comment holding `@internal`, directly followed by a top-level export declaration.
    const pattern =
      /\/\*\*(?:(?!\*\/)[\s\S])*@internal(?:(?!\*\/)[\s\S])*\*\/\s*\nexport\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|const|let|interface|type|enum)\s+(\w+)/g;
    for (const m of text.matchAll(pattern)) names.push(m[1] as string);
  }
  return names;
}

// Helpers for other core modules that carry no tag: the OAuth 1.0a parser's accumulator.
const UNTAGGED_HELPERS = ['EncodedParameters'];

describe('@keyward/core entry', () => {
  it('finds the helpers marked @internal (so the check below is not vacuous)', () => {
    expect(internalNames()).toEqual(expect.arrayContaining(['NameSet', 'hmacSignature']));
  });

  it('exports no internal helper', () => {
    const names = Object.keys(entry);
    for (const name of [...internalNames(), ...UNTAGGED_HELPERS]) expect(names).not.toContain(name);
  });

  it('still exports the public API the server and client use', () => {
    for (const name of [
      'constantTimeEqual',
      'createSigningKey',
      'HmacKey',
      'identify',
      'normalizeParameters',
      'parseOAuth1Request',
      'percentEncode',
      'signOAuth1',
      'splitAuthorizationHeader',
      'verifyOAuth1Signature',
    ]) {
      expect(Object.hasOwn(entry, name), name).toBe(true);
    }
  });
});
