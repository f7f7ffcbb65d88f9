/**
 * Accounts, sessions and self-service keys.
 *
 * @packageDocumentation
 */

import type { RouteModule } from '../context.js';

/** Accounts, sessions and self-service keys. */
export const accountRoutes: RouteModule = async (_app) => {};
