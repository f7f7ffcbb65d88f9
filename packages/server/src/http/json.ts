/**
 * A strict JSON body parser for the admin, verify and account APIs: on top of `JSON.parse`, it
 * refuses a key that appears twice in one object (`JSON.parse` silently keeps the last one, so
 * two layers reading the same text could disagree on what was sent), `__proto__` keys and
 * `constructor.prototype` (prototype poisoning), nesting deeper than {@link MAX_JSON_DEPTH},
 * and every other content type (415).
 *
 * @packageDocumentation
 */

import type { FastifyInstance } from 'fastify';

/**
 * Deepest nesting of objects and arrays accepted. `JSON.parse` copes with any depth, but
 * `JSON.stringify` (the store writes key metadata with it) recurses and throws past a few
 * thousand levels: a small body could turn into a 500 without this cap.
 */
export const MAX_JSON_DEPTH = 32;

/** Why a JSON text is refused although it parses, or undefined when it is fine. */
export function jsonProblem(text: string): string | undefined {
  // One frame per open object or array; `keys` is null for arrays. A linear scan with an
  // explicit stack: no recursion, so nesting depth cannot overflow the call stack.
  const stack: { keys: Set<string> | null; parentKey: string | undefined }[] = [];
  let pendingKey: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      let j = i + 1;
      while (j < text.length && /\s/.test(text.charAt(j))) j++;
      const top = stack.at(-1);
      if (text.charAt(j) !== ':' || top?.keys === null || top === undefined) continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (key === '__proto__') return 'a "__proto__" key is not accepted';
      if (key === 'prototype' && top.parentKey === 'constructor')
        return 'a "constructor.prototype" key is not accepted';
      if (top.keys.has(key)) return `the key "${key.slice(0, 64)}" appears twice in one object`;
      top.keys.add(key);
      pendingKey = key;
    } else if (c === 0x7b /* { */) {
      if (stack.length >= MAX_JSON_DEPTH) return `the JSON is nested deeper than ${MAX_JSON_DEPTH} levels`;
      stack.push({ keys: new Set(), parentKey: pendingKey });
      pendingKey = undefined;
    } else if (c === 0x5b /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) return `the JSON is nested deeper than ${MAX_JSON_DEPTH} levels`;
      stack.push({ keys: null, parentKey: undefined });
      pendingKey = undefined;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    }
  }
  return undefined;
}

/** A 400 error Fastify's error handler maps to `invalid_input`. */
function badJson(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/**
 * Makes `application/json` the only body type of an encapsulated scope, parsed by
 * {@link jsonProblem}'s rules. Call it at the top of a route module (not wrapped in
 * fastify-plugin): other modules keep their own parsers.
 */
export function useStrictJson(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(badJson('the JSON body is empty'), undefined);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // The parser's message may quote the body; say only that it is not JSON.
      done(badJson('the body is not valid JSON'), undefined);
      return;
    }
    const problem = jsonProblem(text);
    if (problem !== undefined) done(badJson(problem), undefined);
    else done(null, value);
  });
}
