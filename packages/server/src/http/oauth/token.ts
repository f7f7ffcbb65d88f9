/**
 * `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4). The client is an API key;
 * the answer is a short-lived bearer token (RFC 6750) with the key's scopes or fewer, and no
 * refresh token (RFC 6749 §4.4.3: "A refresh token SHOULD NOT be included").
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { authenticateClient, secretBearingGuard } from './client-auth.js';
import type { OAuthApp, OAuthContext } from './context.js';
import { CLIENT_ENDPOINT_ERRORS, NO_STORE, OAuthError } from './errors.js';
import { FORM_TYPE, type OAuthParams } from './form.js';
import { issueAccessToken } from './issue.js';
import { grantedScopes } from './scope.js';

/** RFC 6749 §4.4.2 request parameters (client credentials may also travel in Basic). */
export const TokenRequest = Type.Object({
  grant_type: Type.String({ minLength: 1, description: 'Must be client_credentials' }),
  scope: Type.Optional(Type.String({ description: 'Space-separated scopes, a subset of the key scopes' })),
  client_id: Type.Optional(Type.String({ description: 'kw_kid_ key id (client_secret_post)' })),
  client_secret: Type.Optional(Type.String({ description: 'kw_sk_ key secret (client_secret_post)' })),
});

/** RFC 6749 §5.1 successful response. */
export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ minimum: 1, maximum: 3600 }),
  scope: Type.String({ description: 'The scopes granted, space-separated' }),
});

/** Registers `POST /oauth/token`. */
export function tokenRoute(app: OAuthApp, ctx: OAuthContext): void {
  const { kw } = ctx;
  app.post(
    '/oauth/token',
    {
      onRequest: secretBearingGuard(kw),
      schema: {
        tags: ['oauth'],
        summary: 'Get an access token with client credentials (RFC 6749 §4.4)',
        description:
          'Authenticate with the API key as client_secret_basic (HTTP Basic, kw_kid_ id and kw_sk_ secret) or client_secret_post. The token lives at most one hour; no refresh token is issued.',
        consumes: [FORM_TYPE],
        body: TokenRequest,
        response: {
          200: TokenResponse,
          ...CLIENT_ENDPOINT_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const params = request.body as OAuthParams;
      // RFC 6749 §5.2: a grant type this server does not support, before any credential lookup.
      if (params.grant_type !== 'client_credentials') {
        throw new OAuthError('unsupported_grant_type', 'only grant_type=client_credentials is supported');
      }
      const client = await authenticateClient(kw, request, params);
      const scopes = grantedScopes(params.scope, client.key.scopes);
      const issued = await issueAccessToken(kw, request, client, scopes);
      // RFC 6749 §5.1: the response carries a token, so no cache may keep it.
      return reply.headers(NO_STORE).send({
        access_token: issued.accessToken,
        token_type: 'Bearer' as const,
        expires_in: issued.expiresIn,
        scope: scopes.join(' '),
      });
    },
  );
}
