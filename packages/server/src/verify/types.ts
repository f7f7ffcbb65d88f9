/**
 * The verifier's contract: a framework-free request in, an {@link Outcome} out.
 *
 * @packageDocumentation
 */

import { BUILTIN_METHODS, type BuiltinMethod } from '@keyward/core';
import type { ErrorCode } from '../errors/codes.js';

/**
 * An authentication method: one of Keyward's own ({@link BuiltinMethod}, from core's method
 * table) or the name of a scheme registered from outside.
 */
export type AuthMethod = BuiltinMethod | (string & {});

/** Every built-in {@link AuthMethod}, in the order of core's method table. */
export const AUTH_METHODS: readonly BuiltinMethod[] = BUILTIN_METHODS;

/** A request as an adapter hands it to the verifier. */
export interface VerifyRequest {
  readonly method: string;
  /** The request-target as received: `/path?query`. */
  readonly url: string;
  /** Header names in lower case, as Node gives them. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The raw body, when the adapter has it (needed for OAuth 1.0a form bodies and body hashes). */
  readonly body?: string | Uint8Array | undefined;
  /** The peer address of the TCP connection. */
  readonly remoteAddress: string;
  /** Whether the connection itself is TLS. */
  readonly secure: boolean;
}

/** Who is calling and what they may do. */
export interface Principal {
  readonly accountId: string;
  /** `kw_kid_…`, for key-based methods. */
  readonly keyId?: string | undefined;
  readonly sessionId?: string | undefined;
  readonly scopes: readonly string[];
  readonly method: AuthMethod;
}

/** A refusal, ready for an adapter to render with {@link renderRefusal}. */
export interface Refusal {
  readonly ok: false;
  /** The status of `code` in the server's error catalogue. */
  readonly status: number;
  readonly code: ErrorCode;
  /** Human-readable and secret-free. */
  readonly message: string;
  /** `WWW-Authenticate` values (RFC 7235 §4.1), one per scheme. */
  readonly challenge?: readonly string[] | undefined;
  /** Seconds, for 429 (RFC 6585 §4) and `Retry-After`. */
  readonly retryAfter?: number | undefined;
  /** Further response headers (for example `Date` on a timestamp refusal). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** The verifier's answer. */
export type Outcome = { readonly ok: true; readonly principal: Principal } | Refusal;

/** Per-route options of a verification. */
export interface RouteOptions {
  /** Scopes the principal must all have; else 403 `insufficient_scope`. */
  readonly scopes?: readonly string[] | undefined;
  /** Require `oauth_body_hash` on OAuth 1.0a requests with a non-form body. */
  readonly requireBodyHash?: boolean | undefined;
  /**
   * The methods this route accepts, a subset of the verifier's enabled ones (default: all of
   * them); a credential of another method is `scheme_unsupported`.
   */
  readonly methods?: readonly AuthMethod[] | undefined;
}
