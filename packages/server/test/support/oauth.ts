// Helpers of the OAuth endpoint suites: accounts and keys on a test server's store, form bodies,
// client authentication headers, and row counts that prove a refused request wrote nothing.
import { expect } from 'vitest';
import type { KeywardConfigInput } from '../../src/config/index.js';
import type { IssuedKey, KeySettings, Store } from '../../src/store/index.js';
import type { Engine } from './databases.js';
import { startTestServer, type TestServer } from './server.js';

export const actor = { type: 'cli', id: 'oauth-tests' } as const;

let accounts = 0;

/** A new account (unique email) on the server's store. */
export async function newAccount(t: TestServer, role: 'admin' | 'member' = 'member'): Promise<string> {
  const email = `oauth${++accounts}-${Date.now()}@example.com`;
  const created = await t.server.context.store.accounts.create(
    { email, password: 'correct horse battery staple', role },
    actor,
  );
  if (!created.ok) throw new Error(created.code);
  return created.value.id;
}

/** A client of the OAuth endpoints: a new key and the account it belongs to. */
export type TestClient = IssuedKey & { accountId: string };

/** A new key on an account (a new account unless one is given). */
export async function newClient(t: TestServer, settings: KeySettings = {}, accountId?: string): Promise<TestClient> {
  const account = accountId ?? (await newAccount(t));
  const key = await t.server.context.store.keys.create(
    account,
    { name: 'oauth client', scopes: ['read:orders', 'write:orders'], ...settings },
    actor,
  );
  if (!key.ok) throw new Error(key.code);
  return { ...key.value, accountId: account };
}

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded, then joined and base64-encoded. */
export function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => new URLSearchParams({ s }).toString().slice(2);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const;

/** POSTs a form to an OAuth endpoint. `body` may be a raw string (for malformed bodies). */
export function post(
  t: TestServer,
  path: string,
  body: Record<string, string> | string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { ...FORM, ...headers },
    body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
  });
}

/** Asks for a token with client_secret_basic (default) or client_secret_post. */
export function requestToken(
  t: TestServer,
  client: { id: string; secret: string },
  options: { method?: 'basic' | 'post'; scope?: string; extra?: Record<string, string> } = {},
): Promise<Response> {
  const params: Record<string, string> = { grant_type: 'client_credentials', ...options.extra };
  if (options.scope !== undefined) params.scope = options.scope;
  if (options.method === 'post') {
    return post(t, '/oauth/token', { ...params, client_id: client.id, client_secret: client.secret });
  }
  return post(t, '/oauth/token', params, { authorization: basicAuth(client.id, client.secret) });
}

/** A token string, or the test fails. */
export async function getToken(
  t: TestServer,
  client: { id: string; secret: string },
  options: { method?: 'basic' | 'post'; scope?: string } = {},
): Promise<string> {
  const res = await requestToken(t, client, options);
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** `GET /v1/whoami` with a bearer token. */
export function whoami(t: TestServer, token: string): Promise<Response> {
  return fetch(`${t.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
}

/** Rows in the tables the OAuth endpoints write. */
export async function oauthRows(store: Store): Promise<{ access_tokens: number; signing_keys: number }> {
  const count = async (table: 'access_tokens' | 'signing_keys') =>
    Number(
      (
        await store.context.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { access_tokens: await count('access_tokens'), signing_keys: await count('signing_keys') };
}

/** Every Keyward secret-bearing string in the server's log lines (there must be none). */
export function secretsInLogs(t: TestServer, secrets: readonly string[]): string[] {
  const text = t.logs.join('\n');
  return secrets.filter((s) => s !== '' && text.includes(s));
}

/**
 * The server of a suite of OAuth tests: a frozen-clock test server with one client, whose
 * secret and token join `secrets`, the list {@link closeSuiteServer} checks the logs against.
 */
export async function startSuiteServer(
  engine: Engine,
  config: KeywardConfigInput,
  secrets: string[],
): Promise<{ t: TestServer; client: TestClient }> {
  const t = await startTestServer(engine, config, { frozen: true });
  const client = await newClient(t);
  secrets.push(client.secret, client.token);
  return { t, client };
}

/** Ends a suite's server: none of `secrets` may be in its log lines; then it is closed. */
export async function closeSuiteServer(t: TestServer | undefined, secrets: readonly string[]): Promise<void> {
  if (t === undefined) return;
  expect(secretsInLogs(t, secrets)).toEqual([]);
  await t.close();
}

/** A JSON response body, loosely typed for assertions. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary JSON
export type Json = Record<string, any>;

/** Reads a response body as JSON. */
export async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}
