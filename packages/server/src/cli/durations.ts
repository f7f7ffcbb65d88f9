/**
 * Durations (`90s`, `15m`, `12h`, `30d`) and expiry times (a duration from now, or an ISO 8601
 * date or date-time) as the `keyward` command accepts them.
 *
 * Parsing is strict on purpose: `Date.parse` accepts `2030-02-30` (as 2 March) and many
 * locale-dependent forms, and an expiry that silently means a different day is worse than a
 * refusal.
 *
 * @packageDocumentation
 */

import { fail, type Result, succeed } from '@keyward/core';

const SECOND = 1000;
const UNITS: Readonly<Record<string, number>> = {
  s: SECOND,
  m: 60 * SECOND,
  h: 60 * 60 * SECOND,
  d: 24 * 60 * 60 * SECOND,
};

/**
 * Milliseconds in a duration written as a whole number and a unit: `s`, `m`, `h` or `d`
 * (`90s`, `15m`, `12h`, `30d`). A bare `0` is accepted too. `undefined` when the text is not a
 * duration or its length is not a safe integer of milliseconds.
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const match = /^(\d{1,16})([smhd])$/.exec(text);
  if (match === null) return undefined;
  const [, amount = '', unit = ''] = match;
  const factor = UNITS[unit];
  if (factor === undefined) return undefined;
  const ms = Number(amount) * factor;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

// ISO 8601 calendar date, optionally with a time of day (minutes or seconds, optional fraction)
// and an optional UTC designator or offset. The space separator of RFC 3339 §5.6 is allowed.
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

// Date.UTC and the Date constructor read years 0-99 as 1900-1999; setting the full year after
// construction does not.
function utcTime(year: number, monthIndex: number, day: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const date = new Date(Date.UTC(2000, 0, 1, h, mi, s, ms));
  date.setUTCFullYear(year, monthIndex, day);
  return date.getTime();
}

function localTime(
  year: number,
  monthIndex: number,
  day: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number {
  const date = new Date(2000, 0, 1, h, mi, s, ms);
  date.setFullYear(year, monthIndex, day);
  return date.getTime();
}

/**
 * Milliseconds since the epoch for an ISO 8601 date or date-time. A date alone means midnight
 * UTC; a date-time without `Z` or an offset is local time (as in ISO 8601 and JavaScript).
 * `undefined` for anything else, including impossible dates such as `2030-02-30`.
 */
export function parseIsoDateTime(text: string): number | undefined {
  const match = ISO_DATE_TIME.exec(text);
  if (match === null) return undefined;
  const [, ys = '', mos = '', ds = '', hs, mis, ss, fraction, zone] = match;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  if (month < 1 || month > 12 || day < 1) return undefined;
  // Day 0 of the next month is the last day of this one.
  const daysInMonth = new Date(utcTime(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  if (hs === undefined) return utcTime(year, month - 1, day);

  const hour = Number(hs);
  const minute = Number(mis);
  const second = Number(ss ?? '0');
  // Fractions beyond milliseconds are accepted and truncated: the store keeps milliseconds.
  const ms = Number((fraction ?? '').padEnd(3, '0').slice(0, 3));
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (zone === undefined) return localTime(year, month - 1, day, hour, minute, second, ms);

  const utc = utcTime(year, month - 1, day, hour, minute, second, ms);
  if (zone.toUpperCase() === 'Z') return utc;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offsetHours = Number(digits.slice(0, 2));
  const offsetMinutes = Number(digits.slice(2));
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  // 12:00+02:00 is 10:00Z: subtract the offset.
  return utc - sign * (offsetHours * 60 + offsetMinutes) * 60 * SECOND;
}

/**
 * The absolute expiry (milliseconds since the epoch) of `--expires`: a duration from `now`
 * (see {@link parseDuration}) or an ISO 8601 date or date-time (see {@link parseIsoDateTime}).
 * Whether it lies in the future is left to the store, which refuses past expiries with the same
 * code.
 */
export function parseExpiry(text: string, now: number): Result<number, 'expiry_invalid'> {
  const trimmed = text.trim();
  const duration = parseDuration(trimmed);
  if (duration !== undefined) {
    const at = now + duration;
    return Number.isSafeInteger(at) ? succeed(at) : fail('expiry_invalid', 'the expiry is too far in the future');
  }
  const at = parseIsoDateTime(trimmed);
  if (at === undefined || !Number.isSafeInteger(at)) {
    return fail(
      'expiry_invalid',
      'expiry must be a duration (90s, 15m, 12h, 30d) or an ISO 8601 date or date-time (2030-01-31, 2030-01-31T12:00:00Z)',
    );
  }
  return succeed(at);
}
