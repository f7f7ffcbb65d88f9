import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode, fail, isErrorCode, oauthProblem } from './errors.js';

describe('error taxonomy', () => {
  it('gives every code a status and a one-line meaning', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
      expect([400, 401, 403, 404, 409, 413, 415, 429, 500, 503]).toContain(info.status);
      expect(info.meaning).toMatch(/^[A-Z].*\.$/);
      expect(info.meaning).not.toContain('\n');
    }
  });

  it('maps the Problem Reporting codes clients act on', () => {
    expect(oauthProblem('timestamp_refused')).toBe('timestamp_refused');
    expect(oauthProblem('nonce_reused')).toBe('nonce_used');
    expect(oauthProblem('key_unknown')).toBe('consumer_key_unknown');
    expect(oauthProblem('store_unavailable')).toBeUndefined();
  });

  it('recognises codes and builds failures', () => {
    expect(isErrorCode('nonce_reused')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    const code: ErrorCode = 'signature_invalid';
    expect(fail(code)).toEqual({ ok: false, code });
    expect(fail(code, 'why')).toEqual({ ok: false, code, detail: 'why' });
  });
});
