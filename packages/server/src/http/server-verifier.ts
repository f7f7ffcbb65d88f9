/**
 * The verifier as the server configures it, shared by the Keyward server and `keyward gateway`
 * so that both accept exactly the same credentials, under the same policy, against the same
 * nonce store: a request refused by one is refused by the other.
 *
 * @packageDocumentation
 */

import type { KeywardConfig } from '../config/index.js';
import type { Store } from '../store/index.js';
import type { Clock, Limiter, NonceStore } from '../verify/ports.js';
import type { Scheme } from '../verify/scheme.js';
import { createVerifier, type Verifier, type VerifierOptions } from '../verify/verifier.js';
import { jwtVerifierOptions } from './oauth/index.js';

/** What {@link createServerVerifier} takes besides the configuration. */
export interface ServerVerifierParts {
  readonly store: Store;
  readonly nonces: NonceStore;
  readonly limiter: Limiter;
  readonly clock: Clock;
  /** Schemes of the deployment's own, enabled beside the configured methods. */
  readonly schemes?: readonly Scheme[] | undefined;
  /** Told about store outages and faults (see {@link VerifierOptions.onError}). */
  readonly onError: NonNullable<VerifierOptions['onError']>;
}

/** Builds the verifier from the configuration, as `createServer` and `createGateway` use it. */
export function createServerVerifier(config: KeywardConfig, parts: ServerVerifierParts): Verifier {
  const { store, nonces, limiter, clock, schemes, onError } = parts;
  return createVerifier({
    store,
    nonces,
    limiter,
    clock,
    origin: config.publicUrl,
    trustProxy: config.trustProxy,
    schemes,
    methods: [...config.methods, ...(schemes ?? []).map((s) => s.method)],
    timestampWindowSeconds: config.timestampWindowSeconds,
    plaintext: config.plaintext,
    apiKeyHeader: config.apiKeyHeader,
    realm: config.realm,
    failuresPerIp: config.limits.failuresPerIp,
    failuresPerKey: config.limits.failuresPerKey,
    sessionIpPolicy: config.sessionIpPolicy,
    sessionIdleMs: config.sessionIdleSeconds * 1000,
    // The server's own JWT access tokens, when it issues them (tokenFormat 'jwt').
    jwt: jwtVerifierOptions(config, store),
    onError,
  });
}
