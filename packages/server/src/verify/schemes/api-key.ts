/**
 * The API key token (`kw_key_…`, id and secret in one string) as `Authorization: Bearer`
 * (RFC 6750 §2.1 syntax) or, when enabled, in `X-API-Key`. Never from the query string.
 *
 * @packageDocumentation
 */

import { identify, METHOD_TABLE } from '@keyward/core';
import { headerValue } from '../context.js';
import { verifyKeySecret } from '../key-secret.js';
import { bearerChallenge } from '../refusals.js';
import { defineScheme } from '../scheme.js';

/** The `api-key` scheme. */
export const apiKeyScheme = defineScheme<{ readonly token: string; readonly presented: string | undefined }>({
  method: 'api-key',
  httpScheme: METHOD_TABLE['api-key'].httpScheme,
  sendsSecret: METHOD_TABLE['api-key'].sendsSecret,
  needsBody: () => false,
  claim({ authorization, request }, ctx) {
    if (authorization === undefined) {
      // X-API-Key only when the request has no Authorization header at all.
      if (!ctx.settings.apiKeyHeader) return undefined;
      const header = headerValue(request, 'x-api-key');
      return header === undefined ? undefined : { claimed: { token: header.trim(), presented: undefined } };
    }
    if (authorization.scheme !== 'bearer' || !authorization.credentials.startsWith('kw_key_')) return undefined;
    return { claimed: { token: authorization.credentials, presented: 'bearer' } };
  },
  verify({ token, presented }, { transport }, ctx) {
    const parts = identify(token);
    if (parts?.type !== 'api_key' || parts.id === undefined || parts.secret === undefined) {
      return ctx
        .recordFailure(transport)
        .then((limited) => limited ?? ctx.refuse('malformed_token', {}, presented ?? 'bearer'));
    }
    return verifyKeySecret(ctx, transport, 'api-key', parts.id, parts.secret, presented ?? 'bearer');
  },
  challenge: bearerChallenge,
});
