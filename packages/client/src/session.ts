/**
 * `login(...)`: email and password for a session, and a client bound to it.
 *
 * @packageDocumentation
 */

import type { RandomBytes } from '@keyward/core';
import { assertSafeTransport, type SessionAuth, type SignedSessionAuth } from './auth.js';
import { createClient, type KeywardClient } from './client.js';
import { errorFromResponse, KeywardError } from './errors.js';
import { resolveUrl } from './request.js';

/** What {@link login} takes. */
export interface LoginOptions {
  /** The Keyward server (or the API that mounts Keyward's routes). */
  readonly baseUrl: string | URL;
  readonly email: string;
  readonly password: string;
  /**
   * Ask for a signed session: the server returns a session secret too, and every request is then
   * signed (OAuth 1.0a) instead of carrying the token alone, so a stolen request cannot be
   * replayed. Default false.
   */
  readonly signed?: boolean | undefined;
  readonly fetch?: typeof globalThis.fetch | undefined;
  readonly now?: (() => number) | undefined;
  readonly random?: RandomBytes | undefined;
}

/** A session as the server describes it at login (times as the server sent them). */
export interface SessionInfo {
  readonly id: string;
  readonly signed: boolean;
  readonly expiresAt: string | number;
  readonly idleExpiresAt: string | number;
  readonly createdAt: string | number;
}

/** A client bound to a new session. */
export interface SessionClient extends KeywardClient {
  readonly session: SessionInfo;
  readonly accountId: string;
  /**
   * The session's credentials, to keep (for example in a server-side store) and pass to
   * `createClient` later. Not enumerable, so logging the client does not print them.
   */
  readonly auth: SessionAuth | SignedSessionAuth;
}

function unexpected(response: Response, what: string): KeywardError {
  return new KeywardError({
    code: 'unexpected_response',
    status: response.status,
    message: `the login response has no ${what}`,
    requestId: response.headers.get('x-request-id') ?? undefined,
  });
}

/**
 * Logs in (`POST /v1/sessions` with `{ email, password, signed }`) and returns a client that
 * calls with the new session: `Authorization: Bearer kw_st_…`, or OAuth 1.0a signatures for a
 * signed session. Rejects with a {@link KeywardError} on refusal (`login_failed`,
 * `rate_limited`, …). The password is sent once, only over https or to loopback.
 */
export async function login(options: LoginOptions): Promise<SessionClient> {
  const baseUrl = new URL(options.baseUrl);
  const url = resolveUrl(baseUrl, '/v1/sessions');
  assertSafeTransport(url, 'the password');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const signed = options.signed === true;
  const response = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ email: options.email, password: options.password, signed }),
    redirect: 'error',
  });
  if (!response.ok) throw await errorFromResponse(response);
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  const token = body?.token;
  const accountId = body?.accountId;
  const session = body?.session as SessionInfo | undefined;
  if (typeof token !== 'string' || token === '') throw unexpected(response, 'token');
  if (typeof accountId !== 'string' || accountId === '') throw unexpected(response, 'accountId');
  if (typeof session !== 'object' || session === null || typeof session.id !== 'string') {
    throw unexpected(response, 'session');
  }
  let auth: SessionAuth | SignedSessionAuth;
  if (signed) {
    const secret = body?.secret;
    if (typeof secret !== 'string' || secret === '') throw unexpected(response, 'session secret');
    auth = { type: 'signed-session', consumerKey: accountId, token, secret };
  } else auth = { type: 'session', token };
  const client = createClient({
    baseUrl,
    auth,
    fetch: options.fetch,
    now: options.now,
    random: options.random,
  });
  return Object.defineProperties(client, {
    session: { value: session, enumerable: true },
    accountId: { value: accountId, enumerable: true },
    auth: { value: auth, enumerable: false },
  }) as SessionClient;
}
