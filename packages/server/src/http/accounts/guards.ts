/**
 * What the password-bearing routes (register, login, password change) put in front of
 * themselves: the client address, the transport rule for secrets, and the attempt limits.
 *
 * @packageDocumentation
 */

import type { FastifyRequest } from 'fastify';
import { guardKey, type Limit } from '../../state/limiter.js';
import { normalizeEmail } from '../../store/accounts.js';
import { clientTransport, type ServerContext } from '../context.js';
import { ApiError } from '../errors.js';

/**
 * The request's client address: what a session is bound to and what limits count by. Fastify
 * derives it through the configured trusted proxies only, walking `X-Forwarded-For` from the
 * right as the verifier does, so a session is bound to the address the verifier will compare.
 */
export function clientIp(request: FastifyRequest): string {
  return request.ip;
}

/**
 * A guard that refuses a password sent over plain HTTP from anywhere but loopback, unless a
 * trusted proxy says the client used HTTPS: the rule the verifier applies to every
 * secret-bearing method (design "Security rules"; ASVS 4 §9.1.1), applied to passwords too.
 */
export function secureTransportGuard(ctx: ServerContext): (request: FastifyRequest) => void {
  return (request) => {
    const transport = clientTransport(ctx, request);
    if (!transport.secure && !transport.loopback) {
      throw new ApiError('transport_insecure', 'send passwords over HTTPS');
    }
  };
}

function tooMany(retryAfter: number): ApiError {
  // RFC 6585 §4: 429 with Retry-After (RFC 9110 §10.2.3) in seconds.
  return new ApiError('rate_limited', undefined, { 'retry-after': String(retryAfter) });
}

/**
 * One password-checking attempt, counted on entry against each of `keys` and taken back when
 * the password was right, so that the limits count failures, not attempts.
 */
export interface Attempt {
  /** The password was right: takes back the counts made on entry. */
  succeeded(): Promise<void>;
  /** The password was wrong: the counts made on entry stay (and the account's delay grows). */
  failed(): Promise<void>;
}

// Counting on entry (and taking back on success) rather than checking on entry and counting on
// failure: a password check takes an argon2id hash, and parallel guesses would all pass a
// "still under the limit?" check before the first failure was counted. Counted on entry, at
// most `limit` guesses are ever in flight or failed per window.
async function enter(ctx: ServerContext, keys: readonly (readonly [string, Limit])[]): Promise<() => Promise<void>> {
  const counted: string[] = [];
  const undo = async (): Promise<void> => {
    for (const key of counted) await ctx.limiter.undo(key);
  };
  for (const [key, limit] of keys) {
    const { allowed, retryAfter } = await ctx.limiter.hit(key, limit);
    counted.push(key);
    if (!allowed) throw tooMany(retryAfter);
  }
  return undo;
}

/**
 * The delay before a login answer for an account with `failures` recent failed logins:
 * `baseMs` after one, doubled per further failure, at most `maxMs`; 0 without failures.
 */
export function loginDelayMs(failures: number, delay: { baseMs: number; maxMs: number }): number {
  if (failures <= 0) return 0;
  // 2^(failures - 1) overflows to Infinity past 1023, which the cap turns into maxMs.
  return Math.min(delay.maxMs, delay.baseMs * 2 ** (failures - 1));
}

/**
 * Starts one login attempt: waits the account's delay, then counts the attempt against the
 * client address (`loginsPerIp`) and against the account from this address
 * (`loginsPerAccount`), throwing 429 `rate_limited` with `Retry-After` when either is over.
 * The account is keyed by the normalized email whether or not an account has it, so the
 * answer and its timing are alike for unknown addresses.
 *
 * No limit refuses the owner because of a stranger: the per-account counter across addresses
 * only delays (exponentially, capped at `loginDelayMaxMs`, on every attempt while the account
 * has failures in the window), it never locks; the owner's right password from her own
 * address succeeds after at most that delay. A successful attempt takes its counts back.
 */
export async function countLoginAttempt(ctx: ServerContext, request: FastifyRequest, email: string): Promise<Attempt> {
  const ip = clientIp(request);
  // Encoded: an email's '@' would otherwise read as the address separator of a guard key.
  const account = encodeURIComponent(normalizeEmail(email));
  const { loginsPerIp, loginsPerAccount } = ctx.config.limits;
  const loginDelay = { baseMs: ctx.config.loginDelayBaseMs, maxMs: ctx.config.loginDelayMaxMs };
  const accountFailures = guardKey(`login:${account}`);
  const wait = loginDelayMs(await ctx.limiter.count(accountFailures), loginDelay);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const undo = await enter(ctx, [
    [guardKey('login', ip), loginsPerIp],
    [guardKey(`login:${account}`, ip), loginsPerAccount],
  ]);
  return {
    succeeded: undo,
    async failed() {
      // Counted only to set the delay, never compared with a limit: the limit is "unbounded".
      await ctx.limiter.hit(accountFailures, {
        limit: Number.MAX_SAFE_INTEGER,
        windowSeconds: loginsPerAccount.windowSeconds,
      });
    },
  };
}

/**
 * Starts one password change (each checks the current password): counted against the account
 * from this address (`loginsPerAccount`) and against the address (`loginsPerIp`), taken back
 * when the current password was right. A stolen session must not become a way to guess the
 * password faster than logging in would; counters of their own, so that changing a password
 * never uses up logins.
 */
export async function countPasswordChange(
  ctx: ServerContext,
  request: FastifyRequest,
  accountId: string,
): Promise<Attempt> {
  const ip = clientIp(request);
  const { loginsPerIp, loginsPerAccount } = ctx.config.limits;
  const undo = await enter(ctx, [
    [guardKey('password', ip), loginsPerIp],
    [guardKey(`password:${accountId}`, ip), loginsPerAccount],
  ]);
  return { succeeded: undo, failed: async () => undefined };
}

/**
 * Counts one registration against the client address (IPv6 by /64), with the per-address
 * login limit: each costs an argon2id hash whether it succeeds or not, and each `email_taken`
 * answer tells whether an address has an account, so attempts (not failures) are what is
 * bounded. A counter of its own, so that signing up never uses up the logins of an address.
 */
export async function countRegistration(ctx: ServerContext, request: FastifyRequest): Promise<void> {
  await enter(ctx, [[guardKey('register', clientIp(request)), ctx.config.limits.loginsPerIp]]);
}
