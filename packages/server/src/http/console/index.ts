/**
 * The web console, served by the server itself: its files at `/console/` and its sign-in at
 * `/v1/console/session`. Registered by the app when `console` is on (the default); the
 * console's cookie session (`verify/schemes/console-cookie.ts`) is enabled with it.
 *
 * @packageDocumentation
 */

import type { RouteModule } from '../context.js';
import { consoleSessionRoutes } from './session.js';
import { consoleStaticRoutes } from './static.js';

/** The console's files and sign-in routes. */
export const consoleRoutes: RouteModule = async (app) => {
  await app.register(consoleStaticRoutes);
  await app.register(consoleSessionRoutes);
};
