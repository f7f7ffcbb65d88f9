/**
 * A Passport strategy: an app written with `passport.authenticate('oauth', { session: false })`
 * (the passport-http-2legged-oauth way) switches to Keyward by changing its `passport.use(...)`
 * line, and gains what that stack leaves to the app: nonce checking, the time window, failure
 * limits, key state and scopes, plus Basic and API key tokens on the same routes.
 *
 * Passport semantics are kept: a refusal is a `fail(challenge, status)`, never a response written
 * by the strategy, so strategies chained after this one still run, and `failureRedirect`,
 * `failWithError` and custom callbacks behave as with any other strategy. What Passport's default
 * failure response drops (the error code, `Retry-After`, `Date`) stays on
 * `req.keywardRefusal`; {@link passportRefusalHandler} renders it in full.
 *
 * The strategy has Passport's strategy shape (`name`, `authenticate(req, options)`) rather than
 * extending `passport-strategy`'s class, so `@keyward/server` does not depend on Passport:
 * Passport only calls `authenticate` on a copy it gives `success`, `fail` and `error`.
 *
 * @packageDocumentation
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal, Refusal, RouteOptions } from '../verify/types.js';
import type { Verifier } from '../verify/verifier.js';
import { fromNodeRequest, rawBodyOf, renderRefusal } from './http.js';

declare module 'node:http' {
  interface IncomingMessage {
    /** The refusal of the last failed {@link KeywardStrategy} authentication of this request. */
    keywardRefusal?: Refusal;
  }
}

/** What {@link KeywardStrategy} is built from. */
export interface KeywardStrategyOptions extends RouteOptions {
  readonly verifier: Verifier;
  /**
   * The name for `passport.authenticate(name)`. Default `'oauth'`, the name
   * passport-http-2legged-oauth registers, so existing routes work unchanged.
   */
  readonly name?: string | undefined;
}

/**
 * Per-route options, read from the options given to `passport.authenticate(name, options)`.
 * `scopes` add to the strategy's own; `requireBodyHash` overrides the strategy's.
 *
 * In TypeScript, Passport's `AuthenticateOptions` has no `scopes`; pass the options through a
 * variable, or augment it: `declare module 'passport' { interface AuthenticateOptions { scopes?:
 * readonly string[] } }`.
 */
export interface KeywardAuthenticateOptions {
  readonly scopes?: readonly string[] | undefined;
  readonly requireBodyHash?: boolean | undefined;
}

/**
 * The challenge of a refusal that is not a 401 (400, 403, 429, 503): Passport writes no
 * `WWW-Authenticate` for those, and hands this object to `failureMessage`, `failureFlash` and
 * custom callbacks, like passport-local's `{ message }`.
 */
export interface KeywardFailure {
  readonly message: string;
  /** The Keyward error code, such as `insufficient_scope` or `rate_limited`. */
  readonly code: string;
}

/** The actions Passport gives a strategy for one request (`passport/lib/middleware/authenticate.js`). */
export interface PassportActions {
  success(user: Principal, info?: object): void;
  fail(challenge?: string | KeywardFailure | number, status?: number): void;
  error(err: unknown): void;
}

/** A Node request as Express leaves it, with `body`/`rawBody` from parsers. */
type PassportRequest = IncomingMessage & { rawBody?: unknown; body?: unknown };

/**
 * Passport strategy verifying every method the verifier accepts (OAuth 1.0a signed requests,
 * Basic with key id and secret, API key tokens). On success `req.user` is the Keyward
 * {@link Principal} (and `req.keyward` too, for `requireScopes`).
 *
 * On a refusal it calls Passport's `fail`, keeping the status: a 401 fails with the verifier's
 * challenges as one `WWW-Authenticate` value (`OAuth realm="keyward", oauth_problem="nonce_used"`
 * for a replay), any other status with a {@link KeywardFailure}. Either way the full refusal is
 * left on `req.keywardRefusal`.
 *
 * For OAuth 1.0a requests with a form body or a body hash, run the body parser first with
 * `verify: captureRawBody` so the raw bytes are available; GET requests need nothing.
 *
 * @example
 * ```ts
 * // was: passport.use(new TwoLeggedStrategy(checkAppKey, checkTimestampAndNonce));
 * passport.use(new KeywardStrategy({ verifier }));
 * app.get('/private', passport.authenticate('oauth', { session: false }), (req, res) => {
 *   res.send({ secret: true }); // req.user: { accountId, keyId, scopes, method }
 * });
 * ```
 */
