/**
 * Liveness and readiness: `GET /healthz` answers while the process serves; `GET /readyz` only
 * when the store answers a query too (load balancers stop sending traffic otherwise).
 *
 * @packageDocumentation
 */

import { sql } from 'kysely';
import type { RouteModule } from './context.js';
import { sendError } from './errors.js';

/** `GET /healthz`, `GET /readyz`. */
export const healthRoutes: RouteModule = async (app) => {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { tags: ['operations'], summary: 'Readiness: the store answers' } },
    async (request, reply) => {
      try {
        await sql`select 1`.execute(app.kw.store.context.db);
        return { status: 'ok' };
      } catch (error) {
        app.kw.metrics.storeErrors.inc({ source: 'readyz' });
        request.log.error({ err: error }, 'store not reachable');
        return sendError(request, reply, 'store_unavailable');
      }
    },
  );
};
