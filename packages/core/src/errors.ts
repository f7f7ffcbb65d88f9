/**
 * Keyward's protocol error codes: the expected failures of parsing credentials, decoding
 * requests, verifying OAuth 1.0a requests and opening sealed secrets. Every expected failure is
 * a value carrying a code; exceptions are kept for misuse (`TypeError`) and infrastructure.
 *
 * Core knows no HTTP: the status each code answers with, and the product codes (accounts, keys,
 * limits, infrastructure), live in the server's catalogue. {@link Failure}, {@link Result},
 * {@link fail} and {@link isErrorCode} take any code union, so the server uses them with its own.
 *
 * @packageDocumentation
 */

/** One entry of the protocol catalogue. */
export interface ProtocolErrorInfo {
  /** One line saying what the code means, for docs and for `message` fields. */
  readonly meaning: string;
}

/**
 * Every protocol code, with a one-line meaning: the codes core's own functions return, plus
 * `nonce_reused`, which the protocol defines (RFC 5849 §3.3) and core leaves to the caller
 * because recording nonces needs a store. The keys of this object are the
 * {@link ProtocolErrorCode} union.
 */
export const ERROR_CODES = {
  credentials_missing: { meaning: 'The request carries no credentials for any enabled method.' },
  scheme_unsupported: { meaning: 'The Authorization scheme is not one this server accepts.' },
  malformed_header: { meaning: 'The Authorization header cannot be parsed.' },
  malformed_request: { meaning: 'The request target, query or form body is not valid percent-encoded UTF-8.' },
  parameter_missing: { meaning: 'A required OAuth protocol parameter is absent.' },
  parameter_duplicated: { meaning: 'An OAuth protocol parameter appears twice or in more than one place.' },
  parameter_rejected: { meaning: 'An OAuth protocol parameter has a value the server refuses.' },
  too_many_parameters: { meaning: 'The request carries more parameters than the server accepts.' },
  signature_method_rejected: { meaning: 'The OAuth signature method is unknown or not enabled here.' },
  signature_invalid: { meaning: 'The request signature does not match.' },
  body_hash_missing: { meaning: 'This route requires oauth_body_hash and the request has none.' },
  body_hash_invalid: { meaning: 'The oauth_body_hash does not match the request body.' },
  timestamp_refused: { meaning: 'The timestamp is outside the accepted window.' },
  nonce_reused: { meaning: 'This nonce was already used with this key within the window.' },
  key_unknown: { meaning: 'No key matches the credentials given: unknown id or wrong secret, never told apart.' },
  seal_invalid: {
    meaning: 'A sealed secret does not open under the configured master keys (wrong or missing key).',
  },
} as const satisfies Record<string, ProtocolErrorInfo>;

/** Stable machine-readable code of an expected protocol failure. */
export type ProtocolErrorCode = keyof typeof ERROR_CODES;

/**
 * Core's name for {@link ProtocolErrorCode}, the default code type of {@link Failure} and
 * {@link Result}. The server's own `ErrorCode` (protocol and product codes) is a wider union.
 */
export type ErrorCode = ProtocolErrorCode;

/** An expected failure: a value, never thrown. */
export interface Failure<C extends string = ErrorCode> {
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

/** The result of any operation that can fail on bad input; `C` is its union of codes. */
export type Result<T, C extends string = ErrorCode> = Success<T> | Failure<C>;

/** Builds a {@link Failure} with `code` (any code union: core's, or the server's). */
export function fail<C extends string>(code: C, detail?: string): Failure<C> {
  return detail === undefined ? { ok: false, code } : { ok: false, code, detail };
}

/** Builds a {@link Success}. */
export function succeed<T>(value: T): Success<T> {
  return { ok: true, value };
}

/**
 * True when `value` is one of core's {@link ProtocolErrorCode}s or, given a `catalogue` (the
 * server's), one of its keys. Own keys only, so `toString` and other inherited names never pass.
 */
export function isErrorCode(value: unknown): value is ProtocolErrorCode;
export function isErrorCode<C extends string>(value: unknown, catalogue: Readonly<Record<C, unknown>>): value is C;
export function isErrorCode(value: unknown, catalogue: object = ERROR_CODES): boolean {
  return typeof value === 'string' && Object.hasOwn(catalogue, value);
}
