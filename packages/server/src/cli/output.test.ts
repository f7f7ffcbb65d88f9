import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { abort, formatError, formatFields, formatTable, formatTime, type Output, printable } from './output.js';

describe('output', () => {
  it('escapes control characters so stored text cannot drive the terminal', () => {
    expect(printable('ok name')).toBe('ok name');
    expect(printable('evil\u001b[2Jname\n')).toBe('evil\\u{1b}[2Jname\\u{a}');
    expect(printable('x\u009by')).toBe('x\\u{9b}y');
  });

  it('formats times as ISO 8601 UTC to the second', () => {
    expect(formatTime(Date.UTC(2030, 0, 31, 12, 0, 1, 999))).toBe('2030-01-31T12:00:01Z');
    expect(formatTime(null)).toBe('-');
    expect(formatTime(null, 'never')).toBe('never');
  });

  it('aligns fields and table columns', () => {
    expect(
      formatFields([
        ['id', 'a'],
        ['status', 'b\u0007'],
      ]),
    ).toBe('id:     a\nstatus: b\\u{7}\n');
    expect(
      formatTable(
        ['ID', 'NAME'],
        [
          ['1', 'short'],
          ['1234', 'x'],
        ],
      ),
    ).toBe('ID    NAME\n1     short\n1234  x\n');
  });

  it('writes errors as a line or as JSON', () => {
    expect(formatError('key_not_found', 'No key has this id.', false)).toBe(
      'error: key_not_found: No key has this id.\n',
    );
    expect(JSON.parse(formatError('key_not_found', 'No key has this id.', true))).toEqual({
      error: { code: 'key_not_found', message: 'No key has this id.' },
    });
  });

  it('aborts with exit code 1 after writing the error, the detail or else the meaning', () => {
    let err = '';
    const output: Output = { out: () => {}, err: (t) => (err += t), json: () => false };
    expect(() => abort(output, { code: 'email_taken' })).toThrow(CommanderError);
    expect(err).toBe('error: email_taken: An account with this email address already exists.\n');
    err = '';
    try {
      abort(output, { code: 'scope_invalid', detail: 'at most 32 scopes' });
    } catch (error) {
      expect(error).toMatchObject({ exitCode: 1 });
    }
    expect(err).toBe('error: scope_invalid: at most 32 scopes\n');
  });
});
