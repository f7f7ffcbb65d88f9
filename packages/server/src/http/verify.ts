/**
 * POST /v1/verify.
 *
 * @packageDocumentation
 */

import type { RouteModule } from './context.js';

/** POST /v1/verify. */
export const verifyRoutes: RouteModule = async (_app) => {};
