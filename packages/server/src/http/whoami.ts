/**
 * `GET|POST /v1/whoami`: the demo protected route. Any enabled method gets through; it answers
 * with the principal, and `POST` also echoes the body it received, so that callers can see
 * that a signed form or JSON body arrived as they signed it.
 *
 * @packageDocumentation
 */

import type { FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { principalOf, type RouteModule } from './context.js';
import { errorResponses, PROTECTED_ERRORS, PrincipalSchema } from './schemas.js';

// Response schemas: documented in the OpenAPI document, and serialised by Fastify's compiled
// serialiser rather than JSON.stringify (the route every benchmark row of the server measures).
const Whoami = Type.Object({ principal: PrincipalSchema }, { additionalProperties: false });
const WhoamiEcho = Type.Object(
  {
    principal: PrincipalSchema,
    body: Type.Unknown({ description: 'The body as parsed: a JSON value, a form as its raw text, or null.' }),
  },
  { additionalProperties: false },
);

// The principal as the schema types it (its scopes are readonly in the verifier's type only).
const principal = (request: FastifyRequest) => principalOf(request) as Static<typeof PrincipalSchema>;

/** `GET /v1/whoami`, `POST /v1/whoami`. */
export const whoamiRoutes: RouteModule = async (app) => {
  const protect = app.keyward.protect();
  const tags = ['demo'];
  app.get(
    '/v1/whoami',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'The caller, for any method',
        response: { 200: Whoami, ...errorResponses(...PROTECTED_ERRORS) },
      },
    },
    async (request) => ({ principal: principal(request) }),
  );
  app.post(
    '/v1/whoami',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: 'The caller, and the body it sent',
        response: { 200: WhoamiEcho, ...errorResponses(...PROTECTED_ERRORS) },
      },
    },
    async (request) => ({ principal: principal(request), body: request.body ?? null }),
  );
};
