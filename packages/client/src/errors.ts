/**
 * {@link KeywardError}: a refusal from a Keyward server (or any OAuth 2.0 token endpoint) as one
 * error type, with the server's code, status, message and request id.
 *
 * @packageDocumentation
 */

import type { ProtocolErrorCode } from '@keyward/core';

/**
 * Error codes of RFC 6749 §5.2 a token endpoint answers with, plus the two of RFC 6750 §3.1 a
 * resource server may put in its challenge.
 */
export type OAuth2ErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_token'
  | 'insufficient_scope';

/**
 * Codes the client itself reports: a response that is neither of the two error shapes
 * (`unexpected_response`, for example an HTML page from a proxy), or a token response that
 * breaks RFC 6749 §5.1 (`invalid_token_response`).
 */
export type ClientErrorCode = 'unexpected_response' | 'invalid_token_response';

/**
 * The product codes a Keyward server answers with, beside core's {@link ProtocolErrorCode}s:
 * credentials as the server's store knows them, the account and admin API, limits and
 * infrastructure (docs/errors.md lists them all). Declared here because the client depends on
 * core only; the server's type-check fails if this list and its catalogue ever differ.
 */
export type ProductErrorCode =
  | 'malformed_token'
  | 'key_disabled'
  | 'key_revoked'
  | 'key_expired'
  | 'account_disabled'
  | 'token_invalid'
  | 'token_expired'
  | 'session_invalid'
  | 'session_expired'
  | 'session_ip_mismatch'
  | 'method_not_allowed'
  | 'transport_insecure'
  | 'insufficient_scope'
  | 'invalid_input'
  | 'email_taken'
  | 'password_rejected'
  | 'scope_invalid'
  | 'metadata_too_large'
  | 'expiry_invalid'
  | 'account_not_found'
  | 'key_not_found'
  | 'invalid_state'
  | 'login_failed'
  | 'registration_closed'
  | 'password_incorrect'
  | 'forbidden'
  | 'csrf_token_invalid'
  | 'not_found'
  | 'route_not_allowed'
  | 'body_not_forwarded'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'http_method_not_allowed'
  | 'body_too_large'
  | 'media_type_unsupported'
  | 'rate_limited'
  | 'store_unavailable'
  | 'internal_error';

/**
 * Every code a {@link KeywardError} can carry: a Keyward server's protocol and product codes, the
 * OAuth 2.0 codes and the client's own, listed for completion; other strings pass through from
 * other servers (`string & {}` keeps the literals from collapsing into `string`).
 */
export type KeywardErrorCode = ProtocolErrorCode | ProductErrorCode | OAuth2ErrorCode | ClientErrorCode | (string & {});

/** What a {@link KeywardError} is made of. */
export interface KeywardErrorInit {
  readonly code: KeywardErrorCode;
  /** HTTP status of the response. */
  readonly status: number;
  readonly message: string;
  /** The server's request id (body or `X-Request-Id`), to find the request in its log. */
  readonly requestId?: string | undefined;
  /** `oauth_problem` of an OAuth 1.0a challenge, when the server sent one. */
  readonly oauthProblem?: string | undefined;
}

/**
 * A request the server refused, or a response the client cannot use. The message is the
 * server's own (Keyward never puts a secret in one) or one the client wrote from the status: a
 * secret never appears in it.
 */
export class KeywardError extends Error {
  override readonly name = 'KeywardError';
  /** The server's error code (`signature_invalid`, `invalid_client`, …). */
  readonly code: KeywardErrorCode;
  /** HTTP status of the response. */
  readonly status: number;
  /** The server's request id, when it sent one. */
  readonly requestId: string | undefined;
  /** `oauth_problem` from the OAuth 1.0a challenge (OAuth Problem Reporting §2), if any. */
  readonly oauthProblem: string | undefined;

  constructor(init: KeywardErrorInit) {
    super(init.message);
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.oauthProblem = init.oauthProblem;
  }
}

// Bounds what is read from an error body: a refusal is small, a misrouted download is not.
const MAX_ERROR_BODY = 64 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The error body of a response as JSON, or undefined when it is not JSON. Reads the response's
 * body: pass a clone when the caller still needs it.
 */
export async function readErrorJson(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  if (!/\bjson\b/i.test(type)) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  try {
    const text = await response.text();
    return text.length > MAX_ERROR_BODY ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/** The code of Keyward's one error shape `{ "error": { "code", … } }`, if `body` has it. */
export function keywardErrorCode(body: unknown): string | undefined {
  if (!isRecord(body) || !isRecord(body.error)) return undefined;
  return typeof body.error.code === 'string' ? body.error.code : undefined;
}

/** The `oauth_problem` of an `OAuth` challenge in a `WWW-Authenticate` header, if any. */
export function oauthProblemOf(response: Response): string | undefined {
  return /\boauth_problem="([^"]*)"/.exec(response.headers.get('www-authenticate') ?? '')?.[1];
}

/**
 * A {@link KeywardError} for a response that is not OK, from Keyward's one error shape
 * (`{ error: { code, message, requestId } }`), the RFC 6749 §5.2 shape
 * (`{ error, error_description }`, token endpoints), or, for anything else, the status alone.
 * Consumes the response body.
 */
export async function errorFromResponse(response: Response): Promise<KeywardError> {
  const body = await readErrorJson(response);
  const headerId = response.headers.get('x-request-id') ?? undefined;
  const oauthProblem = oauthProblemOf(response);
  const { status } = response;
  if (isRecord(body) && isRecord(body.error)) {
    const e = body.error;
    if (typeof e.code === 'string') {
      return new KeywardError({
        code: e.code,
        status,
        message: typeof e.message === 'string' ? e.message : e.code,
        requestId: typeof e.requestId === 'string' ? e.requestId : headerId,
        oauthProblem,
      });
    }
  }
  if (isRecord(body) && typeof body.error === 'string') {
    // RFC 6749 §5.2: error is required, error_description optional human-readable text.
    const description = typeof body.error_description === 'string' ? body.error_description : undefined;
    return new KeywardError({
      code: body.error,
      status,
      message: description ?? body.error,
      requestId: headerId,
      oauthProblem,
    });
  }
  const reason = response.statusText === '' ? '' : ` ${response.statusText}`;
  return new KeywardError({
    code: 'unexpected_response',
    status,
    message: `HTTP ${status}${reason} without a Keyward or OAuth error body`,
    requestId: headerId,
    oauthProblem,
  });
}
