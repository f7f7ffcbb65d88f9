/**
 * `GET /.well-known/oauth-authorization-server`: authorization server metadata (RFC 8414), so
 * that OAuth clients configure themselves from the issuer URL alone.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import type { OAuthApp, OAuthContext } from './context.js';
import { publicEndpoint } from './context.js';

/** The client authentication methods every OAuth endpoint accepts (RFC 7591 §2 names). */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

/** RFC 8414 §2 metadata, as far as this server has it. */
export const AuthorizationServerMetadata = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  introspection_endpoint: Type.String(),
  revocation_endpoint: Type.String(),
  jwks_uri: Type.Optional(Type.String()),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
});

/** The metadata document of this server. */
export function authorizationServerMetadata(ctx: OAuthContext) {
  const jwt = ctx.kw.config.tokenFormat === 'jwt';
  return {
    // RFC 8414 §2: the issuer identifier, the same string as the `iss` of the JWTs issued here.
    issuer: ctx.kw.config.publicUrl,
    token_endpoint: publicEndpoint(ctx, '/oauth/token'),
    introspection_endpoint: publicEndpoint(ctx, '/oauth/introspect'),
    revocation_endpoint: publicEndpoint(ctx, '/oauth/revoke'),
    ...(jwt ? { jwks_uri: publicEndpoint(ctx, '/.well-known/jwks.json') } : {}),
    grant_types_supported: ['client_credentials'],
    // REQUIRED by RFC 8414 §2, and empty: there is no authorization endpoint here.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
  };
}

/** Registers `GET /.well-known/oauth-authorization-server`. */
export function metadataRoute(app: OAuthApp, ctx: OAuthContext): void {
  const document = authorizationServerMetadata(ctx);
  app.get(
    '/.well-known/oauth-authorization-server',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Authorization server metadata (RFC 8414)',
        response: { 200: AuthorizationServerMetadata },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(document),
  );
}
