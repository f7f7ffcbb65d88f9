/**
 * Accounts, sessions and self-service keys: registration, login and logout, the session list,
 * password change, and an account's own API keys. Registered by the app as one encapsulated
 * scope, whose body parser, body limit and headers apply to these routes only.
 *
 * @packageDocumentation
 */

import type { RouteModule } from '../context.js';
import { useStrictJson } from '../json.js';
import { RESOURCE_BODY_LIMIT } from '../resources.js';
import { meRoutes } from './account.js';
import { keyRoutes } from './keys.js';
import { loginRoutes } from './login.js';
import { passwordRoutes } from './password.js';
import { registerRoutes } from './register.js';
import { sessionRoutes } from './sessions.js';
import { keyUsageRoutes } from './usage.js';

/** Accounts, sessions and self-service keys. */
export const accountRoutes: RouteModule = async (app) => {
  // JSON only, parsed strictly (../json.ts): duplicated members, prototype keys and deep
  // nesting are a 400; any other type is a 415, form bodies too (the Keyward plugin accepts them
  // app-wide for OAuth 1.0a): nothing here is a form, and a second encoding is a second way to
  // smuggle a field.
  useStrictJson(app);
  // The bodies here are small: a smaller cap than the app's, unless a route sets its own (the
  // admin API has the same, so that a body refused here for its size is refused there too).
  const bodyLimit = Math.min(RESOURCE_BODY_LIMIT, app.kw.config.bodyLimitBytes);
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= bodyLimit;
  });
  // Every answer here is one account's private data, and some hold a token or secret shown
  // once: never stored by a cache (RFC 9111 §5.2.2.5; ASVS 4 §8.2.1), like RFC 6749 §5.1 tokens.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });
  await app.register(registerRoutes);
  await app.register(loginRoutes);
  await app.register(sessionRoutes);
  await app.register(meRoutes);
  await app.register(passwordRoutes);
  await app.register(keyRoutes);
  await app.register(keyUsageRoutes);
};
