/**
 * The verifier: one `verify(request) -> Outcome` across every method.
 *
 * @packageDocumentation
 */

export { type Transport, TrustedProxies, transportOf } from './transport.js';
export type { AuthMethod, Outcome, Principal, Refusal, RouteOptions, VerifyRequest } from './types.js';
export { AUTH_METHODS } from './types.js';
export { createVerifier, type Verifier, type VerifierOptions } from './verifier.js';
