/**
 * Clock correction for OAuth 1.0a. A server accepts `oauth_timestamp` only within a window around
 * its own clock (RFC 5849 §3.3 leaves the window to the server; Keyward's is ±300 s), so a client
 * whose clock is off by more is refused every time. When a server refuses a timestamp it says
 * what it would accept, and the client moves its own notion of "now" to match.
 *
 * @packageDocumentation
 */

import { keywardErrorCode, oauthProblemOf, readErrorJson } from './errors.js';

/** A clock with an offset learned from the server. */
export class SkewedClock {
  /** Milliseconds to add to the local clock to get the server's. */
  offsetMs = 0;

  constructor(private readonly now: () => number) {}

  /** The server's time as best known, in whole seconds (`oauth_timestamp`, RFC 5849 §3.3). */
  timestamp(): number {
    return Math.floor((this.now() + this.offsetMs) / 1000);
  }

  /** Learns the server's time from a refusal; `localMs` is the local time the response arrived. */
  learn(serverMs: number, localMs: number = this.now()): void {
    this.offsetMs = serverMs - localMs;
  }
}

/**
 * The server's time, in milliseconds, that a timestamp refusal tells, or undefined when the
 * response is not one. A refusal is a 401 whose OAuth challenge says
 * `oauth_problem="timestamp_refused"` (OAuth Problem Reporting §2) or whose body has Keyward's
 * code `timestamp_refused`. The time comes from `oauth_acceptable_timestamps="a-b"` (the middle of
 * the window the server would accept, Problem Reporting §2), else from the `Date` header
 * (RFC 9110 §6.6.1, second precision). Reads a clone of the body, if it reads it at all.
 */
export async function serverTimeFromRefusal(response: Response): Promise<number | undefined> {
  if (response.status !== 401) return undefined;
  const challenge = response.headers.get('www-authenticate') ?? '';
  if (oauthProblemOf(response) !== 'timestamp_refused') {
    const code = keywardErrorCode(await readErrorJson(response.clone()));
    if (code !== 'timestamp_refused') return undefined;
  }
  const range = /\boauth_acceptable_timestamps="(\d{1,12})-(\d{1,12})"/.exec(challenge);
  if (range !== null) {
    const min = Number(range[1]);
    const max = Number(range[2]);
    if (min <= max) return ((min + max) / 2) * 1000;
  }
  const date = Date.parse(response.headers.get('date') ?? '');
  return Number.isNaN(date) ? undefined : date;
}
