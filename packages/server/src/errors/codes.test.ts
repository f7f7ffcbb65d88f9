import type { ProductErrorCode } from '@keyward/client';
import { ERROR_CODES as PROTOCOL_CODES, type ProtocolErrorCode } from '@keyward/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ERROR_CODES, type ErrorCode, isErrorCode, isProtocolCode, statusOf } from './codes.js';

describe('server error catalogue', () => {
  it('gives every code a status and a one-line meaning', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
      expect([400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 502, 503, 504]).toContain(info.status);
      expect(info.meaning).toMatch(/^[A-Z].*\.$/);
      expect(info.meaning).not.toContain('\n');
    }
  });

  it('re-lists every protocol code of core with core’s meaning', () => {
    for (const [code, { meaning }] of Object.entries(PROTOCOL_CODES)) {
      expect(ERROR_CODES).toHaveProperty(code);
      expect(ERROR_CODES[code as ProtocolErrorCode].meaning).toBe(meaning);
    }
    expectTypeOf<ProtocolErrorCode>().toExtend<ErrorCode>();
  });

  it('answers each code with the status clients rely on', () => {
    // The statuses are part of the HTTP contract: a change here is a breaking change.
    expect(Object.fromEntries(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]))).toEqual({
      credentials_missing: 401,
      scheme_unsupported: 401,
      malformed_header: 400,
      malformed_request: 400,
      parameter_missing: 400,
      parameter_duplicated: 400,
      parameter_rejected: 400,
      too_many_parameters: 400,
      signature_method_rejected: 400,
      signature_invalid: 401,
      body_hash_missing: 400,
      body_hash_invalid: 401,
      timestamp_refused: 401,
      nonce_reused: 401,
      key_unknown: 401,
      seal_invalid: 500,
      malformed_token: 401,
      key_disabled: 401,
      key_revoked: 401,
      key_expired: 401,
      account_disabled: 401,
      token_invalid: 401,
      token_expired: 401,
      session_invalid: 401,
      session_expired: 401,
      session_ip_mismatch: 401,
      method_not_allowed: 401,
      transport_insecure: 403,
      insufficient_scope: 403,
      invalid_input: 400,
      email_taken: 409,
      password_rejected: 400,
      scope_invalid: 400,
      metadata_too_large: 400,
      expiry_invalid: 400,
      account_not_found: 404,
      key_not_found: 404,
      invalid_state: 409,
      login_failed: 401,
      registration_closed: 403,
      password_incorrect: 403,
      forbidden: 403,
      csrf_token_invalid: 403,
      not_found: 404,
      http_method_not_allowed: 405,
      route_not_allowed: 403,
      body_not_forwarded: 400,
      upstream_unavailable: 502,
      upstream_timeout: 504,
      body_too_large: 413,
      media_type_unsupported: 415,
      rate_limited: 429,
      store_unavailable: 503,
      internal_error: 500,
    });
  });

  it('maps a code to its status', () => {
    expect(statusOf('signature_invalid')).toBe(401);
    expect(statusOf('email_taken')).toBe(409);
    expect(statusOf('store_unavailable')).toBe(503);
  });

  it('recognises its codes, own keys only', () => {
    expect(isErrorCode('email_taken')).toBe(true);
    expect(isErrorCode('nonce_reused')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('hasOwnProperty')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });

  it('tells protocol codes from product codes', () => {
    expect(isProtocolCode('timestamp_refused')).toBe(true);
    expect(isProtocolCode('seal_invalid')).toBe(true);
    expect(isProtocolCode('email_taken')).toBe(false);
    expect(isProtocolCode('toString')).toBe(false);
    const protocol = Object.keys(ERROR_CODES).filter(isProtocolCode);
    expect(protocol.sort()).toEqual(Object.keys(PROTOCOL_CODES).sort());
  });

  it('is what the client declares: its protocol and product codes together', () => {
    // The client depends on core only, so it lists the product codes itself; this keeps the
    // two lists equal (checked by the type-check).
    expectTypeOf<ErrorCode>().toEqualTypeOf<ProtocolErrorCode | ProductErrorCode>();
  });
});
