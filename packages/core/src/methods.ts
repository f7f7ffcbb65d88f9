/**
 * The method table: every authentication method Keyward verifies, and what the rest of the
 * system needs to know about it. The server's key settings, HTTP schemas, principal schema and
 * OpenAPI security schemes, and the client's credential types, are all derived from this one
 * table, so a new method is added here once (and as one scheme module in the server).
 *
 * @packageDocumentation
 */

/** What one method is. */
export interface MethodInfo {
  /** What the caller proves: an API key, or a session from login. */
  readonly credential: 'key' | 'session';
  /** The `Authorization` scheme it travels in (RFC 7235 §2.1), lower case. */
  readonly httpScheme: 'basic' | 'bearer' | 'oauth';
  /**
   * Whether the secret (or a bearer token standing for it) is on the wire: such methods are
   * refused over plain HTTP except from loopback or a trusted proxy that says `https`.
   */
  readonly sendsSecret: boolean;
  /** The OpenAPI security scheme that documents it. */
  readonly openapi: 'basic' | 'bearer' | 'oauth1' | 'oauth2';
  /** The client SDK's `auth.type` that calls with it. */
  readonly clientAuth: string;
  /** One line for docs. */
  readonly summary: string;
}

/** Every method, in the order the verifier tries and the docs list them. */
export const METHOD_TABLE = {
  basic: {
    credential: 'key',
    httpScheme: 'basic',
    sendsSecret: true,
    openapi: 'basic',
    clientAuth: 'basic',
    summary: 'HTTP Basic (RFC 7617) with the key id as user-id and the key secret as password.',
  },
  'api-key': {
    credential: 'key',
    httpScheme: 'bearer',
    sendsSecret: true,
    openapi: 'bearer',
    clientAuth: 'api-key',
    summary: 'The API key token (kw_key_…) as a bearer token (RFC 6750 §2.1).',
  },
  oauth2: {
    credential: 'key',
    httpScheme: 'bearer',
    sendsSecret: true,
    openapi: 'oauth2',
    clientAuth: 'client-credentials',
    summary: 'An OAuth 2.0 access token from the client credentials grant (RFC 6749 §4.4).',
  },
  oauth1: {
    credential: 'key',
    httpScheme: 'oauth',
    sendsSecret: false,
    openapi: 'oauth1',
    clientAuth: 'oauth1',
    summary: '2-legged OAuth 1.0a (RFC 5849) signed with the key secret, with a nonce.',
  },
  session: {
    credential: 'session',
    httpScheme: 'bearer',
    sendsSecret: true,
    openapi: 'bearer',
    clientAuth: 'session',
    summary: 'A session token (kw_st_…) from login, bound to the client address.',
  },
  'signed-session': {
    credential: 'session',
    httpScheme: 'oauth',
    sendsSecret: false,
    openapi: 'oauth1',
    clientAuth: 'signed-session',
    summary: 'A session whose every request is signed as OAuth 1.0a with the session secret.',
  },
} as const satisfies Record<string, MethodInfo>;

/** An authentication method Keyward itself verifies. */
export type BuiltinMethod = keyof typeof METHOD_TABLE;

/** Every {@link BuiltinMethod}, in table order. */
export const BUILTIN_METHODS = Object.keys(METHOD_TABLE) as BuiltinMethod[];

/** The methods an API key can be allowed or denied (its `methods` setting). */
export type KeyMethod = {
  [M in BuiltinMethod]: (typeof METHOD_TABLE)[M]['credential'] extends 'key' ? M : never;
}[BuiltinMethod];

/** Every {@link KeyMethod}, in table order. */
export const KEY_METHODS = BUILTIN_METHODS.filter((m) => METHOD_TABLE[m].credential === 'key') as KeyMethod[];

/** The client SDK's `auth.type` values, one per method. */
export type ClientAuthType = (typeof METHOD_TABLE)[BuiltinMethod]['clientAuth'];
