/**
 * The one refusal mapping: from a code (and what the request presented) to the status, the
 * `WWW-Authenticate` challenges and the JSON body, for every adapter, every server route and
 * the OAuth endpoints.
 *
 * Challenges (RFC 7235 §4.1): a 401 names every enabled scheme, so the client learns what it
 * may use; the scheme the request presented carries the details of why it failed (RFC 6750
 * §3.1 `error`, the OAuth Problem Reporting `oauth_problem`). A 400 or a 403 carries only the
 * presented scheme's challenge, with those details.
 *
 * @packageDocumentation
 */

import { randomUUID } from 'node:crypto';
import { ERROR_CODES, type ErrorCode, statusOf } from '../errors/codes.js';
import type { Refusal } from './types.js';

/** What a refusal says beyond its code, for the challenge of the scheme that was presented. */
export interface ChallengeDetail {
  /** The status of the refusal. */
  readonly status: number;
  readonly code: ErrorCode;
  /** Scopes the route requires (RFC 6750 §3 `scope`), on `insufficient_scope`. */
  readonly scopes?: readonly string[] | undefined;
  /** OAuth Problem Reporting parameters beside `oauth_problem` (`oauth_parameters_absent`, …). */
  readonly oauthParams?: Readonly<Record<string, string>> | undefined;
  /** The refusal's detail, which names a parameter for the parameter codes. */
  readonly detail?: string | undefined;
}

/** `realm="…"` (RFC 7235 §2.2); the realm was checked for quotes when the verifier was built. */
function realmParam(realm: string): string {
  return `realm="${realm}"`;
}

// A quoted-string (RFC 9110 §5.6.4) of a value we made: no quote, no backslash.
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

/** `Basic realm="…", charset="UTF-8"` (RFC 7617 §2, §2.1). Basic has no error attributes. */
export function basicChallenge(realm: string): string {
  return `Basic ${realmParam(realm)}, charset="UTF-8"`;
}

/**
 * The `Bearer` challenge (RFC 6750 §3): without detail, just the realm (no credentials were
 * presented, §3.1: "SHOULD NOT include an error code"); for a presented bearer token,
 * `invalid_request` on a 400, `insufficient_scope` with `scope` on a 403, else `invalid_token`.
 */
export function bearerChallenge(realm: string, detail?: ChallengeDetail): string {
  const head = `Bearer ${realmParam(realm)}`;
  if (detail === undefined || detail.code === 'credentials_missing') return head;
  if (detail.code === 'insufficient_scope') {
    const scope =
      detail.scopes !== undefined && detail.scopes.length > 0 ? `, scope=${quoted(detail.scopes.join(' '))}` : '';
    return `${head}, error="insufficient_scope"${scope}`;
  }
  if (detail.status === 400) return `${head}, error="invalid_request"`;
  if (detail.status === 401) return `${head}, error="invalid_token"`;
  return head;
}

/**
 * The `oauth_problem` of a code (OAuth Problem Reporting, oauth.net, §2), where one fits. Codes
 * with no counterpart there (a body hash mismatch) are reported under their own name, so the
 * client sees in the challenge what the body says.
 */
export const OAUTH_PROBLEMS: Partial<Record<ErrorCode, string>> = {
  malformed_header: 'parameter_rejected',
  malformed_request: 'parameter_rejected',
  parameter_missing: 'parameter_absent',
  parameter_duplicated: 'parameter_rejected',
  parameter_rejected: 'parameter_rejected',
  too_many_parameters: 'parameter_rejected',
  signature_method_rejected: 'signature_method_rejected',
  signature_invalid: 'signature_invalid',
  body_hash_missing: 'parameter_absent',
  body_hash_invalid: 'body_hash_invalid',
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
  transport_insecure: 'signature_method_rejected',
  insufficient_scope: 'permission_denied',
};

/** The `oauth_*` parameter a parameter refusal's detail names, if it names one first. */
function namedParameter(detail: string | undefined): string | undefined {
  return /^(oauth_[a-z_]+)/.exec(detail ?? '')?.[1];
}

