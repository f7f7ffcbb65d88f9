/**
 * Route rules: which requests to an API protected at the edge need which credential. One rules
 * file serves `keyward gateway` and `/v1/forward-auth`, so a route is guarded the same way
 * whichever of the two stands in front of it.
 *
 * ```json
 * {
 *   "routes": [
 *     { "prefix": "/health", "public": true },
 *     { "prefix": "/orders", "methods": ["GET"], "scopes": ["read:orders"] },
 *     { "prefix": "/orders", "methods": ["POST"], "scopes": ["write:orders"], "auth": ["oauth1"], "requireBodyHash": true }
 *   ]
 * }
 * ```
 *
 * The most specific rule wins: the longest prefix, on a path-segment boundary (`/orders` matches
 * `/orders` and `/orders/7`, not `/ordersx`), and among equal prefixes a rule naming the
 * request's method before one for every method. With a rules file, a request no rule matches is
 * refused; without one, every path needs a valid credential of any enabled method.
 *
 * @packageDocumentation
 */

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AuthMethod, RouteOptions } from '../verify/types.js';

/** One rule: a path prefix and, optionally, the HTTP methods it is for. */
export interface RouteRule {
  /** Path prefix, starting with `/`; `/` matches every path. */
  readonly prefix: string;
  /** HTTP methods (upper case) the rule is for; every method when absent. */
  readonly methods?: readonly string[] | undefined;
  /** No credential needed (health checks, public documents). */
  readonly public?: boolean | undefined;
  /** Authentication methods accepted; every enabled one when absent. */
  readonly auth?: readonly AuthMethod[] | undefined;
  /** Scopes the principal must all have (403 `insufficient_scope` otherwise). */
  readonly scopes?: readonly string[] | undefined;
  /** OAuth 1.0a requests with a non-form body must carry `oauth_body_hash`. */
  readonly requireBodyHash?: boolean | undefined;
  /**
   * Pass the client's credentials (`Authorization`, `Cookie`) on to the upstream. Default false:
   * the upstream sees the identity headers, never the secret.
   */
  readonly passCredentials?: boolean | undefined;
}

/** The rules in force. */
export interface RouteRules {
  readonly routes: readonly RouteRule[];
  /** Whether a request no rule matches is refused (true with a rules file). */
  readonly denyUnmatched: boolean;
}

/** Without a rules file: every path, every method, any valid credential of an enabled method. */
export const DEFAULT_RULES: RouteRules = { routes: [{ prefix: '/' }], denyUnmatched: false };

// RFC 9110 §5.6.2 token, upper case as methods are compared.
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Z-]+$/;
// RFC 6749 §3.3 scope-token, as key scopes are.
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

const ruleSchema = z
  .object({
    prefix: z
      .string()
      .regex(/^\/[\x21-\x7e]*$/, 'a path starting with "/", visible ASCII, no spaces')
      .max(1024),
    methods: z.array(z.string().regex(METHOD, 'an upper-case HTTP method')).min(1).optional(),
    public: z.boolean().optional(),
    auth: z.array(z.string().min(1).max(64)).min(1).optional(),
    scopes: z.array(z.string().regex(SCOPE, 'a scope token')).max(32).optional(),
    requireBodyHash: z.boolean().optional(),
    passCredentials: z.boolean().optional(),
  })
  .strict()
  .refine((rule) => rule.public !== true || (rule.scopes === undefined && rule.auth === undefined), {
    message: 'a public route takes no scopes or auth methods',
  });

const rulesSchema = z.object({ routes: z.array(ruleSchema).min(1).max(1000) }).strict();

/** A rules file that cannot be used; the message names the file and the field. */
export class RouteRulesError extends Error {
  override readonly name = 'RouteRulesError';
}

/**
 * Checks rules given as a value (the parsed JSON of a rules file). `source` names them in
 * errors. `knownMethods` are the authentication methods the verifier has (an unknown one in a
 * rule is an error, not a route nobody can call).
 */
export function parseRouteRules(value: unknown, source: string, knownMethods: readonly string[]): RouteRules {
  const parsed = rulesSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RouteRulesError(`${source}: ${problems.join('; ')}`);
  }
  parsed.data.routes.forEach((rule, i) => {
    for (const method of rule.auth ?? []) {
      if (!knownMethods.includes(method)) {
        throw new RouteRulesError(
          `${source}: routes.${i}.auth: unknown method "${method}"; expected ${knownMethods.join(', ')}`,
        );
      }
    }
  });
  return { routes: parsed.data.routes, denyUnmatched: true };
}

/** Reads and checks a rules file (JSON). Throws {@link RouteRulesError} naming the file. */
export function loadRouteRules(file: string, knownMethods: readonly string[]): RouteRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new RouteRulesError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not the parser's message: it may quote the file.
    throw new RouteRulesError(`${file}: not valid JSON`);
  }
  return parseRouteRules(value, file, knownMethods);
}

// `prefix` matches `path` on a segment boundary.
function covers(prefix: string, path: string): boolean {
  if (prefix === '/' || prefix === path) return true;
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return path.startsWith(base);
}

/**
 * The rule for a request: the longest matching prefix, a rule naming the method before one for
 * every method; undefined when none matches. `path` is the request path without its query.
 */
export function matchRoute(rules: RouteRules, method: string, path: string): RouteRule | undefined {
  let best: RouteRule | undefined;
  let bestScore = -1;
  const upper = method.toUpperCase();
  for (const rule of rules.routes) {
    if (rule.methods !== undefined && !rule.methods.includes(upper)) continue;
    if (!covers(rule.prefix, path)) continue;
    const score = rule.prefix.length * 2 + (rule.methods === undefined ? 0 : 1);
    if (score > bestScore) {
      best = rule;
      bestScore = score;
    }
  }
  return best;
}

/** What the verifier is asked for a rule (its scopes, body-hash rule and accepted methods). */
export function routeOptions(rule: RouteRule): RouteOptions {
  return {
    ...(rule.scopes === undefined ? {} : { scopes: rule.scopes }),
    ...(rule.requireBodyHash === undefined ? {} : { requireBodyHash: rule.requireBodyHash }),
    ...(rule.auth === undefined ? {} : { methods: rule.auth }),
  };
}
