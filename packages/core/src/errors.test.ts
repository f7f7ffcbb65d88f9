import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ERROR_CODES,
  type ErrorCode,
  type Failure,
  fail,
  isErrorCode,
  type ProtocolErrorCode,
  type Result,
  succeed,
} from './errors.js';

describe('protocol error codes', () => {
  it('gives every code a one-line meaning and no HTTP status', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
      expect(Object.keys(info)).toEqual(['meaning']);
      expect(info.meaning).toMatch(/^[A-Z].*\.$/);
      expect(info.meaning).not.toContain('\n');
    }
  });

  it('lists exactly the protocol codes: those core returns, and nonce_reused', () => {
    expect(Object.keys(ERROR_CODES).sort()).toEqual(
      [
        'body_hash_invalid',
        'body_hash_missing',
        'credentials_missing',
        'key_unknown',
        'malformed_header',
        'malformed_request',
        'nonce_reused',
        'parameter_duplicated',
        'parameter_missing',
        'parameter_rejected',
        'scheme_unsupported',
        'seal_invalid',
        'signature_invalid',
        'signature_method_rejected',
        'timestamp_refused',
        'too_many_parameters',
      ].sort(),
    );
    expectTypeOf<ErrorCode>().toEqualTypeOf<ProtocolErrorCode>();
  });

  it('recognises protocol codes, own keys only', () => {
    expect(isErrorCode('nonce_reused')).toBe(true);
    expect(isErrorCode('email_taken')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('__proto__')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });

  it('recognises the codes of another catalogue when given one', () => {
    const catalogue = { email_taken: { status: 409 }, nonce_reused: { status: 401 } } as const;
    const value: unknown = 'email_taken';
    expect(isErrorCode(value, catalogue)).toBe(true);
    if (isErrorCode(value, catalogue)) expectTypeOf(value).toEqualTypeOf<'email_taken' | 'nonce_reused'>();
    expect(isErrorCode('signature_invalid', catalogue)).toBe(false);
    expect(isErrorCode('constructor', catalogue)).toBe(false);
  });
});

describe('failures and results', () => {
  it('builds failures, with a detail only when given', () => {
    const code: ProtocolErrorCode = 'signature_invalid';
    expect(fail(code)).toEqual({ ok: false, code });
    expect(fail(code)).not.toHaveProperty('detail');
    expect(fail(code, 'why')).toEqual({ ok: false, code, detail: 'why' });
    expect(succeed(1)).toEqual({ ok: true, value: 1 });
  });

  it('takes any string code union, so the server can use its product codes', () => {
    type Product = 'email_taken' | 'key_not_found';
    const failure = fail<Product>('email_taken');
    expectTypeOf(failure).toEqualTypeOf<Failure<Product>>();
    const result: Result<number, Product | ProtocolErrorCode> = failure;
    expect(result).toEqual({ ok: false, code: 'email_taken' });
    // The default code type stays the protocol union.
    expectTypeOf<Failure['code']>().toEqualTypeOf<ProtocolErrorCode>();
  });
});
