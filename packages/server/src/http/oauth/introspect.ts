/**
 * `POST /oauth/introspect`: token introspection (RFC 7662). The caller authenticates as a client;
 * it learns about tokens of its own account only, unless its key holds `keyward:admin` or
 * `keyward:verify` (a resource server). Every token it may not see, or that is not active now,
 * is exactly `{"active":false}` (RFC 7662 §2.2: nothing else may be said about it).
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { keyStateProblem } from '../../store/keys.js';
import { ADMIN_SCOPE, VERIFY_SCOPE } from '../context.js';
import { authenticateClient, clientIdOf, secretBearingGuard } from './client-auth.js';
import type { OAuthApp, OAuthContext } from './context.js';
import { CLIENT_ENDPOINT_ERRORS, guardStore, NO_STORE } from './errors.js';
import { FORM_TYPE, type OAuthParams } from './form.js';
import { findAccessToken } from './lookup.js';

/** RFC 7662 §2.1 request parameters. */
export const IntrospectionRequest = Type.Object({
  token: Type.String({ minLength: 1, description: 'The access token (opaque kw_at_ or JWT)' }),
  token_type_hint: Type.Optional(Type.String({ description: 'Ignored: every token type is searched' })),
  client_id: Type.Optional(Type.String()),
  client_secret: Type.Optional(Type.String()),
});

/** RFC 7662 §2.2 response. */
export const IntrospectionResponse = Type.Object({
  active: Type.Boolean(),
  scope: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String()),
  sub: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  token_type: Type.Optional(Type.String()),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.String()),
  jti: Type.Optional(Type.String()),
});

const INACTIVE = { active: false } as const;

/** Registers `POST /oauth/introspect`. */
export function introspectionRoute(app: OAuthApp, ctx: OAuthContext): void {
  const { kw } = ctx;
  app.post(
    '/oauth/introspect',
    {
      onRequest: secretBearingGuard(kw),
      schema: {
        tags: ['oauth'],
        summary: 'Introspect an access token (RFC 7662)',
        description:
          'Client authentication as at the token endpoint. Tokens of another account are reported inactive unless the calling key holds keyward:admin or keyward:verify.',
        consumes: [FORM_TYPE],
        body: IntrospectionRequest,
        response: {
          200: IntrospectionResponse,
          ...CLIENT_ENDPOINT_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const params = request.body as OAuthParams;
      const client = await authenticateClient(kw, request, params);
      reply.headers(NO_STORE);
      // RFC 7662 §2.1: token_type_hint only speeds up the search; every type is searched anyway.
      const found = await findAccessToken(kw, request, params.token as string);
      if (found === undefined) return INACTIVE;
      const { token } = found;
      const now = kw.clock.now();
      if (token.revokedAt !== null || token.expiresAt <= now) return INACTIVE;
      const privileged = client.key.scopes.includes(ADMIN_SCOPE) || client.key.scopes.includes(VERIFY_SCOPE);
      // RFC 7662 §4: a client must not learn about tokens it has no business with.
      if (token.accountId !== client.key.accountId && !privileged) return INACTIVE;
      // A token is active only while its key could still use it (the verifier checks the same).
      const credential = await guardStore(kw, request, () => kw.store.keys.credential(token.keyId));
      if (credential === undefined || keyStateProblem(credential, now) !== undefined) return INACTIVE;
      const { methods } = credential.key;
      if (methods !== null && !methods.includes('oauth2')) return INACTIVE;
      return {
        active: true,
        scope: token.scopes.join(' '),
        client_id: clientIdOf(token.keyId),
        sub: token.accountId,
        exp: Math.floor(token.expiresAt / 1000),
        iat: Math.floor(token.createdAt / 1000),
        token_type: 'Bearer',
        iss: kw.config.publicUrl,
        ...(typeof found.audience === 'string' ? { aud: found.audience } : {}),
        jti: token.id,
      };
    },
  );
}
