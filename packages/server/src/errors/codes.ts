/**
 * The server's error catalogue: every code a Keyward server answers with, each with the HTTP
 * status the edge sends and a one-line meaning. Core's protocol codes are re-listed here because
 * the HTTP status is a server decision (core knows no HTTP); their meanings come from core so the
 * two never drift. The product codes (accounts, keys, limits, infrastructure) exist only here.
 *
 * @packageDocumentation
 */

import { isErrorCode as isCode, ERROR_CODES as PROTOCOL_CODES, type ProtocolErrorCode } from '@keyward/core';

/** An HTTP status a Keyward server refuses a request with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 502 | 503 | 504;

/** One entry of the error catalogue. */
export interface ErrorCodeInfo {
  /** HTTP status the edge answers with. */
  readonly status: ErrorStatus;
  /** One line saying what the code means, for docs and for `message` fields. */
  readonly meaning: string;
}

/**
 * Every expected failure the server reports, with its HTTP status and a one-line meaning.
 * The keys of this object are the server's {@link ErrorCode} union; the protocol codes of
 * `@keyward/core` are among them (checked at compile time below).
 */
export const ERROR_CODES = {
  // Protocol codes of @keyward/core: parsing credentials and verifying OAuth 1.0a requests.
  credentials_missing: { status: 401, meaning: PROTOCOL_CODES.credentials_missing.meaning },
  scheme_unsupported: { status: 401, meaning: PROTOCOL_CODES.scheme_unsupported.meaning },
  malformed_header: { status: 400, meaning: PROTOCOL_CODES.malformed_header.meaning },
  malformed_request: { status: 400, meaning: PROTOCOL_CODES.malformed_request.meaning },
  parameter_missing: { status: 400, meaning: PROTOCOL_CODES.parameter_missing.meaning },
  parameter_duplicated: { status: 400, meaning: PROTOCOL_CODES.parameter_duplicated.meaning },
  parameter_rejected: { status: 400, meaning: PROTOCOL_CODES.parameter_rejected.meaning },
  too_many_parameters: { status: 400, meaning: PROTOCOL_CODES.too_many_parameters.meaning },
  signature_method_rejected: { status: 400, meaning: PROTOCOL_CODES.signature_method_rejected.meaning },
  signature_invalid: { status: 401, meaning: PROTOCOL_CODES.signature_invalid.meaning },
  body_hash_missing: { status: 400, meaning: PROTOCOL_CODES.body_hash_missing.meaning },
  body_hash_invalid: { status: 401, meaning: PROTOCOL_CODES.body_hash_invalid.meaning },
  timestamp_refused: { status: 401, meaning: PROTOCOL_CODES.timestamp_refused.meaning },
  nonce_reused: { status: 401, meaning: PROTOCOL_CODES.nonce_reused.meaning },
  key_unknown: { status: 401, meaning: PROTOCOL_CODES.key_unknown.meaning },
  // A sealed secret that does not open is a misconfigured server, not a bad request.
  seal_invalid: { status: 500, meaning: PROTOCOL_CODES.seal_invalid.meaning },

  // Product codes: credentials and sessions as the server's store knows them.
  malformed_token: { status: 401, meaning: 'The key, token or secret is not a well-formed Keyward string.' },
  key_disabled: { status: 401, meaning: 'The key is disabled.' },
  key_revoked: { status: 401, meaning: 'The key has been revoked.' },
  key_expired: { status: 401, meaning: 'The key has expired.' },
  account_disabled: { status: 401, meaning: 'The account that owns the credential is disabled.' },
  token_invalid: { status: 401, meaning: 'The access token is unknown, revoked or malformed.' },
  token_expired: { status: 401, meaning: 'The access token has expired.' },
  session_invalid: { status: 401, meaning: 'The session is unknown or has ended.' },
  session_expired: { status: 401, meaning: 'The session has passed its idle or absolute expiry.' },
  session_ip_mismatch: { status: 401, meaning: 'The session is used from an address it was not issued to.' },
  method_not_allowed: { status: 401, meaning: 'This key may not be used with this authentication method.' },
  transport_insecure: {
    status: 403,
    meaning: 'A secret-bearing method was used over plain HTTP from an untrusted address.',
  },
  insufficient_scope: { status: 403, meaning: 'The credential lacks a scope this route requires.' },

  // Product codes: the account and admin API.
  invalid_input: { status: 400, meaning: 'A field is missing, malformed or out of range.' },
  email_taken: { status: 409, meaning: 'An account with this email address already exists.' },
  password_rejected: {
    status: 400,
    meaning:
      'The password is shorter than 8 or longer than 128 characters, too common, or one repeated or sequential pattern.',
  },
  scope_invalid: { status: 400, meaning: 'A scope is not a valid scope token, or there are too many.' },
  metadata_too_large: { status: 400, meaning: 'The metadata is larger than 4096 bytes of JSON.' },
  expiry_invalid: { status: 400, meaning: 'The expiry is malformed or not in the future.' },
  account_not_found: { status: 404, meaning: 'No account has this id or email address.' },
  key_not_found: { status: 404, meaning: 'No key has this id.' },
  invalid_state: {
    status: 409,
    meaning: 'The object is in a state that does not allow this change (for example, rotating a revoked key).',
  },
  login_failed: {
    status: 401,
    meaning: 'The email or password is wrong, or the account cannot log in (which one is not said).',
  },
  registration_closed: { status: 403, meaning: 'This server does not accept new accounts.' },
  password_incorrect: {
    status: 403,
    meaning: 'The current password given to confirm this change is wrong (the session itself is still valid).',
  },
  forbidden: { status: 403, meaning: 'The caller is authenticated but may not do this (for example, not an admin).' },
  csrf_token_invalid: {
    status: 403,
    meaning:
      "A request made with the web console's session cookie lacks a valid X-CSRF-Token, or a sign-in came from another site.",
  },

  // Product codes: HTTP and infrastructure.
  not_found: { status: 404, meaning: 'No such route or object.' },
  route_not_allowed: {
    status: 403,
    meaning: 'No route rule lets this request through (the route rules of the gateway or forward-auth).',
  },
  body_not_forwarded: {
    status: 400,
    meaning:
      'The request is signed over a form body that forward-auth does not receive; protect this route with keyward gateway.',
  },
  upstream_unavailable: { status: 502, meaning: 'The gateway could not reach the protected API.' },
  upstream_timeout: { status: 504, meaning: 'The protected API did not answer the gateway in time.' },
  http_method_not_allowed: {
    status: 405,
    meaning: 'The route exists but not for this HTTP method; the Allow header lists those it takes.',
  },
  body_too_large: { status: 413, meaning: 'The request body is larger than the server accepts.' },
  media_type_unsupported: { status: 415, meaning: 'The request body has a content type this route does not accept.' },
  rate_limited: { status: 429, meaning: 'Too many requests or failed attempts; retry after the given delay.' },
  store_unavailable: { status: 503, meaning: 'The credential store cannot be reached; the request is refused.' },
  internal_error: { status: 500, meaning: 'An unexpected error; the request id identifies it in the server log.' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** Stable machine-readable code of an expected failure the server reports. */
export type ErrorCode = keyof typeof ERROR_CODES;

// Compile-time check: a protocol code added to core without a status here fails the build,
// because the edge could not map it to a response.
type MissingProtocolCodes = Exclude<ProtocolErrorCode, ErrorCode>;
const everyProtocolCodeListed: [MissingProtocolCodes] extends [never] ? true : MissingProtocolCodes = true;
void everyProtocolCodeListed;

/** The HTTP status the edge answers `code` with. */
export function statusOf(code: ErrorCode): ErrorStatus {
  return ERROR_CODES[code].status;
}

/** True when `value` is one of the server's {@link ErrorCode}s (own keys only, not `toString`). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return isCode(value, ERROR_CODES);
}

/** True when `code` is a protocol code defined by `@keyward/core` rather than a product code. */
export function isProtocolCode(code: string): code is ProtocolErrorCode {
  return isCode(code);
}
