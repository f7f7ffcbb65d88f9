// Calls to the Keyward server's own API, from the same origin. The session is an HttpOnly cookie
// the page never sees; every call carries the CSRF token the sign-in gave (X-CSRF-Token).

/** A refusal or failure of the server, in its one error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
let onSignedOut: (() => void) | undefined;

/** Sets the CSRF token of the current session (undefined: signed out). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when the server says the session is gone (401), so the app shows the sign-in page. */
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

/** One JSON call; rejects with {@link ApiError}. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const json = text === '' ? undefined : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; requestId?: string } } | undefined)?.error;
    const failure = new ApiError(
      response.status,
      error?.code ?? 'http_error',
      error?.message ?? `The server answered ${response.status}.`,
      error?.requestId,
    );
    if (response.status === 401 && path !== '/v1/console/session') onSignedOut?.();
    throw failure;
  }
  return json as T;
}

/** A query string from the defined values of `params`. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(name, String(value));
  }
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

// ----- The server's resources, as the console reads them.

export interface Account {
  id: string;
  email: string;
  displayName: string | null;
  role: 'admin' | 'member';
  status: 'active' | 'disabled';
  createdAt: number;
  updatedAt: number;
}

export interface Session {
  id: string;
  accountId: string;
  signed: boolean;
  clientIp: string;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  expiresAt: number;
  revokedAt: number | null;
  active: boolean;
  current: boolean;
}

export type KeyMethod = 'basic' | 'api-key' | 'oauth2' | 'oauth1';
export const KEY_METHODS: readonly KeyMethod[] = ['basic', 'api-key', 'oauth2', 'oauth1'];

export interface Key {
  id: string;
  accountId: string;
  name: string;
  scopes: string[];
  methods: KeyMethod[] | null;
  expiresAt: number | null;
  status: 'active' | 'disabled' | 'revoked';
  metadata: Record<string, unknown>;
  rateLimit: { limit: number; windowSeconds: number } | null;
  createdAt: number;
  updatedAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
  useCount: number;
}

/** A key with its secret and bearer token, as creation and rotation answer (shown once). */
export interface IssuedKey {
  id: string;
  secret: string;
  token: string;
  key: Key;
  graceSeconds?: number;
}

export interface UsageRow {
  hour: number;
  method: string;
  outcome: 'accepted' | 'refused';
  code: string | null;
  count: number;
}

export interface Usage {
  from: number;
  to: number;
  hours: UsageRow[];
}

export interface RefusalRow {
  keyId?: string;
  hour: number;
  method: string;
  code: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  addresses: string[];
}

export interface AuditEvent {
  id: string;
  at: number;
  actor: { type: 'account' | 'key' | 'cli' | 'system'; id: string | null };
  action: string;
  object: { type: string; id: string | null };
  ip: string | null;
  detail: Record<string, unknown> | null;
}

/** What the console's sign-in answers. */
export interface ConsoleSession {
  csrfToken: string;
  account: Account;
  session: Session;
}
