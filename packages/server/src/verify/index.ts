/**
 * The verifier: one `verify(request) -> Outcome` across every method, each method a scheme on
 * ports. What `@keyward/server/verify` exports.
 *
 * @packageDocumentation
 */

export type { VerifierContext, VerifierSettings } from './context.js';
export { ACCESS_TOKEN_TYP, type JwtOptions, SIGNING_ALGORITHM } from './jwt.js';
export { type KeyStateError, keyStateProblem } from './key-state.js';
export {
  type Clock,
  type CredentialPorts,
  type CredentialSource,
  DEFAULT_SESSION_IDLE_MS,
  type Invalidation,
  type InvalidationBus,
  type Limit,
  type Limiter,
  type LimitState,
  type NonceStore,
  StoreUnavailableError,
  systemClock,
  UNMATCHABLE,
} from './ports.js';
export {
  basicChallenge,
  bearerChallenge,
  type ChallengeDetail,
  type ErrorBody,
  OAUTH_PROBLEMS,
  oauthChallenge,
  type RefusalExtras,
  type RenderedRefusal,
  renderRefusal,
} from './refusals.js';
export { type Claim, defineScheme, type Presented, type RequestHead, type Scheme } from './scheme.js';
export { BUILTIN_SCHEMES } from './schemes/index.js';
export type { SessionIpPolicy } from './schemes/session.js';
export { type Transport, TrustedProxies, transportOf } from './transport.js';
export type { AuthMethod, Outcome, Principal, Refusal, RouteOptions, VerifyRequest } from './types.js';
export { AUTH_METHODS } from './types.js';
export { createVerifier, DEFAULT_REALM, type Verifier, type VerifierOptions } from './verifier.js';
