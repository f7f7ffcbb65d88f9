// What the @keyward/client end-to-end suites share: a real server with an account and a key, a
// fetch that counts what it sends, and a check for routes other engineers may not have landed
// yet (the token endpoint, login), so the tests that need them say why they are skipped.
import type { IssuedKey } from '../../src/store/index.js';
import { startTestServer, type TestServer } from './server.js';

export const PASSWORD = 'correct horse battery staple';

export interface ClientFixture {
  t: TestServer;
  accountId: string;
  email: string;
  key: IssuedKey;
  /** Creates another key on the same account. */
  newKey(settings?: { scopes?: string[] }): Promise<IssuedKey>;
}

/** Starts a server (SQLite) with one account and one key. */
export async function startWithKey(
  config: Parameters<typeof startTestServer>[1] = {},
  options: Parameters<typeof startTestServer>[2] = {},
): Promise<ClientFixture> {
  const t = await startTestServer('sqlite', config, options);
  const { store } = t.server.context;
  const email = `client-${Math.random().toString(36).slice(2)}@example.com`;
  const account = await store.accounts.create({ email, password: PASSWORD }, { type: 'system' });
  if (!account.ok) throw new Error(account.code);
  const newKey = async (settings: { scopes?: string[] } = {}) => {
    const key = await store.keys.create(account.value.id, { name: 'client', ...settings }, { type: 'system' });
    if (!key.ok) throw new Error(key.code);
    return key.value;
  };
  return { t, accountId: account.value.id, email, key: await newKey({ scopes: ['read', 'write'] }), newKey };
}

/** A fetch that records the URL and method of every request it sends. */
export function countingFetch(): { fetch: typeof fetch; sent: { method: string; url: string }[] } {
  const sent: { method: string; url: string }[] = [];
  return {
    sent,
    fetch: (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      sent.push({ method: init?.method ?? (input instanceof Request ? input.method : 'GET'), url });
      return fetch(input, init);
    },
  };
}

/** The principal /v1/whoami answers with. */
export interface Whoami {
  principal: {
    accountId: string;
    keyId?: string;
    sessionId?: string;
    scopes: string[];
    method: string;
  };
  body?: unknown;
}
