// A verifier on a fresh store with one account and one key, a frozen clock, and request
// builders, for the per-method security suites.
import { identify, signOAuth1 } from '@keyward/core';
import { MemoryNonceStore, type NonceStore, SqlNonceStore } from '../../src/state/nonces.js';
import type { IssuedKey, KeySettings, Store } from '../../src/store/index.js';
import { createVerifier, type Verifier, type VerifierOptions, type VerifyRequest } from '../../src/verify/index.js';
import type { Engine } from './databases.js';
import { freshStore } from './stores.js';

export const ORIGIN = 'https://api.example.com';
export const PASSWORD = 'correct horse battery staple';
export const actor = { type: 'cli', id: 'tester' } as const;

export interface Harness {
  store: Store;
  clock: { t: number };
  key: IssuedKey;
  verifier: Verifier;
  nonces: NonceStore;
  /** A new key on the same account. */
  newKey(settings?: KeySettings): Promise<IssuedKey>;
  /** A new verifier on the same store, with other options. */
  rebuild(options?: Partial<VerifierOptions>): Verifier;
  cleanup(): Promise<void>;
}

export async function harness(
  options: Partial<VerifierOptions> & { engine?: Engine; sqlNonces?: boolean; keySettings?: KeySettings } = {},
): Promise<Harness> {
  const { store, clock, cleanup } = await freshStore(options.engine ?? 'sqlite');
  const now = { now: () => clock.t };
  const created = await store.accounts.create({ email: 'ada@example.com', password: PASSWORD }, actor);
  if (!created.ok) throw new Error(created.code);
  const newKey = async (settings: KeySettings = {}) => {
    const k = await store.keys.create('ada@example.com', { name: 'test', scopes: ['read:orders'], ...settings }, actor);
    if (!k.ok) throw new Error(k.code);
    return k.value;
  };
  const key = await newKey(options.keySettings);
  const nonces =
    options.sqlNonces === true ? new SqlNonceStore(store.context.db, now) : new MemoryNonceStore({ clock: now });
  const rebuild = (more: Partial<VerifierOptions> = {}) =>
    createVerifier({ store, nonces, origin: ORIGIN, clock: now, onError: () => {}, ...options, ...more });
  return { store, clock, key, verifier: rebuild(), nonces, newKey, rebuild, cleanup };
}

/** A request from loopback over plain HTTP unless told otherwise. */
export function request(overrides: Partial<VerifyRequest> = {}): VerifyRequest {
  return { method: 'GET', url: '/v1/orders', headers: {}, remoteAddress: '127.0.0.1', secure: false, ...overrides };
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

export function rawParts(token: string): { id: string; secret: string } {
  const p = identify(token);
  if (p?.id === undefined || p.secret === undefined) throw new Error('not a token');
  return { id: p.id, secret: p.secret };
}

let nonceCounter = 0;

/** A request signed with OAuth 1.0a by core's signer, as the server receives it. */
export function signed(
  key: { id: string; secret: string },
  clock: { t: number },
  init: {
    method?: string;
    path?: string;
    body?: string;
    contentType?: string;
    bodyHash?: boolean;
    nonce?: string;
    timestamp?: number;
    signatureMethod?: 'HMAC-SHA256' | 'HMAC-SHA1' | 'PLAINTEXT';
    token?: string;
    tokenSecret?: string;
    origin?: string;
  } = {},
): VerifyRequest {
  const method = init.method ?? 'GET';
  const path = init.path ?? '/v1/orders?status=open';
  const s = signOAuth1({
    method,
    url: (init.origin ?? ORIGIN) + path,
    consumerKey: key.id,
    consumerSecret: key.secret,
    token: init.token,
    tokenSecret: init.tokenSecret,
    signatureMethod: init.signatureMethod ?? 'HMAC-SHA256',
    nonce: init.nonce ?? `nonce-${++nonceCounter}`,
    timestamp: init.timestamp ?? Math.floor(clock.t / 1000),
    body: init.body,
    contentType: init.contentType,
    bodyHash: init.bodyHash,
  });
  const headers: Record<string, string> = { authorization: s.authorization };
  if (init.contentType !== undefined) headers['content-type'] = init.contentType;
  return request({ method, url: path, headers, body: init.body });
}
