/**
 * A key's requests and failed authentications, for its owner: requests per hour by method,
 * outcome and refusal code, and the refusals with when they were first and last seen and from
 * which addresses. The same session guard as the other `/v1/keys/:id` routes: a key of another
 * account is 404 `key_not_found`, like one that does not exist.
 *
 * The views and their schemas are shared with the admin API (`../admin/usage.ts`,
 * `../admin/audit.ts`). Counts are written in batches (`usageFlushSeconds`), so the current hour
 * lags by up to that much.
 *
 * @packageDocumentation
 */

import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { type OutcomeHour, parseKeyId, type RefusalRow } from '../../store/index.js';
import type { ApiKey } from '../../store/keys.js';
import { type RouteModule, sessionPrincipal } from '../context.js';
import { ApiError } from '../errors.js';
import { KeyIdParam, Millis } from '../resources.js';
import { errorResponses, PROTECTED_ERRORS, SESSION_SECURITY } from '../schemas.js';

const HOUR = 60 * 60 * 1000;

/** Hours of each `window` value. */
export const WINDOW_HOURS = { '24h': 24, '7d': 7 * 24 } as const;

/** `window`: the last 24 hours or 7 days, up to the end of the current hour. Default 24h. */
export const UsageWindow = Type.Optional(
  Type.Union([Type.Literal('24h'), Type.Literal('7d')], {
    description: 'The last 24 hours or 7 days, to the end of the current hour. Default 24h.',
  }),
);

/** `limit` of the refusal lists: 1-200, default 50. */
export const RefusalLimit = Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 }));

/** Requests of one hour, method, outcome and code. */
export const OutcomeHourSchema = Type.Object(
  {
    hour: Millis('Start of the hour.'),
    method: Type.String({ description: 'The method used, or tried when refused (`none` without credentials).' }),
    outcome: Type.Union([Type.Literal('accepted'), Type.Literal('refused')]),
    code: Type.Union([Type.String(), Type.Null()], { description: 'The refusal code; null when accepted.' }),
    count: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

const refusalFields = {
  hour: Millis('Start of the hour.'),
  method: Type.String({ description: 'The method tried.' }),
  code: Type.String({ description: 'The refusal code (see the error catalogue).' }),
  count: Type.Integer({ minimum: 1 }),
  firstSeen: Millis('First refusal of the row.'),
  lastSeen: Millis('Latest refusal of the row.'),
  addresses: Type.Array(Type.String(), { maxItems: 10, description: 'Up to 10 distinct client addresses.' }),
};

/** Refused requests of one key, hour, method and code. */
export const RefusalSchema = Type.Object(refusalFields, { additionalProperties: false });

/** As {@link RefusalSchema}, with the key: null for refusals that named no existing key. */
export const KeyedRefusalSchema = Type.Object(
  { keyId: Type.Union([Type.String(), Type.Null()]), ...refusalFields },
  { additionalProperties: false },
);

/** `{ keyId, from, to, hours }`: a key's requests per hour. */
export const KeyUsageSchema = Type.Object(
  {
    keyId: Type.String(),
    from: Millis('Start of the first hour.'),
    to: Millis('End of the last hour (exclusive).'),
    hours: Type.Array(OutcomeHourSchema, { description: 'Only hours with requests; hour ascending.' }),
  },
  { additionalProperties: false },
);

/** `{ keyId, refusals }`: a key's refused requests, newest first. */
export const KeyRefusalsSchema = Type.Object(
  { keyId: Type.String(), refusals: Type.Array(RefusalSchema) },
  { additionalProperties: false },
);

/** The hours `window` covers at `now`: `[from, to)`, `to` the end of the current hour. */
export function windowRange(window: keyof typeof WINDOW_HOURS | undefined, now: number): { from: number; to: number } {
  const to = Math.ceil((now + 1) / HOUR) * HOUR;
  return { from: to - WINDOW_HOURS[window ?? '24h'] * HOUR, to };
}

/** An hour row as the API shows it. */
export function hourView(h: OutcomeHour): OutcomeHour {
  return { hour: h.hour, method: h.method, outcome: h.outcome, code: h.code, count: h.count };
}

/** A refusal row of one key, as the API shows it (the key is the response's). */
export function refusalView(r: RefusalRow): Omit<RefusalRow, 'keyId'> {
  return {
    hour: r.hour,
    method: r.method,
    code: r.code,
    count: r.count,
    firstSeen: r.firstSeen,
    lastSeen: r.lastSeen,
    addresses: r.addresses,
  };
}

const KeyParams = Type.Object({ id: KeyIdParam }, { additionalProperties: false });

/** `GET /v1/keys/:id/usage`, `GET /v1/keys/:id/refusals`. */
export const keyUsageRoutes: RouteModule = async (app) => {
  const protect = app.keyward.protect();
  const { store, clock } = app.kw;
  const tags = ['keys'];

  /** The key's raw id, if the key belongs to the session's account; else 404 as for no key. */
  async function ownKey(request: FastifyRequest, id: string): Promise<{ key: ApiKey; rawKeyId: string }> {
    const { accountId } = sessionPrincipal(request);
    const rawKeyId = parseKeyId(id);
    const key = rawKeyId === undefined ? undefined : await store.keys.get(rawKeyId);
    if (rawKeyId === undefined || key === undefined || key.accountId !== accountId) throw new ApiError('key_not_found');
    return { key, rawKeyId };
  }

  app.get(
    '/v1/keys/:id/usage',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: "My key's requests per hour",
        security: SESSION_SECURITY,
        description:
          'Requests that named the key, per hour, method, outcome (`accepted` or `refused`) and refusal code ' +
          '(null when accepted), over the last 24 hours or 7 days. Only hours with requests are listed. Counts are ' +
          'written in batches (`usageFlushSeconds`), so the current hour lags a little.',
        params: KeyParams,
        querystring: Type.Object({ window: UsageWindow }, { additionalProperties: false }),
        response: { 200: KeyUsageSchema, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => {
      const { key, rawKeyId } = await ownKey(request, request.params.id);
      const { from, to } = windowRange(request.query.window, clock.now());
      const hours = await store.outcomes.keyHours(rawKeyId, from, to);
      return { keyId: key.id, from, to, hours: hours.map(hourView) };
    },
  );

  app.get(
    '/v1/keys/:id/refusals',
    {
      preValidation: protect,
      schema: {
        tags,
        summary: "My key's failed authentications",
        security: SESSION_SECURITY,
        description:
          'Refused requests that named the key, per hour, method and refusal code, newest first, with the first ' +
          'and last time seen and up to 10 client addresses.',
        params: KeyParams,
        querystring: Type.Object({ limit: RefusalLimit }, { additionalProperties: false }),
        response: { 200: KeyRefusalsSchema, ...errorResponses(...PROTECTED_ERRORS, 404) },
      },
    },
    async (request) => {
      const { key, rawKeyId } = await ownKey(request, request.params.id);
      const rows = await store.outcomes.refusals({ rawKeyId, limit: request.query.limit ?? 50 });
      return { keyId: key.id, refusals: rows.map(refusalView) };
    },
  );
};
