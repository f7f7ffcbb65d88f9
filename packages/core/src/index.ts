/**
 * `@keyward/core`: Keyward's protocol code. Pure functions, no I/O, no runtime dependencies:
 * time and randomness come in as arguments.
 *
 * @packageDocumentation
 */

export * from './authorization.js';
export * from './encoding.js';
export * from './errors.js';
export * from './oauth1/base-string.js';
export * from './oauth1/hmac.js';
export * from './oauth1/request.js';
export * from './oauth1/sign.js';
export * from './oauth1/signature.js';
export * from './oauth1/verify.js';
export * from './secrets.js';
export * from './tokens.js';
