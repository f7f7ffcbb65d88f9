/**
 * The credentials a client can call with: one discriminated union, one member per method the
 * Keyward server verifies.
 *
 * **Browsers cannot keep a secret.** Anything shipped to a browser (bundle, local storage,
 * memory) can be read by its user and by any script injected into the page. Never give a
 * browser a key secret (`basic`, `oauth1`, `client-credentials`): use those from a backend. In a
 * browser, only `session` / `signed-session` (a token issued to that user at login, bound to
 * their address and short-lived) or an access token obtained by your backend belong; an
 * `api-key` there is a published key, acceptable only for a key with narrow scopes, over TLS,
 * that you are ready to rotate.
 *
 * @packageDocumentation
 */

import { BUILTIN_METHODS, type BuiltinMethod, type ClientAuthType, METHOD_TABLE } from '@keyward/core';

/** HTTP Basic (RFC 7617) with a key id (`kw_kid_…`) and its secret (`kw_sk_…`). Backend only. */
export interface BasicAuth {
  readonly type: 'basic';
  readonly keyId: string;
  readonly secret: string;
}

/** The API key token (`kw_key_…`) as `Authorization: Bearer` (RFC 6750 §2.1). Backend, or a narrow key over TLS. */
export interface ApiKeyAuth {
  readonly type: 'api-key';
  readonly token: string;
}

/**
 * OAuth 1.0a (RFC 5849), 2-legged: every request signed with a fresh nonce; the secret never
 * travels. Works with any OAuth 1.0a server, keys and secrets in any format. Backend only.
 */
export interface OAuth1Auth {
  readonly type: 'oauth1';
  readonly consumerKey: string;
  readonly consumerSecret: string;
  /** Default `HMAC-SHA256`. */
  readonly signatureMethod?: 'HMAC-SHA256' | 'HMAC-SHA1' | undefined;
  /**
   * Cover a body that is not form-encoded with `oauth_body_hash` (form bodies are signed
   * parameter by parameter and never carry one). Default true: without it a JSON body is not
   * protected by the signature.
   */
  readonly bodyHash?: boolean | undefined;
  /** `oauth_token`, for servers that issue tokens (3-legged); Keyward's 2-legged keys have none. */
  readonly token?: string | undefined;
  readonly tokenSecret?: string | undefined;
  /** `realm` of the Authorization header (RFC 5849 §3.5.1); not signed. */
  readonly realm?: string | undefined;
}

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): the key id and secret are exchanged for a
 * short-lived access token, which then goes out as `Authorization: Bearer`. Backend only.
 */
export interface ClientCredentialsAuth {
  readonly type: 'client-credentials';
  /** Token endpoint. Default `baseUrl + '/oauth/token'`. */
  readonly tokenUrl?: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Scopes to ask for (RFC 6749 §3.3): a space-separated string or a list. Default: the key's. */
  readonly scope?: string | readonly string[] | undefined;
}

/** A session token (`kw_st_…`, from login) as `Authorization: Bearer`. Fine in a browser over TLS. */
export interface SessionAuth {
  readonly type: 'session';
  readonly token: string;
}

/**
 * A signed session: each request signed as OAuth 1.0a with `oauth_token` = the session token and
 * the session secret as token secret; the consumer key is the account id and the consumer secret
 * is empty (the session secret carries the proof). The session secret never travels.
 */
export interface SignedSessionAuth {
  readonly type: 'signed-session';
  /** The account id the session belongs to. */
  readonly consumerKey: string;
  /** `kw_st_…`. */
  readonly token: string;
  /** `kw_ss_…`. */
  readonly secret: string;
}

/** Any of the credentials a client calls with. */
export type Auth = BasicAuth | ApiKeyAuth | OAuth1Auth | ClientCredentialsAuth | SessionAuth | SignedSessionAuth;

// The client calls with exactly the methods core's method table lists: a member added to `Auth`
// or to the table (`clientAuth`) without the other fails to compile here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameAuthTypes: Same<Auth['type'], ClientAuthType> = true;
void _sameAuthTypes;

/** The method each `auth.type` calls with, from the method table. */
const METHOD_OF = Object.fromEntries(BUILTIN_METHODS.map((m) => [METHOD_TABLE[m].clientAuth, m])) as Record<
  ClientAuthType,
  BuiltinMethod
>;

/**
 * Whether a method puts a secret (or a bearer token) on the wire, rather than a signature: the
 * method table's `sendsSecret`. Throws `TypeError` for an unknown `auth.type`.
 */
export function sendsSecret(auth: Auth): boolean {
  const method = METHOD_OF[auth.type] as BuiltinMethod | undefined;
  if (method === undefined) throw new TypeError(`auth.type must be one of: ${Object.keys(METHOD_OF).join(', ')}`);
  return METHOD_TABLE[method].sendsSecret;
}

// 127.0.0.0/8, ::1 and the name `localhost` exactly. `*.localhost` names are not trusted: RFC 6761
// §6.3 lets resolvers send them to loopback but does not make them, so one may resolve to a
// remote host that then reads the secret. The WHATWG URL parser has already canonicalised the
// host (`127.1` -> `127.0.0.1`, `[0::1]` -> `[::1]`), so exact forms suffice here.
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Refuses to put a secret on plain HTTP to anything but loopback: once sent, it is exposed,
 * whatever the server answers (and Keyward refuses such requests anyway). Throws `TypeError`.
 */
export function assertSafeTransport(url: URL, what: string): void {
  if (url.protocol === 'https:' || isLoopback(url.hostname)) return;
  throw new TypeError(
    `${what} would travel in clear over ${url.protocol}//${url.host}: use https (plain http is only for loopback)`,
  );
}

/** Checks that every required credential field is a non-empty string, naming the field only. */
export function checkAuth(auth: Auth): void {
  // Which fields each type needs is the signer's business, so it stays here; keyed by core's
  // types, so that a method added to the table needs its entry.
  const fields: Record<ClientAuthType, readonly string[]> = {
    basic: ['keyId', 'secret'],
    'api-key': ['token'],
    oauth1: ['consumerKey', 'consumerSecret'],
    'client-credentials': ['clientId', 'clientSecret'],
    session: ['token'],
    'signed-session': ['consumerKey', 'token', 'secret'],
  };
  const wanted = fields[auth?.type];
  if (wanted === undefined) throw new TypeError(`auth.type must be one of: ${Object.keys(fields).join(', ')}`);
  const record = auth as unknown as Record<string, unknown>;
  for (const field of wanted) {
    // OAuth 1.0a allows an empty consumer secret (RFC 5849 §3.4.2 encodes it as empty).
    const allowEmpty = auth.type === 'oauth1' && field === 'consumerSecret';
    const value = record[field];
    if (typeof value !== 'string' || (!allowEmpty && value === '')) {
      throw new TypeError(`auth.${field} must be a non-empty string`);
    }
  }
  if (auth.type === 'basic' && auth.keyId.includes(':')) {
    // RFC 7617 §2: the user-id ends at the first colon.
    throw new TypeError('auth.keyId must not contain ":" (RFC 7617 §2)');
  }
}
