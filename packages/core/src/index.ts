/**
 * `@keyward/core`: Keyward's protocol code. Pure functions, no I/O, no runtime dependencies:
 * time and randomness come in as arguments.
 *
 * Only the public API leaves through this entry. A module whose every export is public is
 * re-exported whole; the three that also hold helpers for other core modules are listed name
 * by name, so those helpers stay private: `NameSet` (scan.ts, re-exported by encoding.ts),
 * `EncodedParameters` (base-string.ts, the parser's hot-path accumulator) and `hmacSignature`
 * (signature.ts). test/entry.test.ts checks that nothing marked `@internal` is exported here.
 *
 * @packageDocumentation
 */

export * from './authorization.js';
export {
  DEFAULT_MAX_PARAMS,
  type FormLimits,
  formDecode,
  type Param,
  parseForm,
  percentDecode,
  percentEncode,
} from './encoding.js';
export * from './errors.js';
export * from './methods.js';
export { baseStringUri, normalizeOrigin, normalizeParameters, signatureBaseString } from './oauth1/base-string.js';
export * from './oauth1/body-hash.js';
export * from './oauth1/hmac.js';
export * from './oauth1/request.js';
export * from './oauth1/sign.js';
export {
  computeSignature,
  createSigningKey,
  DEFAULT_SIGNATURE_METHODS,
  isSignatureMethod,
  SIGNATURE_METHODS,
  type SignatureMethod,
  signingKey,
} from './oauth1/signature.js';
export * from './oauth1/verify.js';
export * from './secrets.js';
export * from './tokens.js';
