// A small client for the account, session and key routes of a test server, over real sockets:
// register, log in, call with a session (bearer or signed), and count rows to prove that a
// refused request changed nothing.
import { randomBytes } from 'node:crypto';
import { signOAuth1 } from '@keyward/core';
import { expect } from 'vitest';
import type { TestServer } from './server.js';

export const PASSWORD = 'correct horse battery staple';

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are read field by field
  body: any;
}

/** What a login returns. */
export interface Login {
  token: string;
  secret?: string;
  accountId: string;
  session: { id: string; signed: boolean; expiresAt: number; idleExpiresAt: number; createdAt: number };
}

/** Credentials to call with: a plain session token, or a signed session. */
export type Caller = { token: string; secret?: string; accountId: string } | { authorization: string } | undefined;

export function client(t: TestServer) {
  function authorization(caller: Caller, method: string, path: string): Record<string, string> {
    if (caller === undefined) return {};
    if ('authorization' in caller) return { authorization: caller.authorization };
    if (caller.secret === undefined) return { authorization: `Bearer ${caller.token}` };
    // A signed session: consumer key = account id, empty consumer secret, oauth_token = the
    // session token, token secret = the session secret (RFC 5849 §3.4.2).
    const signature = signOAuth1({
      method,
      url: `${t.url}${path}`,
      consumerKey: caller.accountId,
      consumerSecret: '',
      token: caller.token,
      tokenSecret: caller.secret,
      nonce: randomBytes(16).toString('hex'),
      timestamp: Math.floor(t.server.context.clock.now() / 1000),
    });
    return { authorization: signature.authorization };
  }

  /** Sends a request; `body` is JSON unless `raw` gives the exact text and content type. */
  async function call(
    method: string,
    path: string,
    options: {
      as?: Caller;
      body?: unknown;
      raw?: { text: string; type?: string };
      headers?: Record<string, string>;
    } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...authorization(options.as, method, path), ...options.headers };
    let body: string | undefined;
    if (options.raw !== undefined) {
      body = options.raw.text;
      if (options.raw.type !== undefined) headers['content-type'] = options.raw.type;
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${t.url}${path}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  }

  async function register(email: string, password = PASSWORD, more: Record<string, unknown> = {}) {
    const answer = await call('POST', '/v1/accounts', { body: { email, password, ...more } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as { id: string; email: string; role: string };
  }

  async function login(email: string, options: { password?: string; signed?: boolean } = {}): Promise<Login> {
    const answer = await call('POST', '/v1/sessions', {
      body: { email, password: options.password ?? PASSWORD, ...(options.signed ? { signed: true } : {}) },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as Login;
  }

  /** Makes an admin account in the store (registration only makes members) and logs it in. */
  async function admin(email: string): Promise<Login> {
    const made = await t.server.context.store.accounts.create(
      { email, password: PASSWORD, role: 'admin' },
      { type: 'system' },
    );
    if (!made.ok) throw new Error(made.code);
    return login(email);
  }

  return { call, register, login, admin };
}

/** Row counts of every table these routes write, to prove a refused request changed nothing. */
export async function counts(t: TestServer): Promise<Record<string, number>> {
  const { db } = t.server.context.store.context;
  const out: Record<string, number> = {};
  for (const table of ['accounts', 'api_keys', 'key_secrets', 'access_tokens', 'sessions', 'audit_events'] as const) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    out[table] = Number(row.n);
  }
  // Revocations are updates, not inserts: count them too.
  const revoked = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is not', null)
    .executeTakeFirstOrThrow();
  out.sessions_revoked = Number(revoked.n);
  const updated = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.max('updated_at').as('n'))
    .executeTakeFirstOrThrow();
  out.api_keys_updated = Number(updated.n ?? 0);
  const accounts = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.max('updated_at').as('n'))
    .executeTakeFirstOrThrow();
  out.accounts_updated = Number(accounts.n ?? 0);
  return out;
}

/** Every log line the server wrote, as one text, for "no secret in logs" checks. */
export function logText(t: TestServer): string {
  return t.logs.join('\n');
}
