/**
 * OAuth 2.0 endpoints: client credentials (RFC 6749 §4.4) at `POST /oauth/token`, introspection
 * (RFC 7662) at `POST /oauth/introspect`, revocation (RFC 7009) at `POST /oauth/revoke`, metadata
 * (RFC 8414) at `GET /.well-known/oauth-authorization-server`, and in JWT mode the signing keys
 * (RFC 7517) at `GET /.well-known/jwks.json`.
 *
 * The plugin is encapsulated: its form-only body parser and its RFC 6749 §5.2 error shape apply
 * to these routes and no others.
 *
 * @packageDocumentation
 */

import type { RouteModule } from '../context.js';
import type { OAuthContext } from './context.js';
import { oauthErrorHandler } from './errors.js';
import { acceptFormOnly } from './form.js';
import { introspectionRoute } from './introspect.js';
import { jwksRoute } from './jwks.js';
import { metadataRoute } from './metadata.js';
import { revocationRoute } from './revoke.js';
import { tokenRoute } from './token.js';

export { jwtVerifierOptions } from './jwt.js';

/** OAuth 2.0 endpoints (client credentials, introspection, revocation, metadata, JWKS). */
export const oauthRoutes: RouteModule = async (app) => {
  const ctx: OAuthContext = { kw: app.kw };
  acceptFormOnly(app);
  app.setErrorHandler(oauthErrorHandler());
  tokenRoute(app, ctx);
  introspectionRoute(app, ctx);
  revocationRoute(app, ctx);
  metadataRoute(app, ctx);
  if (app.kw.config.tokenFormat === 'jwt') jwksRoute(app, ctx);
};
