/**
 * `@keyward/client`: calls a Keyward-protected API with any supported method. Until the SDK
 * lands it re-exports the signing primitives of `@keyward/core`, which already sign requests
 * any OAuth 1.0a server verifies.
 *
 * @packageDocumentation
 */

export { type OAuth1Signature, type OAuth1SignInput, signOAuth1 } from '@keyward/core';
