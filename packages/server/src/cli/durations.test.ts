import { describe, expect, it } from 'vitest';
import { parseDuration, parseExpiry, parseIsoDateTime } from './durations.js';

const NOW = Date.UTC(2030, 0, 15, 10, 0, 0);

describe('parseDuration', () => {
  it('reads whole numbers of seconds, minutes, hours and days', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(15 * 60_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('0')).toBe(0);
  });

  it('refuses anything else', () => {
    for (const text of ['', '5', '1.5h', '-5d', '5 d', '5D', '5w', 'd', '5dd', ' 5d', '9999999999999999d']) {
      expect(parseDuration(text), text).toBeUndefined();
    }
  });
});

describe('parseIsoDateTime', () => {
  it('reads dates as midnight UTC and date-times with a zone', () => {
    expect(parseIsoDateTime('2030-02-28')).toBe(Date.UTC(2030, 1, 28));
    expect(parseIsoDateTime('2032-02-29')).toBe(Date.UTC(2032, 1, 29));
    expect(parseIsoDateTime('2030-01-31T12:34Z')).toBe(Date.UTC(2030, 0, 31, 12, 34));
    expect(parseIsoDateTime('2030-01-31T12:34:56.789Z')).toBe(Date.UTC(2030, 0, 31, 12, 34, 56, 789));
    expect(parseIsoDateTime('2030-01-31t12:34:56.123456z')).toBe(Date.UTC(2030, 0, 31, 12, 34, 56, 123));
    expect(parseIsoDateTime('2030-01-31 12:00:00+02:00')).toBe(Date.UTC(2030, 0, 31, 10));
    expect(parseIsoDateTime('2030-01-31T12:00:00-0530')).toBe(Date.UTC(2030, 0, 31, 17, 30));
  });

  it('reads a date-time without a zone as local time', () => {
    expect(parseIsoDateTime('2030-01-31T12:00')).toBe(new Date(2030, 0, 31, 12, 0).getTime());
  });

  it('reads years below 100 as written, not as 19xx', () => {
    expect(new Date(parseIsoDateTime('0030-01-01') as number).getUTCFullYear()).toBe(30);
  });

  it('refuses impossible dates and other forms', () => {
    for (const text of [
      '2030-02-29',
      '2030-02-30',
      '2030-13-01',
      '2030-00-10',
      '2030-01-00',
      '2030-04-31',
      '2030-01-01T24:00Z',
      '2030-01-01T12:60Z',
      '2030-01-01T12:00:60Z',
      '2030-01-01T12:00+24:00',
      '2030-01-01T12',
      '2030-1-1',
      '31/01/2030',
      'January 31, 2030',
      '2030-01-31T12:00:00Zjunk',
      '1893456000000',
    ]) {
      expect(parseIsoDateTime(text), text).toBeUndefined();
    }
  });
});

describe('parseExpiry', () => {
  it('adds a duration to now', () => {
    expect(parseExpiry('30d', NOW)).toEqual({ ok: true, value: NOW + 30 * 86_400_000 });
    expect(parseExpiry(' 90s ', NOW)).toEqual({ ok: true, value: NOW + 90_000 });
  });

  it('takes an ISO 8601 instant as it is, past or future (the store judges the past)', () => {
    expect(parseExpiry('2031-01-01', NOW)).toEqual({ ok: true, value: Date.UTC(2031, 0, 1) });
    expect(parseExpiry('2001-01-01', NOW)).toEqual({ ok: true, value: Date.UTC(2001, 0, 1) });
  });

  it('fails with expiry_invalid on anything else', () => {
    for (const text of ['soon', '', '30', '2030-02-30', '9999999999999d']) {
      expect(parseExpiry(text, NOW), text).toMatchObject({ ok: false, code: 'expiry_invalid' });
    }
  });
});
