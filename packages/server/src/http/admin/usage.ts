/**
 * Admin: a key's usage, counted per hour. Counts are batched in memory and written every
 * `usageFlushSeconds`, so the latest hour lags by up to that much.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { parseKeyId } from '../../store/index.js';
import type { RouteModule } from '../context.js';
import { ApiError } from '../errors.js';
import { Millis } from '../resources.js';
import { ADMIN_CREDENTIAL, errorResponses, PROTECTED_ERRORS } from '../schemas.js';
import { adminGuard } from './guard.js';
import { KeyParams } from './schemas.js';

const HOUR = 60 * 60 * 1000;
/** Longest range one request may ask for: 31 days of hours. */
const MAX_HOURS = 31 * 24;

/** `GET /v1/admin/keys/:keyId/usage`. */
export const adminUsageRoutes: RouteModule = async (app) => {
  const preValidation = adminGuard(app);
  const { store, clock } = app.kw;

  app.get(
    '/v1/admin/keys/:keyId/usage',
    {
      preValidation,
      schema: {
        tags: ['admin'],
        security: ADMIN_CREDENTIAL,
        summary: "A key's requests per hour",
        description:
          'Verified requests of the key, per hour, between `from` (rounded down to the hour, inclusive) and `to` ' +
          '(rounded up, exclusive), in milliseconds since the epoch; default the last 24 hours, at most 31 days. ' +
          'Every hour of the range is listed, zero included. Counts are written in batches ' +
          '(`usageFlushSeconds`), so the current hour lags a little.',
        params: KeyParams,
        querystring: Type.Object(
          { from: Type.Optional(Millis()), to: Type.Optional(Millis()) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              keyId: Type.String(),
              from: Millis('Start of the first hour.'),
              to: Millis('End of the last hour (exclusive).'),
              total: Type.Integer({ minimum: 0 }),
              hours: Type.Array(
                Type.Object(
                  { hour: Millis('Start of the hour.'), count: Type.Integer({ minimum: 0 }) },
                  { additionalProperties: false },
                ),
              ),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(...PROTECTED_ERRORS, 404),
        },
      },
    },
    async (request) => {
      const rawKeyId = parseKeyId(request.params.keyId);
      const key = rawKeyId === undefined ? undefined : await store.keys.get(rawKeyId);
      if (rawKeyId === undefined || key === undefined) throw new ApiError('key_not_found');
      const ceil = (t: number) => Math.ceil(t / HOUR) * HOUR;
      const to = ceil(request.query.to ?? clock.now() + 1);
      const fromInput = request.query.from ?? to - 24 * HOUR;
      const from = fromInput - (fromInput % HOUR);
      if (from >= to) throw new ApiError('invalid_input', '`from` must be before `to`');
      if ((to - from) / HOUR > MAX_HOURS) throw new ApiError('invalid_input', `at most ${MAX_HOURS} hours at once`);
      const rows = await store.usage.hourly(rawKeyId, from, to);
      const counts = new Map(rows.map((r) => [Number(r.hour), Number(r.count)]));
      const hours: { hour: number; count: number }[] = [];
      for (let hour = from; hour < to; hour += HOUR) hours.push({ hour, count: counts.get(hour) ?? 0 });
      const total = hours.reduce((sum, h) => sum + h.count, 0);
      return { keyId: key.id, from, to, total, hours };
    },
  );
};
