/**
 * One authorizer per method: how a prepared request gets its credentials, and whether a 401 is
 * worth one more try (a corrected clock for OAuth 1.0a, a new token for client credentials).
 *
 * @packageDocumentation
 */

import type { RandomBytes } from '@keyward/core';
import type { Auth } from './auth.js';
import { SkewedClock, serverTimeFromRefusal } from './clock.js';
import { keywardErrorCode, readErrorJson } from './errors.js';
import { type OAuth1Credentials, signRequest } from './oauth1.js';
import type { PreparedRequest } from './request.js';
import { TokenSource } from './token.js';

/** Puts credentials on requests and decides about retries. */
export interface Authorizer {
  /**
   * Sets the credentials in `headers` for `request`. Resolves to what was used (the access token
   * of client credentials), which {@link Authorizer.retryAfter401} gets back.
   */
  authorize(request: PreparedRequest, headers: Headers): Promise<string | undefined>;
  /** After a 401 to a request authorized with `used`: whether to send it once more. */
  retryAfter401(response: Response, used: string | undefined): Promise<boolean>;
  /** The clock correction learned so far (OAuth 1.0a), in milliseconds. */
  readonly clockOffsetMs: number;
}

/** Where and how an authorizer runs. */
export interface AuthorizerContext {
  readonly baseUrl: URL;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly random?: RandomBytes | undefined;
}

/** A fixed Authorization header: Basic, an API key, a session token. Nothing to retry. */
function staticAuthorizer(value: string): Authorizer {
  return {
    async authorize(_request, headers) {
      headers.set('authorization', value);
      return undefined;
    },
    async retryAfter401() {
      return false;
    },
    clockOffsetMs: 0,
  };
}

/** OAuth 1.0a: a fresh nonce and the corrected timestamp on every attempt. */
function oauth1Authorizer(credentials: OAuth1Credentials, ctx: AuthorizerContext): Authorizer {
  const clock = new SkewedClock(ctx.now);
  return {
    async authorize(request, headers) {
      const signed = signRequest(
        credentials,
        {
          method: request.method,
          url: request.url,
          contentType: request.headers.get('content-type') ?? undefined,
          body: request.body,
          timestamp: clock.timestamp(),
        },
        ctx.random,
      );
      headers.set('authorization', signed.authorization);
      return undefined;
    },
    async retryAfter401(response) {
      const serverMs = await serverTimeFromRefusal(response);
      if (serverMs === undefined) return false;
      clock.learn(serverMs);
      return true;
    },
    get clockOffsetMs() {
      return clock.offsetMs;
    },
  };
}

/** Client credentials: a cached access token as Bearer, replaced once when the server calls it invalid. */
function clientCredentialsAuthorizer(
  auth: Extract<Auth, { type: 'client-credentials' }>,
  ctx: AuthorizerContext,
  tokenUrl: URL,
): Authorizer {
  const scope = typeof auth.scope === 'string' ? auth.scope : auth.scope?.join(' ');
  const tokens = new TokenSource({
    tokenUrl,
    clientId: auth.clientId,
    clientSecret: auth.clientSecret,
    scope,
    fetch: ctx.fetch,
    now: ctx.now,
  });
  return {
    async authorize(_request, headers) {
      const token = await tokens.get();
      headers.set('authorization', `Bearer ${token}`);
      return token;
    },
    async retryAfter401(response, used) {
      // RFC 6750 §3.1: invalid_token covers expired and revoked tokens. Keyward also says so in
      // its body code, which other gateways in between might keep when they rewrite headers.
      const challenge = response.headers.get('www-authenticate') ?? '';
      let invalid = /\bBearer\b[\s\S]*?\berror="invalid_token"/i.test(challenge);
      if (!invalid) {
        const code = keywardErrorCode(await readErrorJson(response.clone()));
        invalid = code === 'token_invalid' || code === 'token_expired';
      }
      if (!invalid || used === undefined) return false;
      tokens.invalidate(used);
      return true;
    },
    clockOffsetMs: 0,
  };
}

/** Default token endpoint of a Keyward server: `baseUrl + '/oauth/token'`. */
export function defaultTokenUrl(baseUrl: URL): URL {
  const prefix = baseUrl.pathname.endsWith('/') ? baseUrl.pathname.slice(0, -1) : baseUrl.pathname;
  return new URL(`${baseUrl.origin}${prefix}/oauth/token`);
}

/** The token endpoint a client-credentials client posts to. */
export function tokenUrlOf(auth: Extract<Auth, { type: 'client-credentials' }>, baseUrl: URL): URL {
  return auth.tokenUrl === undefined ? defaultTokenUrl(baseUrl) : new URL(auth.tokenUrl, baseUrl);
}

/** The authorizer for `auth`. */
export function authorizerFor(auth: Auth, ctx: AuthorizerContext): Authorizer {
  switch (auth.type) {
    case 'basic': {
      // RFC 7617 §2.1: UTF-8 is the charset Keyward announces (`charset="UTF-8"`).
      const pair = Buffer.from(`${auth.keyId}:${auth.secret}`, 'utf8').toString('base64');
      return staticAuthorizer(`Basic ${pair}`);
    }
    case 'api-key':
    case 'session':
      return staticAuthorizer(`Bearer ${auth.token}`);
    case 'oauth1':
      return oauth1Authorizer(
        {
          consumerKey: auth.consumerKey,
          consumerSecret: auth.consumerSecret,
          token: auth.token,
          tokenSecret: auth.tokenSecret,
          signatureMethod: auth.signatureMethod,
          bodyHash: auth.bodyHash ?? true,
          realm: auth.realm,
        },
        ctx,
      );
    case 'signed-session':
      // Keyward's signed sessions: consumer key = account id, consumer secret empty, the
      // session secret as token secret (RFC 5849 §3.4.2 signing key "&" + secret).
      return oauth1Authorizer(
        {
          consumerKey: auth.consumerKey,
          consumerSecret: '',
          token: auth.token,
          tokenSecret: auth.secret,
          bodyHash: true,
        },
        ctx,
      );
    case 'client-credentials':
      return clientCredentialsAuthorizer(auth, ctx, tokenUrlOf(auth, ctx.baseUrl));
  }
}
