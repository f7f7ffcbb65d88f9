/**
 * The admin API under `/v1/admin/`: accounts, any account's keys, sessions, access tokens,
 * the audit log and usage per key. Callers: an admin account's session, or a key (or its
 * token) with scope `keyward:admin` whose account is an active admin; anyone else gets 403
 * `forbidden`, and no credentials 401. Bodies are `application/json` only, parsed strictly
 * (duplicate keys and `__proto__` refused).
 *
 * @packageDocumentation
 */

import type { RouteModule } from '../context.js';
import { useStrictJson } from '../json.js';
import { RESOURCE_BODY_LIMIT } from '../resources.js';
import { adminAccountRoutes } from './accounts.js';
import { adminAuditRoutes } from './audit.js';
import { adminKeyRoutes } from './keys.js';
import { adminSessionRoutes } from './sessions.js';
import { adminTokenRoutes } from './tokens.js';
import { adminUsageRoutes } from './usage.js';

/** The admin API. */
export const adminRoutes: RouteModule = async (app) => {
  useStrictJson(app);
  // The self-service API's body cap: a key body refused there for its size is refused here too.
  const bodyLimit = Math.min(RESOURCE_BODY_LIMIT, app.kw.config.bodyLimitBytes);
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= bodyLimit;
  });
  await app.register(adminAccountRoutes);
  await app.register(adminKeyRoutes);
  await app.register(adminSessionRoutes);
  await app.register(adminTokenRoutes);
  await app.register(adminAuditRoutes);
  await app.register(adminUsageRoutes);
};