/**
 * The `OAuth` challenge (RFC 5849 §3.5.1 names the scheme; parameters from OAuth Problem
 * Reporting): `oauth_problem` for the code, `oauth_parameters_absent` / `_rejected` naming the
 * parameter, and any parameters the scheme adds (`oauth_acceptable_timestamps`).
 */
export function oauthChallenge(realm: string, detail?: ChallengeDetail): string {
  const params: Record<string, string> = {};
  if (detail !== undefined && detail.code !== 'credentials_missing') {
    const problem = OAUTH_PROBLEMS[detail.code];
    if (problem !== undefined) params.oauth_problem = problem;
    const named = detail.code === 'body_hash_missing' ? 'oauth_body_hash' : namedParameter(detail.detail);
    if (named !== undefined) {
      if (problem === 'parameter_absent') params.oauth_parameters_absent = named;
      else if (problem === 'parameter_rejected') params.oauth_parameters_rejected = named;
    }
    Object.assign(params, detail.oauthParams);
  }
  return ['OAuth', [realmParam(realm), ...Object.entries(params).map(([k, v]) => `${k}=${quoted(v)}`)].join(', ')].join(
    ' ',
  );
}

/** Extra parts of a refusal, as a scheme or route gives them. */
export interface RefusalExtras {
  /** Said after the code's meaning, in parentheses: which parameter, what limit. Never a secret. */
  readonly detail?: string | undefined;
  readonly retryAfter?: number | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** OAuth Problem Reporting parameters for the OAuth challenge. */
  readonly oauthParams?: Readonly<Record<string, string>> | undefined;
  /** Scopes the route requires, for `insufficient_scope`. */
  readonly scopes?: readonly string[] | undefined;
}

/**
 * The challenge builder of a verifier: which schemes are enabled, under which realm. Kept by the
 * verifier and used wherever a refusal is made, so every refusal names the same schemes.
 */
export interface Challenger {
  /**
   * The challenges of a refusal: `presented` is the `Authorization` scheme (lower case) the
   * request used, when known.
   */
  challenges(detail: ChallengeDetail, presented: string | undefined): string[];
}

/**
 * A refusal for `code`, with its status from the catalogue and its challenges.
 */
export function makeRefusal(
  challenger: Challenger,
  code: ErrorCode,
  extras: RefusalExtras = {},
  presented?: string,
): Refusal {
  const status = statusOf(code);
  const { meaning } = ERROR_CODES[code];
  const message = extras.detail === undefined ? meaning : `${meaning} (${extras.detail})`;
  const challenge = challenger.challenges({ status, code, ...extras }, presented);
  return {
    ok: false,
    status,
    code,
    message,
    ...(challenge.length > 0 ? { challenge } : {}),
    ...(extras.retryAfter === undefined ? {} : { retryAfter: extras.retryAfter }),
    ...(extras.headers === undefined ? {} : { headers: extras.headers }),
  };
}

/** The JSON body of every refusal: `{ "error": { "code", "message", "requestId" } }`. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly requestId: string };
}

/** Status, headers and body of a refusal, framework-free. */
export interface RenderedRefusal {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: ErrorBody;
}

/**
 * Renders a refusal: the status, `WWW-Authenticate` (one field value per challenge),
 * `Retry-After`, `Cache-Control: no-store`, the request id, and the one JSON error shape.
 * `requestId` defaults to a new UUID.
 */
export function renderRefusal(refusal: Refusal, requestId: string = randomUUID()): RenderedRefusal {
  const headers: Record<string, string | string[]> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-request-id': requestId,
  };
  if (refusal.challenge !== undefined && refusal.challenge.length > 0)
    headers['www-authenticate'] = [...refusal.challenge];
  if (refusal.retryAfter !== undefined) headers['retry-after'] = String(refusal.retryAfter);
  for (const [name, value] of Object.entries(refusal.headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    status: refusal.status,
    headers,
    body: { error: { code: refusal.code, message: refusal.message, requestId } },
  };
}
