/**
 * Schema parts shared by the route modules: the one error shape as a response schema, the
 * security requirements of protected routes (named after the schemes the OpenAPI document
 * declares), and the principal.
 *
 * @packageDocumentation
 */

import { BUILTIN_METHODS, METHOD_TABLE, type MethodInfo } from '@keyward/core';
import { Type } from 'typebox';
import { ADMIN_SCOPE, VERIFY_SCOPE } from './context.js';

/** The name of a security scheme of the OpenAPI document (`components.securitySchemes`). */
export type SecurityScheme = MethodInfo['openapi'];

/** The schemes that document the methods of a credential kind (every kind when left out), once each, in table order. */
export function schemesOf(credential?: MethodInfo['credential']): SecurityScheme[] {
  const methods = BUILTIN_METHODS.filter((m) => credential === undefined || METHOD_TABLE[m].credential === credential);
  return [...new Set(methods.map((m): SecurityScheme => METHOD_TABLE[m].openapi))];
}

/** Names of the security schemes in the OpenAPI document, from the method table. */
export const SECURITY_SCHEMES: readonly SecurityScheme[] = schemesOf();

/** Any Keyward credential: one requirement per scheme (the caller uses one of them). */
export const ANY_CREDENTIAL: Record<string, string[]>[] = SECURITY_SCHEMES.map((name) => ({ [name]: [] }));

/** A credential of an admin: an admin session, or a key (or its token) with `keyward:admin`. */
export const ADMIN_CREDENTIAL: Record<string, string[]>[] = SECURITY_SCHEMES.map((name) => ({
  [name]: name === 'oauth2' ? [ADMIN_SCOPE] : [],
}));

/** A session, plain or signed: the schemes of the session methods. */
export const SESSION_SECURITY: Record<string, string[]>[] = schemesOf('session').map((name) => ({ [name]: [] }));

/** A credential allowed to call `POST /v1/verify`: `keyward:verify`, or an admin's. */
export const VERIFY_CREDENTIAL: Record<string, string[]>[] = [
  ...SECURITY_SCHEMES.map((name) => ({ [name]: name === 'oauth2' ? [VERIFY_SCOPE] : [] })),
  { oauth2: [ADMIN_SCOPE] },
];

/**
 * The scheme of OAuth 2.0 client authentication (RFC 6749 §2.3.1) at the endpoints that take a
 * client secret: HTTP Basic with the key id and secret, `client_secret_basic`.
 */
export const CLIENT_AUTH_SCHEME = 'clientSecretBasic';

/**
 * Security of an OAuth endpoint that authenticates its client (RFC 6749 §2.3.1):
 * `client_secret_basic` (HTTP Basic), or `client_secret_post`, the `client_id` and
 * `client_secret` form fields. OpenAPI has no security scheme for credentials in a body, so the
 * second alternative is the empty requirement, and the request body declares the two fields.
 */
export const CLIENT_AUTHENTICATION: Record<string, string[]>[] = [{ [CLIENT_AUTH_SCHEME]: [] }, {}];

/** The scheme of `GET /metrics` when a metrics token is configured: that token as a bearer token. */
export const METRICS_TOKEN_SCHEME = 'metricsToken';

const errorBody = (description: string) =>
  Type.Object(
    {
      error: Type.Object(
        {
          code: Type.String({ description: 'Stable machine-readable code (docs/errors.md).' }),
          message: Type.String({ description: 'Human-readable, secret-free.' }),
          requestId: Type.String({ description: 'Also in the x-request-id header and the server log.' }),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false, description },
  );

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed input: a field is missing, malformed, duplicated or out of range (invalid_input and kin).',
  401: 'No credentials, or credentials that do not verify (with WWW-Authenticate challenges).',
  403: 'Verified, but not allowed (forbidden, insufficient_scope, transport_insecure).',
  404: 'No such object.',
  409: 'The object is in a state that does not allow this change (invalid_state).',
  413: 'The request body is larger than the server accepts.',
  415: 'The body is not application/json.',
  429: 'Too many failed attempts; see Retry-After.',
  503: 'The credential store cannot be reached; nothing was changed.',
};

/** Error responses, in the one error shape, for the given statuses. */
export function errorResponses(...statuses: number[]): Record<number, ReturnType<typeof errorBody>> {
  const out: Record<number, ReturnType<typeof errorBody>> = {};
  for (const status of statuses) {
    out[status] = errorBody(ERROR_DESCRIPTIONS[status] ?? 'Error.');
  }
  return out;
}

/** Statuses every protected route can answer with, whatever it does. */
export const PROTECTED_ERRORS = [400, 401, 403, 429, 503] as const;

/** A verified principal (`request.keyward`). */
export const PrincipalSchema = Type.Object(
  {
    accountId: Type.String(),
    keyId: Type.Optional(Type.String({ description: '`kw_kid_…`, for key-based methods.' })),
    sessionId: Type.Optional(Type.String({ description: 'For session and signed-session methods.' })),
    scopes: Type.Array(Type.String()),
    // A string, not an enum: a scheme registered by the deployment names its own method.
    method: Type.String({
      description: `The authentication method that verified: ${BUILTIN_METHODS.join(', ')}, or a registered scheme's name.`,
      examples: [...BUILTIN_METHODS],
    }),
  },
  { additionalProperties: false },
);

/**
 * A `preValidation` hook for routes whose body may be left out: an absent body becomes `{}`, so
 * that its optional fields take their defaults (Fastify validates an absent body against the
 * schema and would refuse it). The OpenAPI document marks these bodies optional, finding the
 * routes by this function's name.
 */
export async function optionalBody(request: { body: unknown }): Promise<void> {
  if (request.body === undefined) request.body = {};
}
