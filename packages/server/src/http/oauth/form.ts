/**
 * The request body of the OAuth endpoints: `application/x-www-form-urlencoded` (RFC 6749 §3.2,
 * §4.4.2; RFC 7662 §2.1; RFC 7009 §2.1), parsed here, strictly, into a plain record of strings.
 *
 * @packageDocumentation
 */

import { parseForm } from '@keyward/core';
import type { FastifyInstance } from 'fastify';
import { OAuthError } from './errors.js';

/** The media type every OAuth endpoint accepts, and nothing else. */
export const FORM_TYPE = 'application/x-www-form-urlencoded';

/** More parameters than any OAuth request here needs (grant_type, scope, client_id, client_secret, token, hint…). */
const MAX_PARAMS = 32;

// Names that mean something to JavaScript objects: refused outright, whatever the record is made
// of, so that no later code can be surprised by them (as Fastify's JSON parser refuses them).
const POISON = new Set(['__proto__', 'constructor', 'prototype']);

/** Decoded form parameters: each name at most once, empty values left out. No prototype. */
export type OAuthParams = Readonly<Record<string, string>>;

/**
 * Parses a form body. Refuses (as `invalid_request`) a parameter given more than once
 * (RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once"),
 * invalid percent-encoding or UTF-8, too many parameters, and prototype-polluting names. A
 * parameter sent without a value is treated as omitted (RFC 6749 §3.2).
 */
export function parseOAuthForm(body: string): OAuthParams {
  const parsed = parseForm(body, { maxParams: MAX_PARAMS });
  if (!parsed.ok) {
    throw new OAuthError(
      'invalid_request',
      parsed.code === 'too_many_parameters'
        ? `more than ${MAX_PARAMS} parameters`
        : 'the form body is not valid percent-encoded UTF-8',
    );
  }
  const params: Record<string, string> = Object.create(null);
  const seen = new Set<string>();
  for (const [name, value] of parsed.value) {
    if (POISON.has(name)) throw new OAuthError('invalid_request', `parameter name ${name} is not accepted`);
    // Names are echoed only when they are plain tokens: the description must stay printable ASCII.
    const shown = /^[a-z_]{1,40}$/.test(name) ? name : 'a parameter';
    if (seen.has(name)) throw new OAuthError('invalid_request', `${shown} is repeated (RFC 6749 section 3.2)`);
    seen.add(name);
    if (value !== '') params[name] = value;
  }
  return params;
}

/**
 * Makes the form the only body the scope accepts: every other content type is refused by Fastify
 * (and rendered as `invalid_request` by the plugin's error handler), and the form is parsed by
 * {@link parseOAuthForm} before schema validation. Call on an encapsulated instance.
 */
export function acceptFormOnly(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(FORM_TYPE, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseOAuthForm(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
