/**
 * `POST /v1/verify`: verification as a service. Another service (a gateway, a backend in
 * another language) sends the parts of a request it received; Keyward runs the same verifier
 * as on its own routes and answers with the outcome.
 *
 * Contract:
 * - The caller authenticates with its own credentials and needs a key (or token) with scope
 *   `keyward:verify`, or an admin's credentials; else 403 `insufficient_scope`. Errors about the call
 *   itself (caller's credentials, malformed body) use the usual statuses and error shape.
 * - The outcome is always a 200: `{ ok: true, principal }` or `{ ok: false, status, code,
 *   message, challenge?, retryAfter?, headers? }`, which the service turns into its own
 *   response (the status, `WWW-Authenticate` from `challenge`, `Retry-After`). A gateway can
 *   then tell "the client was refused" (200, ok false) from "I could not ask" (anything else).
 * - `url` is the request-target the service received (`/path?query`). OAuth 1.0a base strings
 *   use Keyward's configured public origin (`publicUrl`), never one the caller names: the
 *   endpoint serves services that share Keyward's public origin (behind one gateway or
 *   domain). A caller-chosen origin would let any verify key check signatures made for
 *   another site.
 * - `body` is the raw body as text (`bodyEncoding: "utf8"`, the default) or as base64
 *   (`"base64"`) for bytes that are not UTF-8; OAuth 1.0a needs it for form parameters and
 *   `oauth_body_hash`.
 * - `remoteAddress` is the client's address as the service saw it (failure limits and session
 *   IP binding and the transport rule use it; a configured trusted proxy's `X-Forwarded-For` is
 *   read from `headers`); it is required. `secure` says whether the
 *   client's connection was TLS (default false: secret-bearing methods are then refused unless
 *   the client address is loopback).
 * - A nonce consumed here is consumed for good: the nonce store is the one Keyward's own
 *   routes use, so a signed request verified once is refused when replayed, here or anywhere.
 *
 * @packageDocumentation
 */

import { isIP } from 'node:net';
import { Type } from 'typebox';
import type { VerifyRequest } from '../verify/types.js';
import { ADMIN_SCOPE, principalOf, type RouteModule, requireAdmin, VERIFY_SCOPE } from './context.js';
import { ApiError } from './errors.js';
import { useStrictJson } from './json.js';
import { errorResponses, PROTECTED_ERRORS, PrincipalSchema, VERIFY_CREDENTIAL } from './schemas.js';

/** Most headers one forwarded request may carry. */
export const MAX_FORWARDED_HEADERS = 100;
/** Longest header value, and longest request-target, in characters. */
export const MAX_FORWARDED_FIELD = 8192;

// RFC 9110 §5.6.2 token: header names and methods.
const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
// RFC 9110 §5.5: a field value has no CR, LF or NUL (nor other controls but HTAB).
const FIELD_VALUE = '^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f]*$';
const FieldValue = Type.String({ maxLength: MAX_FORWARDED_FIELD, pattern: FIELD_VALUE });

const VerifyBody = Type.Object(
  {
    method: Type.String({ minLength: 1, maxLength: 32, pattern: TOKEN, description: 'As received, e.g. GET.' }),
    url: Type.String({
      minLength: 1,
      maxLength: MAX_FORWARDED_FIELD,
      // origin-form (RFC 9112 §3.2.1): a path and an optional query, visible ASCII, no fragment.
      pattern: '^/[\\u0021-\\u0022\\u0024-\\u007e]*$',
      description: 'The request-target as received: `/path?query`.',
    }),
    headers: Type.Record(
      Type.String({ pattern: TOKEN, maxLength: 256 }),
      Type.Union([FieldValue, Type.Array(FieldValue, { maxItems: 32 })]),
      {
        maxProperties: MAX_FORWARDED_HEADERS,
        additionalProperties: false,
        description: 'The headers as received. Names are matched case-insensitively (lower-cased here).',
      },
    ),
    body: Type.Optional(Type.String({ description: 'The raw body, as text or base64 (see bodyEncoding).' })),
    bodyEncoding: Type.Optional(
      Type.Union([Type.Literal('utf8'), Type.Literal('base64')], { description: 'Default utf8.' }),
    ),
    // Required: were the calling service's own address to stand in, a service on loopback would
    // make every client look local and exempt from the transport rule.
    remoteAddress: Type.String({
      minLength: 2,
      maxLength: 45,
      description: "The client's IP address as the service saw it.",
    }),
    secure: Type.Optional(Type.Boolean({ description: "Whether the client's connection was TLS. Default false." })),
    scopes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        maxItems: 32,
        description: 'Scopes the principal must all have (else insufficient_scope).',
      }),
    ),
    requireBodyHash: Type.Optional(
      Type.Boolean({ description: 'Require oauth_body_hash on OAuth 1.0a requests with a non-form body.' }),
    ),
  },
  { additionalProperties: false },
);

