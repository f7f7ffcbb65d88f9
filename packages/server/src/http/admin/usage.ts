/**
 * Admin: requests per hour by method, outcome and refusal code, of one key or of every key
 * together. Counts are batched in memory and written every `usageFlushSeconds`, so the latest
 * hour lags by up to that much.
 *
 * @packageDocumentation
 */

import { Type } from 'typebox';
import { parseKeyId } from '../../store/index.js';
import { hourView, KeyUsageSchema, OutcomeHourSchema, UsageWindow, windowRange } from '../accounts/usage.js';
import type { RouteModule } from '../context.js';
import { ApiError } from '../errors.js';
import { Millis } from '../resources.js';
import { ADMIN_CREDENTIAL, errorResponses, PROTECTED_ERRORS } from '../schemas.js';
import { adminGuard } from './guard.js';
import { KeyParams } from './schemas.js';

const HOUR = 60 * 60 * 1000;
/** Longest range one request may ask for: 31 days of hours. */
const MAX_HOURS = 31 * 24;

/** `GET /v1/admin/keys/:keyId/usage`, `GET /v1/admin/usage`. */
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
          'Requests that named the key, per hour, method, outcome (`accepted` or `refused`) and refusal code ' +
          '(null when accepted). The range is `window` (the last 24 hours or 7 days, to the end of the current ' +
          'hour), or `from` (rounded down to the hour, inclusive) and `to` (rounded up, exclusive) in milliseconds ' +
          'since the epoch, at most 31 days; default the last 24 hours. Only hours with requests are listed, hour ' +
          'ascending. Counts are written in batches (`usageFlushSeconds`), so the current hour lags a little.',
        params: KeyParams,
        querystring: Type.Object(
          { window: UsageWindow, from: Type.Optional(Millis()), to: Type.Optional(Millis()) },
          { additionalProperties: false },
        ),
        response: { 200: KeyUsageSchema, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => {
      const rawKeyId = parseKeyId(request.params.keyId);
      const key = rawKeyId === undefined ? undefined : await store.keys.get(rawKeyId);
      if (rawKeyId === undefined || key === undefined) throw new ApiError('key_not_found');
      const q = request.query;
      let range: { from: number; to: number };
      if (q.from === undefined && q.to === undefined) range = windowRange(q.window, clock.now());
      else {
        if (q.window !== undefined) throw new ApiError('invalid_input', 'give `window` or `from`/`to`, not both');
        const to = Math.ceil((q.to ?? clock.now() + 1) / HOUR) * HOUR;
        const fromInput = q.from ?? to - 24 * HOUR;
        range = { from: fromInput - (fromInput % HOUR), to };
        if (range.from >= range.to) throw new ApiError('invalid_input', '`from` must be before `to`');
        if ((range.to - range.from) / HOUR > MAX_HOURS)
          throw new ApiError('invalid_input', `at most ${MAX_HOURS} hours at once`);
      }
      const hours = await store.outcomes.keyHours(rawKeyId, range.from, range.to);
      return { keyId: key.id, ...range, hours: hours.map(hourView) };
    },
  );

  app.get(
    '/v1/admin/usage',
    {
      preValidation,
      schema: {
        tags: ['admin'],
        security: ADMIN_CREDENTIAL,
        summary: 'Requests per hour, all keys',
        description:
          'Every verified or refused request, per hour, method, outcome and refusal code, over the last 24 hours ' +
          'or 7 days: those of every key, and those that named no existing key (sessions, unknown key ids). Only ' +
          'hours with requests are listed, hour ascending.',
        querystring: Type.Object({ window: UsageWindow }, { additionalProperties: false }),
        response: {
          200: Type.Object(
            {
              from: Millis('Start of the first hour.'),
              to: Millis('End of the last hour (exclusive).'),
              hours: Type.Array(OutcomeHourSchema),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(...PROTECTED_ERRORS),
        },
      },
    },
    async (request) => {
      const { from, to } = windowRange(request.query.window, clock.now());
      const hours = await store.outcomes.allHours(from, to);
      return { from, to, hours: hours.map(hourView) };
    },
  );
};
