/**
 * The scheme interface: one authentication method as one module. The verifier runs the enabled
 * schemes in order: the first that claims a request verifies it. Adapters ask the schemes
 * whether to read a request's body. Keyward's own methods are schemes (`verify/schemes/`), and
 * an application can register its own through {@link VerifierOptions.schemes}.
 *
 * @packageDocumentation
 */

import type { OAuth1Request } from '@keyward/core';
import type { VerifierContext } from './context.js';
import type { Transport } from './transport.js';
import type { AuthMethod, Outcome, Refusal, RouteOptions, VerifyRequest } from './types.js';

/** The parts of a request known before its body is read: what {@link Scheme.needsBody} sees. */
export interface RequestHead {
  readonly method: string;
  readonly url: string;
  readonly headers: VerifyRequest['headers'];
  /**
   * Whether the request has a body, when the adapter knows (a web `Request`); otherwise it is
   * told by `Content-Length` / `Transfer-Encoding` (RFC 9112 §6.3).
   */
  readonly hasBody?: boolean | undefined;
}

/** A request as the schemes see it: parsed once, shared by every scheme that looks at it. */
export interface Presented {
  readonly request: VerifyRequest;
  readonly transport: Transport;
  /** The `Authorization` header split into its scheme (lower case) and credentials, if any. */
  readonly authorization?: { readonly scheme: string; readonly credentials: string } | undefined;
  /** The route's options (scopes, body hash). */
  readonly route: RouteOptions;
  /**
   * The request parsed as OAuth 1.0a, set by the first OAuth scheme that looks (both OAuth
   * schemes read it; a request is parsed once): null when it carries no OAuth parameters.
   */
  oauth1?: OAuth1Request | Refusal | null;
}

/** What a scheme's `claim` answers when the request is for it. */
export type Claim<C> = { readonly claimed: C } | Refusal;

/**
 * One authentication method.
 *
 * `C` is what the scheme takes from a request in {@link Scheme.claim} and verifies in
 * {@link Scheme.verify}.
 */
export interface Scheme<C = unknown> {
  /** The method name: the principal's `method`, a key's allowed methods, the `methods` option. */
  readonly method: AuthMethod;
  /** The `Authorization` scheme its credentials travel in (RFC 7235 §2.1), lower case. */
  readonly httpScheme: string;
  /**
   * Whether the credential itself (a secret, a bearer token) is on the wire: such schemes are
   * refused over plain HTTP except from loopback or a trusted proxy that says `https`.
   */
  readonly sendsSecret: boolean;
  /**
   * Whether verifying this request needs its raw body (adapters read and keep it only then).
   * Called for every request, before the body is read; most schemes answer false.
   */
  needsBody(head: RequestHead): boolean;
  /**
   * Whether the request is for this scheme: undefined when it is not; a refusal when it is but
   * is malformed; else `{ claimed }`, which {@link Scheme.verify} gets.
   */
  claim(presented: Presented, ctx: VerifierContext): Claim<C> | undefined;
  /** Verifies a claimed request. Expected failures are refusals made with `ctx.refuse`. */
  verify(claimed: C, presented: Presented, ctx: VerifierContext): Promise<Outcome> | Outcome;
  /**
   * The `WWW-Authenticate` challenge of this scheme (RFC 7235 §4.1), with the detail when
   * presented; empty for a scheme that is not an HTTP authentication scheme (a cookie).
   */
  challenge(realm: string, detail?: import('./refusals.js').ChallengeDetail): string;
}

/** Identity for typing a scheme literal: `defineScheme({ method: 'hawk', … })`. */
export function defineScheme<C>(scheme: Scheme<C>): Scheme<C> {
  return scheme;
}
