/**
 * `GET|POST /v1/whoami`: the demo protected route. Any enabled method gets through; it answers
 * with the principal, and `POST` also echoes the body it received, so that callers can see
 * that a signed form or JSON body arrived as they signed it.
 *
 * @packageDocumentation
 */

import { principalOf, type RouteModule } from './context.js';

/** `GET /v1/whoami`, `POST /v1/whoami`. */
export const whoamiRoutes: RouteModule = async (app) => {
  const protect = app.keyward.protect();
  const tags = ['demo'];
  app.get(
    '/v1/whoami',
    { preValidation: protect, schema: { tags, summary: 'The caller, for any method' } },
    async (request) => ({
      principal: principalOf(request),
    }),
  );
  app.post(
    '/v1/whoami',
    { preValidation: protect, schema: { tags, summary: 'The caller, and the body it sent' } },
    async (request) => ({ principal: principalOf(request), body: request.body ?? null }),
  );
};
