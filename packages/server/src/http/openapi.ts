/**
 * The OpenAPI document and docs page.
 *
 * @packageDocumentation
 */

import fp from 'fastify-plugin';

/** The OpenAPI document and docs page. */
// Not encapsulated (fastify-plugin): the document must see the routes of every other module.
export const openapiRoutes = fp(async (_app) => {});
