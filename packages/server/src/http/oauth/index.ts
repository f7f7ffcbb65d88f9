/**
 * OAuth 2.0 endpoints (client credentials, introspection, revocation, metadata, JWKS).
 *
 * @packageDocumentation
 */

import type { RouteModule } from '../context.js';

/** OAuth 2.0 endpoints (client credentials, introspection, revocation, metadata, JWKS). */
export const oauthRoutes: RouteModule = async (_app) => {};
