/**
 * How the `keyward` command writes: one JSON document with `--json`, short `key: value` lines or
 * a table otherwise, and errors as `error: <code>: <message>` (or `{"error":{…}}`) on stderr.
 *
 * @packageDocumentation
 */

import type { Failure } from '@keyward/core';
import { CommanderError } from 'commander';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.js';

/** Where a command writes, and whether it writes JSON. */
export interface Output {
  /** Standard output. */
  readonly out: (text: string) => void;
  /** Standard error. */
  readonly err: (text: string) => void;
  /** True when `--json` was given. */
  readonly json: () => boolean;
}

/** Exit code of an expected failure (`email_taken`, `key_not_found`, …). */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error (unknown option, missing argument): what BSD `sysexits` and most shells use. */
export const EXIT_USAGE = 2;

/** Code of a command-line usage error in `--json` error output; not a store failure, so not an {@link ErrorCode}. */
export const USAGE_CODE = 'usage';

/** Writes `value` as one JSON document (pretty-printed, newline-terminated). */
export function writeJson(output: Output, value: unknown): void {
  output.out(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Makes text from the database safe to print on a terminal: control characters (C0, DEL, C1)
 * become `\u{…}` escapes. Names and emails can be set by account holders through the API, and
 * an escape sequence in one must not drive the operator's terminal.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

/** An instant as ISO 8601 UTC to the second, or `fallback` when there is none. */
export function formatTime(ms: number | null | undefined, fallback = '-'): string {
  if (ms === null || ms === undefined) return fallback;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `label  value` lines with the values aligned; values are made {@link printable}. */
export function formatFields(fields: readonly (readonly [label: string, value: string])[]): string {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${printable(value)}\n`).join('');
}

/** A table with a header row, columns padded to their widest cell; cells are made {@link printable}. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers, ...rows.map((row) => row.map(printable))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map(
      (row) =>
        `${row
          .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

/** The error line (or JSON document) for a code and message, newline-terminated. */
export function formatError(code: string, message: string, json: boolean): string {
  return json ? `${JSON.stringify({ error: { code, message } })}\n` : `error: ${code}: ${message}\n`;
}

/**
 * Reports an expected failure on stderr and ends the command with exit code 1, by throwing a
 * `CommanderError` that `main` turns into the exit code. The message is the failure's detail
 * (safe by contract: the store never puts a secret in it) or the code's meaning; user input is
 * never echoed, in case someone pasted a secret where an id belongs.
 */
export function abort(output: Output, failure: Pick<Failure<ErrorCode>, 'code' | 'detail'>): never {
  const message = failure.detail ?? ERROR_CODES[failure.code].meaning;
  output.err(formatError(failure.code, message, output.json()));
  throw new CommanderError(EXIT_FAILURE, `keyward.${failure.code}`, message);
}
