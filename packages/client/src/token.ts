/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) on the client side: gets an access token, keeps it
 * while it is good, refreshes it shortly before it expires, and makes concurrent callers share one
 * token request instead of each sending their own.
 *
 * @packageDocumentation
 */

import { errorFromResponse, KeywardError } from './errors.js';

/** What a {@link TokenSource} needs. */
export interface TokenSourceOptions {
  readonly tokenUrl: URL;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated scopes to ask for (RFC 6749 §3.3), or undefined for the key's own. */
  readonly scope?: string | undefined;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
}

/** A token as held by the client. */
interface HeldToken {
  readonly value: string;
  /** Local time after which a new token is fetched first; undefined when the server gave no lifetime. */
  readonly refreshAt: number | undefined;
  /** Local time the token stops being usable. */
  readonly expiresAt: number | undefined;
}

/** At most this long before expiry a token is replaced (less for tokens that live under two minutes). */
const REFRESH_MARGIN_MS = 60_000;

/**
 * `application/x-www-form-urlencoded` encoding of one value (WHATWG URL §5.2, the serializer
 * HTML forms use), as RFC 6749 §2.3.1 requires for the client id and secret in Basic
 * credentials, so that a `:` or non-ASCII character in either survives the trip.
 */
export function formUrlEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * The `Authorization` header value of `client_secret_basic` (RFC 6749 §2.3.1): Basic with the
 * form-encoded client id and secret.
 */
export function clientSecretBasic(clientId: string, clientSecret: string): string {
  const pair = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

function invalidResponse(response: Response, message: string): KeywardError {
  return new KeywardError({
    code: 'invalid_token_response',
    status: response.status,
    message,
    requestId: response.headers.get('x-request-id') ?? undefined,
  });
}

/** A cache of one access token with single-flight refresh. */
export class TokenSource {
  private held: HeldToken | undefined;
  private pending: Promise<HeldToken> | undefined;

  constructor(private readonly options: TokenSourceOptions) {}

  /**
   * A usable access token: the held one while it is fresh; otherwise a new one, fetched once for
   * every caller waiting at that moment. When a refresh ahead of expiry fails and the held token
   * has not expired yet, the held token is used and the next call tries again. Rejects with a
   * {@link KeywardError} when the token endpoint refuses (RFC 6749 §5.2).
   */
  async get(): Promise<string> {
    const held = this.held;
    const now = this.options.now();
    if (held !== undefined && (held.refreshAt === undefined || now < held.refreshAt)) return held.value;
    try {
      return (await this.refresh()).value;
    } catch (error) {
      if (held !== undefined && held.expiresAt !== undefined && this.options.now() < held.expiresAt) {
        return held.value;
      }
      throw error;
    }
  }

  /**
   * Forgets `token` after the resource server called it invalid (RFC 6750 §3.1 `invalid_token`):
   * the next {@link get} fetches a new one. A token other than the held one is ignored, so a
   * late refusal of an old token does not throw away a new one another request just fetched.
   */
  invalidate(token: string): void {
    if (this.held?.value === token) this.held = undefined;
  }

  private refresh(): Promise<HeldToken> {
    this.pending ??= this.request().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async request(): Promise<HeldToken> {
    const { tokenUrl, clientId, clientSecret, scope, fetch, now } = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== undefined && scope !== '') form.set('scope', scope);
    const sentAt = now();
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: {
        authorization: clientSecretBasic(clientId, clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form.toString(),
      // A token endpoint never redirects a client to post its secret elsewhere.
      redirect: 'error',
    });
    if (!response.ok) throw await errorFromResponse(response);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw invalidResponse(response, 'the token response is not JSON (RFC 6749 §5.1)');
    }
    const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const value = fields.access_token;
    if (typeof value !== 'string' || value === '') {
      throw invalidResponse(response, 'the token response has no access_token (RFC 6749 §5.1)');
    }
    // RFC 6749 §5.1: token_type is case-insensitive; this client only knows how to send Bearer.
    if (typeof fields.token_type !== 'string' || fields.token_type.toLowerCase() !== 'bearer') {
      throw invalidResponse(response, 'the token response is not a Bearer token (RFC 6749 §7.1)');
    }
    // expires_in is RECOMMENDED, not required (§5.1); without it, the token is kept until a
    // resource server calls it invalid. Some servers send it as a string.
    const lifetime = Number(fields.expires_in);
    let expiresAt: number | undefined;
    let refreshAt: number | undefined;
    if (fields.expires_in !== undefined && Number.isFinite(lifetime) && lifetime > 0) {
      // Counted from when the request was sent: the server started the clock no earlier.
      expiresAt = sentAt + lifetime * 1000;
      refreshAt = expiresAt - Math.min(REFRESH_MARGIN_MS, (lifetime * 1000) / 2);
    }
    const held: HeldToken = { value, refreshAt, expiresAt };
    this.held = held;
    return held;
  }
}