export class KeywardStrategy {
  readonly name: string;
  // Plain properties, not `#private`: Passport calls `authenticate` on `Object.create(strategy)`,
  // and private fields are not reachable through the prototype.
  private readonly verifier: Verifier;
  private readonly route: RouteOptions;

  /** Throws `TypeError` without a verifier. */
  constructor(options: KeywardStrategyOptions) {
    if (typeof options?.verifier?.verify !== 'function') throw new TypeError('KeywardStrategy requires a verifier');
    this.name = options.name ?? 'oauth';
    this.verifier = options.verifier;
    this.route = { scopes: options.scopes, requireBodyHash: options.requireBodyHash };
  }

  /** Called by Passport for each request; ends in exactly one of `success`, `fail` or `error`. */
  authenticate(this: PassportActions, req: PassportRequest, options?: KeywardAuthenticateOptions): void {
    // Passport calls this on the strategy (or on `Object.create(strategy)`) after adding the
    // actions, so `this` is both; declaring only the actions keeps the class assignable to
    // Passport's `Strategy` type, whose `this` knows nothing of our fields.
    const self = this as PassportActions & KeywardStrategy;
    const scopes = options?.scopes;
    if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string'))) {
      self.error(new TypeError('scopes must be an array of strings'));
      return;
    }
    const route: RouteOptions = {
      scopes: scopes === undefined ? self.route.scopes : [...(self.route.scopes ?? []), ...scopes],
      requireBodyHash: options?.requireBodyHash ?? self.route.requireBodyHash,
    };
    // `fromNodeRequest` takes Express's `originalUrl`, so routers mounted under a path verify too.
    self.verifier
      .verify(fromNodeRequest(req, rawBodyOf(req)), route)
      .then((outcome) => {
        if (outcome.ok) {
          req.keyward = outcome.principal;
          self.success(outcome.principal);
          return;
        }
        req.keywardRefusal = outcome;
        if (outcome.status === 401 && outcome.challenge !== undefined && outcome.challenge.length > 0) {
          // Passport takes one challenge per strategy; RFC 7235 §4.1 allows a comma-separated list.
          self.fail(outcome.challenge.join(', '), outcome.status);
        } else {
          self.fail({ message: outcome.message, code: outcome.code }, outcome.status);
        }
      })
      // Also what Passport itself throws from `success` (a session login without
      // `passport.initialize()`, say): to the error handler, rather than a request left hanging.
      .catch((error: unknown) => self.error(error));
  }
}

/** The error Passport passes to `next` with `failWithError: true`. */
function isAuthenticationError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AuthenticationError';
}

/**
 * An Express error handler for `passport.authenticate(name, { session: false, failWithError: true })`:
 * answers with the Keyward refusal in full (the one JSON error shape with its code, every
 * challenge, `Retry-After`, `Date`) instead of Passport's bare status text. Other errors, and
 * authentication errors without a Keyward refusal, go to the next handler.
 */
export function passportRefusalHandler(): (
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void {
  // Four parameters: Express recognises error handlers by their arity.
  return (error, req, res, next) => {
    const refusal = req.keywardRefusal;
    if (refusal === undefined || !isAuthenticationError(error) || res.headersSent) {
      next(error);
      return;
    }
    const rendered = renderRefusal(refusal);
    res.statusCode = rendered.status;
    for (const [name, value] of Object.entries(rendered.headers)) res.setHeader(name, value);
    res.end(JSON.stringify(rendered.body));
  };
}
