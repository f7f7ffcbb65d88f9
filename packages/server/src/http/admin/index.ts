/**
 * The admin API.
 *
 * @packageDocumentation
 */

import type { RouteModule } from '../context.js';

/** The admin API. */
export const adminRoutes: RouteModule = async (_app) => {};
