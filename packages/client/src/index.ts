/**
 * `@keyward/client`: calls a Keyward-protected API with any method Keyward verifies — HTTP
 * Basic, API keys, OAuth 1.0a (2-legged, HMAC-SHA256/SHA1, body hash), OAuth 2.0 client
 * credentials, sessions and signed sessions — through one `fetch`-compatible function; corrects
 * its clock when a server refuses a timestamp, and refreshes access tokens on its own.
 *
 * Node 20 and later. **Not for secrets in a browser**: a browser cannot keep a key secret, so
 * `basic`, `oauth1` and `client-credentials` belong in backends only; in a browser use a session
 * from {@link login} (over TLS), a token your backend obtained, or an API key you are willing to
 * publish (narrow scopes, TLS, ready to rotate).
 *
 * @packageDocumentation
 */

export type {
  ApiKeyAuth,
  Auth,
  BasicAuth,
  ClientCredentialsAuth,
  OAuth1Auth,
  SessionAuth,
  SignedSessionAuth,
} from './auth.js';
export { type ClientOptions, createClient, type KeywardClient, type Query, type RequestOptions } from './client.js';
export { serverTimeFromRefusal } from './clock.js';
export { type CurlRequest, shellQuote, toCurl } from './curl.js';
export {
  type ClientErrorCode,
  errorFromResponse,
  KeywardError,
  type KeywardErrorCode,
  type KeywardErrorInit,
  type OAuth2ErrorCode,
  type ProductErrorCode,
} from './errors.js';
export {
  generateNonce,
  NONCE_LENGTH,
  type OAuth1Credentials,
  type OAuth1RequestToSign,
  type SignedOAuth1Request,
  signRequest,
} from './oauth1.js';
export { type LoginOptions, login, type SessionClient, type SessionInfo } from './session.js';
export { clientSecretBasic, formUrlEncode } from './token.js';
