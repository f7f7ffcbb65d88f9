/**
 * Liveness and readiness: `GET /healthz` answers while the process serves; `GET /readyz` only
 * when every dependency answers too (load balancers stop sending traffic otherwise): the store,
 * and with shared state, Redis and the invalidation channel. A 503 names what is down.
 *
 * @packageDocumentation
 */

import { sql } from 'kysely';
import { Type } from 'typebox';
import type { RouteModule } from './context.js';
import { sendError } from './errors.js';
import { errorResponses } from './schemas.js';

const Status = Type.Union([Type.Literal('ok'), Type.Literal('down')]);

/** `GET /healthz`, `GET /readyz`. */
export const healthRoutes: RouteModule = async (app) => {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the store, Redis and the invalidation channel answer',
        description:
          'Every dependency of this instance, checked now: `store` (SQLite or PostgreSQL), and with shared state ' +
          '`redis` and `invalidations` (the channel that carries revocations to every instance). A 503 ' +
          '`store_unavailable` names the ones that are down.',
        response: {
          200: Type.Object(
            {
              status: Type.Literal('ok'),
              dependencies: Type.Object(
                { store: Status, redis: Type.Optional(Status), invalidations: Type.Optional(Status) },
                { additionalProperties: false },
              ),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(503),
        },
      },
    },
    async (request, reply) => {
      const { store, state, metrics } = app.kw;
      const [storeUp, shared] = await Promise.all([
        sql`select 1`.execute(store.context.db).then(
          () => true,
          (error: unknown) => {
            request.log.error({ err: error }, 'store not reachable');
            return false;
          },
        ),
        state.check(),
      ]);
      const answers: Record<string, boolean> = { store: storeUp, ...shared };
      const down = Object.keys(answers).filter((name) => answers[name] !== true);
      if (down.length > 0) {
        for (const source of down)
          metrics.storeErrors.inc({ source: source === 'store' ? 'readyz' : `readyz_${source}` });
        return sendError(request, reply, 'store_unavailable', `Not ready: ${down.join(', ')} not answering.`);
      }
      const dependencies = Object.fromEntries(Object.keys(answers).map((name) => [name, 'ok'])) as {
        store: 'ok';
      };
      return { status: 'ok' as const, dependencies };
    },
  );
};
