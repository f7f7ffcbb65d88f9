import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { passwordFromInput, readAll } from './stdin.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('passwordFromInput', () => {
  it('removes exactly one trailing \\n or \\r\\n', () => {
    expect(passwordFromInput(bytes('secret pass\n'))).toBe('secret pass');
    expect(passwordFromInput(bytes('secret pass\r\n'))).toBe('secret pass');
    expect(passwordFromInput(bytes('secret pass\n\n'))).toBe('secret pass\n');
    expect(passwordFromInput(bytes('secret pass\r\n\r\n'))).toBe('secret pass\r\n');
    expect(passwordFromInput(bytes('secret pass'))).toBe('secret pass');
    expect(passwordFromInput(bytes('secret pass\r'))).toBe('secret pass\r');
    expect(passwordFromInput(bytes(''))).toBe('');
    expect(passwordFromInput(bytes('\n'))).toBe('');
  });

  it('keeps everything else as typed: spaces, tabs, a byte order mark, non-ASCII', () => {
    expect(passwordFromInput(bytes('  pass word\t \n'))).toBe('  pass word\t ');
    expect(passwordFromInput(bytes('\uFEFFpassword\n'))).toBe('\uFEFFpassword');
    expect(passwordFromInput(bytes('pässwörd ✓\n'))).toBe('pässwörd ✓');
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(passwordFromInput(Uint8Array.from([0x61, 0xff, 0x62]))).toBeUndefined();
    expect(passwordFromInput(Uint8Array.from([0xc3]))).toBeUndefined();
  });
});

describe('readAll', () => {
  it('joins string and byte chunks', async () => {
    const read = await readAll(Readable.from([Buffer.from('pä'), 'ss', Buffer.from('\n')]));
    expect(Buffer.from(read).toString('utf8')).toBe('päss\n');
  });
});
