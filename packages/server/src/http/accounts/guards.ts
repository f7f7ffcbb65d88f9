/**
 * What the password-bearing routes (register, login, password change) put in front of
 * themselves: the client address, the transport rule for secrets, and the attempt limits.
 *
 * @packageDocumentation
 */

import type { FastifyRequest } from 'fastify';
import type { Limit } from '../../state/limiter.js';
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

async function hit(ctx: ServerContext, key: string, limit: Limit): Promise<void> {
  const { allowed, retryAfter } = await ctx.limiter.hit(key, limit);
  // RFC 6585 §4: 429 with Retry-After (RFC 9110 §10.2.3) in seconds.
  if (!allowed) throw new ApiError('rate_limited', undefined, { 'retry-after': String(retryAfter) });
}

/**
 * Counts one login attempt against the client address and against the account, and throws 429
 * `rate_limited` with `Retry-After` when either is over its limit (`loginsPerIp`,
 * `loginsPerAccount`; ASVS 4 §2.2.1). The account is keyed by the normalized email whether or
 * not an account has it, so the limit answers alike for unknown addresses and tells nothing
 * about which exist.
 *
 * Every attempt counts, successful ones too, as the settings' names say (logins, not failures):
 * the limiter cannot take a hit back, and counting before the password is checked closes the
 * race in which many parallel guesses all pass a "still under the limit?" check before the
 * first failure is recorded.
 */
export async function countLoginAttempt(ctx: ServerContext, request: FastifyRequest, email: string): Promise<void> {
  await hit(ctx, `login:ip:${clientIp(request)}`, ctx.config.limits.loginsPerIp);
  await hit(ctx, `login:account:${normalizeEmail(email)}`, ctx.config.limits.loginsPerAccount);
}

/**
 * Counts one password change (each checks the current password) against the account, with the
 * per-account login limit: a stolen session must not become a way to guess the password faster
 * than logging in would. A counter of its own, so that changing a password never uses up logins.
 */
export function countPasswordChange(ctx: ServerContext, accountId: string): Promise<void> {
  return hit(ctx, `password:account:${accountId}`, ctx.config.limits.loginsPerAccount);
}

/**
 * Counts one registration against the client address, with the per-address login limit: each
 * costs an argon2id hash, and each `email_taken` answer tells whether an address has an
 * account, so both are worth bounding. A counter of its own, so that signing up never uses up
 * the logins of an address.
 */
export function countRegistration(ctx: ServerContext, request: FastifyRequest): Promise<void> {
  return hit(ctx, `register:ip:${clientIp(request)}`, ctx.config.limits.loginsPerIp);
}
