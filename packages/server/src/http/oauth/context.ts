/**
 * What the OAuth routes share: the server's parts.
 *
 * @packageDocumentation
 */

import type { RouteModule, ServerContext } from '../context.js';

/** The (TypeBox-typed, encapsulated) instance the OAuth routes are registered on. */
export type OAuthApp = Parameters<RouteModule>[0];

/** Shared by the OAuth routes. */
export interface OAuthContext {
  readonly kw: ServerContext;
}

/** Absolute URL of a path on the server's public origin (RFC 8414 §2 wants absolute endpoint URLs). */
export function publicEndpoint(ctx: OAuthContext, path: string): string {
  return new URL(path, ctx.kw.config.publicUrl).href;
}