const Outcome = Type.Union(
  [
    Type.Object({ ok: Type.Literal(true), principal: PrincipalSchema }, { additionalProperties: false }),
    Type.Object(
      {
        ok: Type.Literal(false),
        status: Type.Integer({ description: 'The status to answer the client with.' }),
        code: Type.String({ description: 'The refusal code (docs/errors.md).' }),
        message: Type.String(),
        challenge: Type.Optional(
          Type.Array(Type.String(), { description: 'WWW-Authenticate values, one per scheme.' }),
        ),
        retryAfter: Type.Optional(Type.Integer({ description: 'Seconds, for Retry-After.' })),
        headers: Type.Optional(
          Type.Record(Type.String(), Type.String(), { description: 'Further headers for the client (e.g. Date).' }),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'The outcome: the client was let through (ok true) or refused (ok false).' },
);

// Strict base64 (RFC 4648 §4), padded; decoders elsewhere skip bad characters silently.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `POST /v1/verify`. */
export const verifyRoutes: RouteModule = async (app) => {
  useStrictJson(app);
  const { verifier } = app.kw;

  app.post(
    '/v1/verify',
    {
      preValidation: [
        app.keyward.protect(),
        async function keywardRequireVerifier(request) {
          const principal = principalOf(request);
          if (principal.scopes.includes(VERIFY_SCOPE)) return;
          // Not a verify key: an admin's credentials still may; anyone else lacks the scope.
          if (principal.scopes.includes(ADMIN_SCOPE)) {
            await requireAdmin(app.kw, request);
            return;
          }
          throw ApiError.of(verifier.checkScopes(principal, [VERIFY_SCOPE]) ?? verifier.refuse('insufficient_scope'));
        },
      ],
      schema: {
        tags: ['verify'],
        security: VERIFY_CREDENTIAL,
        summary: 'Verify a request another service received',
        description:
          'Runs the verifier on the request described in the body and answers 200 with the outcome, refusal ' +
          'included (`ok: false` with the status, code and challenge to give the client). OAuth 1.0a base ' +
          "strings use Keyward's public URL as origin; a nonce verified here is consumed for good. `body` is the " +
          'raw body as text, or base64 with `bodyEncoding: "base64"`. `remoteAddress` is the client\'s address ' +
          'as the service saw it; `secure` (default false) says whether the client used TLS.',
        body: VerifyBody,
        response: { 200: Outcome, ...errorResponses(...PROTECTED_ERRORS, 413, 415) },
      },
    },
    async (request, reply) => {
      const input = request.body;
      const headers: Record<string, string | string[]> = Object.create(null);
      for (const [name, value] of Object.entries(input.headers)) {
        const lower = name.toLowerCase();
        if (lower in headers) throw new ApiError('invalid_input', `header ${lower} is given twice`);
        headers[lower] = value;
      }
      const remoteAddress = input.remoteAddress;
      if (isIP(remoteAddress) === 0) throw new ApiError('invalid_input', 'remoteAddress must be an IP address');
      let body: string | Uint8Array | undefined = input.body;
      if (input.body !== undefined && input.bodyEncoding === 'base64') {
        if (!BASE64.test(input.body)) throw new ApiError('invalid_input', 'body is not padded base64');
        body = Buffer.from(input.body, 'base64');
      } else if (input.body === undefined && input.bodyEncoding !== undefined) {
        throw new ApiError('invalid_input', 'bodyEncoding without a body');
      }
      const forwarded: VerifyRequest = {
        method: input.method,
        url: input.url,
        headers,
        body,
        remoteAddress,
        secure: input.secure ?? false,
      };
      const outcome = await verifier.verify(forwarded, {
        ...(input.scopes === undefined ? {} : { scopes: input.scopes }),
        ...(input.requireBodyHash === undefined ? {} : { requireBodyHash: input.requireBodyHash }),
      });
      // The outcome is about one request: no cache may answer another with it.
      reply.header('cache-control', 'no-store');
      if (outcome.ok)
        return { ok: true as const, principal: { ...outcome.principal, scopes: [...outcome.principal.scopes] } };
      return {
        ok: false as const,
        status: outcome.status,
        code: outcome.code,
        message: outcome.message,
        ...(outcome.challenge === undefined ? {} : { challenge: [...outcome.challenge] }),
        ...(outcome.retryAfter === undefined ? {} : { retryAfter: outcome.retryAfter }),
        ...(outcome.headers === undefined ? {} : { headers: { ...outcome.headers } }),
      };
    },
  );
};
