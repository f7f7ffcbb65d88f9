/**
 * The web console's files: the single-page app that `packages/console` builds into
 * `packages/server/dist/console/` (shipped in this package's tarball with the rest of `dist/`),
 * served at `/console/` by this server, so the console needs no server of its own.
 *
 * Every answer under `/console` carries a strict Content-Security-Policy: scripts, styles, images
 * and calls from this origin only, nothing framed, nothing posted elsewhere. The component
 * library writes its theme into `<style>` elements at run time: those carry a nonce made for
 * each page load (W3C CSP3 §6.7.2.3), given to the app in a `<meta>` element of the page; no
 * inline script is allowed at all.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import type { RouteModule } from '../context.js';
import { ApiError } from '../errors.js';

/** Where the console's build is: `dist/console/` of this package, from `src/` and `dist/` alike. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

/** Where the built page puts the per-response nonce. */
const NONCE_PLACEHOLDER = '__KEYWARD_CSP_NONCE__';

/** The console's policy, with the nonce of its `<style>` elements. */
export function consoleCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** `/console`, `/console/`, `/console/assets/*` and every other `/console/*` path (the app's own routes). */
export const consoleStaticRoutes: RouteModule = async (app) => {
  const indexFile = `${CONSOLE_DIR}index.html`;
  const built = existsSync(indexFile);
  const page = built ? readFileSync(indexFile, 'utf8') : undefined;
  if (!built) app.log.warn({ dir: CONSOLE_DIR }, 'the web console is not built (npm run build): /console answers 404');

  // Every answer here, errors included: the policy, no referrer, no opener from another origin.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', consoleCsp('none'));
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('x-frame-options', 'DENY');
    return payload;
  });

  const sendPage = (reply: FastifyReply) => {
    if (page === undefined) throw new ApiError('not_found', 'the web console is not built on this server');
    // 128 bits from the system's CSPRNG, base64 (CSP3 §2.3.1 nonce-source).
    const nonce = randomBytes(16).toString('base64');
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', consoleCsp(nonce))
      .header('cache-control', 'no-store')
      .send(page.replaceAll(NONCE_PLACEHOLDER, nonce));
  };

  const schema = { hide: true };
  app.get('/console', { schema }, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console/', { schema }, async (_request, reply) => sendPage(reply));
  // The app's own paths (/console/keys/…): the page, whose router shows them.
  app.get('/console/*', { schema }, async (_request, reply) => sendPage(reply));

  if (built) {
    // Content-hashed names: a file never changes under its name, so caches may keep it
    // (unless the request was credentialed: the server's headers hook says no-store then).
    await app.register(fastifyStatic, {
      root: `${CONSOLE_DIR}assets`,
      prefix: '/console/assets/',
      decorateReply: false,
      index: false,
      dotfiles: 'deny',
      cacheControl: true,
      immutable: true,
      maxAge: '365d',
      schemaHide: true,
    });
  }
};
