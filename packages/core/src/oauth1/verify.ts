/**
 * Server side of OAuth 1.0a, step two: check the timestamp window, the signature and the body
 * hash of a parsed request. Nonce replay is the caller's job (it needs a store) and must be
 * recorded only after {@link verifyOAuth1Signature} succeeded, so that floods of bad requests
 * cannot grow the nonce store.
 *
 * @packageDocumentation
 */

import { fail, type Result, type Success, succeed } from '../errors.js';
import { constantTimeEqual } from '../secrets.js';
import { verifyBodyHash } from './body-hash.js';
import type { HmacKey } from './hmac.js';
import {
  type OAuth1ParseError,
  type OAuth1ParseOptions,
  type OAuth1Request,
  type OAuth1RequestInput,
  parseOAuth1Request,
} from './request.js';
import { computeSignature, createSigningKey, hmacSignature } from './signature.js';

/** Default accepted distance between a request's timestamp and the server clock, in seconds. */
export const DEFAULT_TIMESTAMP_WINDOW = 300;

/** The secrets a signature is checked against. */
export interface OAuth1Secrets {
  readonly consumerSecret: string;
  /** Token secret (signed sessions); empty or absent for 2-legged requests. */
  readonly tokenSecret?: string | undefined;
  /**
   * The HMAC key for these very secrets, made once by {@link prepareOAuth1Secrets} and kept
   * with them; when absent it is derived from the secrets on every request.
   */
  readonly hmacKey?: HmacKey | undefined;
}

/**
 * Secrets for {@link verifyOAuth1Signature} with their HMAC key made once (RFC 5849 §3.4.2
 * signing key, as an {@link HmacKey}). A verifier that caches secrets should cache these
 * instead: the key is then imported once, not on every request.
 */
export function prepareOAuth1Secrets(consumerSecret: string, tokenSecret = ''): OAuth1Secrets {
  return { consumerSecret, tokenSecret, hmacKey: createSigningKey(consumerSecret, tokenSecret) };
}

// The one success value of the checks here, shared: they run on every request.
const PASSED: Success<true> = Object.freeze(succeed(true as const));

/** The range of timestamps the server accepts now, for the Problem Reporting answer. */
export interface AcceptableTimestamps {
  readonly min: number;
  readonly max: number;
}

/**
 * Checks `oauth_timestamp` against the server clock (RFC 5849 §3.3 leaves the window to the
 * server). On refusal the detail carries the acceptable range so the edge can answer with
 * `oauth_acceptable_timestamps` and clients can correct their clock.
 *
 * @param timestamp - seconds since the epoch, from the request
 * @param nowMs - the server clock, in milliseconds (injected)
 * @param windowSeconds - allowed distance either side
 */
export function checkTimestamp(
  timestamp: number,
  nowMs: number,
  windowSeconds: number = DEFAULT_TIMESTAMP_WINDOW,
): Result<true, 'timestamp_refused'> {
  const range = acceptableTimestamps(nowMs, windowSeconds);
  if (timestamp < range.min || timestamp > range.max) {
    return fail('timestamp_refused', `${range.min}-${range.max}`);
  }
  return PASSED;
}

/** The timestamps accepted at `nowMs` with the given window. */
export function acceptableTimestamps(
  nowMs: number,
  windowSeconds: number = DEFAULT_TIMESTAMP_WINDOW,
): AcceptableTimestamps {
  const now = Math.floor(nowMs / 1000);
  return { min: now - windowSeconds, max: now + windowSeconds };
}

/**
 * Verifies the signature of a parsed request (RFC 5849 §3.2) and, when the request carries
 * `oauth_body_hash`, that it matches the body, in SHA-1 or SHA-256 whatever the HMAC method
 * ({@link verifyBodyHash}). Comparisons are constant-time and strict: the signature must be the
 * exact base64 (or PLAINTEXT) string, no alternative encodings.
 */
export function verifyOAuth1Signature(
  request: OAuth1Request,
  secrets: OAuth1Secrets,
): Result<true, 'signature_invalid' | 'body_hash_invalid'> {
  const method = request.signatureMethod;
  const expected =
    secrets.hmacKey !== undefined && method !== 'PLAINTEXT'
      ? hmacSignature(method, request.baseString, secrets.hmacKey)
      : computeSignature(method, request.baseString, secrets.consumerSecret, secrets.tokenSecret ?? '');
  if (!constantTimeEqual(expected, request.signature)) return fail('signature_invalid');
  // Only now: the verified signature covers oauth_body_hash, so the value is the client's own.
  // The parse already refused it with a form body or PLAINTEXT (body hash draft §4.1.1, §3.1).
  if (request.bodyHash !== undefined) return verifyBodyHash(request.bodyHash, request.body);
  return PASSED;
}

/** Everything {@link verifyOAuth1} needs besides the request. */
export interface OAuth1VerifyOptions extends OAuth1ParseOptions {
  /** The server clock in milliseconds; when given, the timestamp window is enforced. */
  readonly now?: number | undefined;
  /** Timestamp window in seconds. Default 300. */
  readonly timestampWindow?: number;
  /**
   * Finds the secrets for a consumer key (and token). Synchronous and pure from core's point
   * of view: the caller looks them up before or caches them.
   */
  readonly secrets: (consumerKey: string, token: string | undefined) => OAuth1Secrets | undefined;
}

/** Codes {@link verifyOAuth1} can fail with. */
export type OAuth1VerifyError =
  | OAuth1ParseError
  | 'timestamp_refused'
  | 'key_unknown'
  | 'signature_invalid'
  | 'body_hash_invalid';

/**
 * Parses and verifies an OAuth 1.0a request in one call: parse, timestamp window (cheap checks
 * before any lookup), secret lookup, signature, body hash. Returns the parsed request so the
 * caller can record its nonce. Never throws on bad input.
 */
export function verifyOAuth1(
  input: OAuth1RequestInput,
  options: OAuth1VerifyOptions,
): Result<OAuth1Request, OAuth1VerifyError> {
  const parsed = parseOAuth1Request(input, options);
  if (!parsed.ok) return parsed;
  const request = parsed.value;
  if (options.now !== undefined) {
    const time = checkTimestamp(request.timestamp, options.now, options.timestampWindow);
    if (!time.ok) return time;
  }
  const secrets = options.secrets(request.consumerKey, request.token);
  if (secrets === undefined) return fail('key_unknown');
  const checked = verifyOAuth1Signature(request, secrets);
  if (!checked.ok) return checked;
  return parsed;
}
