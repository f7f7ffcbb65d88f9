/**
 * The one error taxonomy of Keyward. Every expected failure is a value carrying one of
 * these codes; exceptions are kept for misuse (`TypeError`) and infrastructure.
 *
 * The HTTP status lives beside each code so that the edge maps a code to a response in
 * exactly one place.
 *
 * @packageDocumentation
 */

/** One entry of the error catalogue. */
export interface ErrorCodeInfo {
  /** HTTP status the edge answers with. */
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;
  /** One line saying what the code means, for docs and for `message` fields. */
  readonly meaning: string;
}

/**
 * Every expected failure, with its HTTP status and a one-line meaning.
 * The keys of this object are the {@link ErrorCode} union.
 */
export const ERROR_CODES = {
  credentials_missing: { status: 401, meaning: 'The request carries no credentials for any enabled method.' },
  scheme_unsupported: { status: 401, meaning: 'The Authorization scheme is not one this server accepts.' },
  malformed_header: { status: 400, meaning: 'The Authorization header cannot be parsed.' },
  malformed_request: {
    status: 400,
    meaning: 'The request target, query or form body is not valid percent-encoded UTF-8.',
  },
  malformed_token: { status: 401, meaning: 'The key, token or secret is not a well-formed Keyward string.' },
  parameter_missing: { status: 400, meaning: 'A required OAuth protocol parameter is absent.' },
  parameter_duplicated: {
    status: 400,
    meaning: 'An OAuth protocol parameter appears twice or in more than one place.',
  },
  parameter_rejected: { status: 400, meaning: 'An OAuth protocol parameter has a value the server refuses.' },
  too_many_parameters: { status: 400, meaning: 'The request carries more parameters than the server accepts.' },
  signature_method_rejected: {
    status: 400,
    meaning: 'The OAuth signature method is unknown or not enabled here.',
  },
  signature_invalid: { status: 401, meaning: 'The request signature does not match.' },
  body_hash_missing: { status: 400, meaning: 'This route requires oauth_body_hash and the request has none.' },
  body_hash_invalid: { status: 401, meaning: 'The oauth_body_hash does not match the request body.' },
  timestamp_refused: { status: 401, meaning: 'The timestamp is outside the accepted window.' },
  nonce_reused: { status: 401, meaning: 'This nonce was already used with this key within the window.' },
  key_unknown: {
    status: 401,
    meaning: 'No key matches the credentials given: unknown id or wrong secret, never told apart.',
  },
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
  invalid_input: { status: 400, meaning: 'A field is missing, malformed or out of range.' },
  email_taken: { status: 409, meaning: 'An account with this email address already exists.' },
  password_rejected: {
    status: 400,
    meaning: 'The password is shorter than 8 or longer than 128 characters, or too common.',
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
  not_found: { status: 404, meaning: 'No such route or object.' },
  body_too_large: { status: 413, meaning: 'The request body is larger than the server accepts.' },
  media_type_unsupported: { status: 415, meaning: 'The request body has a content type this route does not accept.' },
  rate_limited: { status: 429, meaning: 'Too many requests or failed attempts; retry after the given delay.' },
  seal_invalid: {
    status: 500,
    meaning: 'A sealed secret does not open under the configured master keys (wrong or missing key).',
  },
  store_unavailable: { status: 503, meaning: 'The credential store cannot be reached; the request is refused.' },
  internal_error: { status: 500, meaning: 'An unexpected error; the request id identifies it in the server log.' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** Stable machine-readable code of an expected failure. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** An expected failure: a value, never thrown. */
export interface Failure<C extends ErrorCode = ErrorCode> {
  readonly ok: false;
  readonly code: C;
  /** Safe, secret-free detail for humans (which parameter, what limit). */
  readonly detail?: string;
}

/** A success carrying a value. */
export interface Success<T> {
  readonly ok: true;
  readonly value: T;
}

/** The result of any core operation that can fail on bad input. */
export type Result<T, C extends ErrorCode = ErrorCode> = Success<T> | Failure<C>;

/** Builds a {@link Failure}. */
export function fail<C extends ErrorCode>(code: C, detail?: string): Failure<C> {
  return detail === undefined ? { ok: false, code } : { ok: false, code, detail };
}

/** Builds a {@link Success}. */
export function succeed<T>(value: T): Success<T> {
  return { ok: true, value };
}

/** True when `value` is one of the {@link ErrorCode}s. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * The OAuth Problem Reporting extension's `oauth_problem` value for a code, where one exists
 * (oauth.net "OAuth Extension: Problem Reporting", §2). Lets OAuth 1.0a clients that know
 * the extension react to a refusal (for example, correct their clock on `timestamp_refused`).
 */
export function oauthProblem(code: ErrorCode): string | undefined {
  return OAUTH_PROBLEMS[code];
}

const OAUTH_PROBLEMS: Partial<Record<ErrorCode, string>> = {
  parameter_missing: 'parameter_absent',
  parameter_duplicated: 'parameter_rejected',
  parameter_rejected: 'parameter_rejected',
  too_many_parameters: 'parameter_rejected',
  signature_method_rejected: 'signature_method_rejected',
  signature_invalid: 'signature_invalid',
  body_hash_invalid: 'signature_invalid',
  timestamp_refused: 'timestamp_refused',
  nonce_reused: 'nonce_used',
  key_unknown: 'consumer_key_unknown',
  malformed_token: 'consumer_key_unknown',
  key_disabled: 'consumer_key_rejected',
  key_revoked: 'consumer_key_rejected',
  key_expired: 'consumer_key_rejected',
  account_disabled: 'consumer_key_rejected',
  method_not_allowed: 'consumer_key_rejected',
  session_invalid: 'token_rejected',
  session_expired: 'token_expired',
  session_ip_mismatch: 'token_rejected',
  insufficient_scope: 'permission_denied',
};
