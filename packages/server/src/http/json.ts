/**
 * The strict JSON body parser of every route: on top of `JSON.parse`, it
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
      // The key itself is not quoted back: no input is echoed in an error message.
      if (top.keys.has(key)) return 'a key appears twice in one object';
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

/**
 * Whether a parsed value holds a number `JSON.parse` turned into `Infinity` (`1e999`, a
 * thousand-digit integer). RFC 7493 §2.2 (I-JSON): numbers must fit an IEEE 754 double; such a
 * value would be stored and answered as `null`, not as what was sent. Called after
 * {@link jsonProblem}, so the nesting is bounded; walked with a stack all the same.
 */
function hasUnboundedNumber(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return true;
    } else if (v !== null && typeof v === 'object') {
      // One push at a time: spreading a 500,000-element array would overflow the argument limit.
      for (const item of Array.isArray(v) ? v : Object.values(v)) pending.push(item);
    }
  }
  return false;
}

/** A 400 error Fastify's error handler maps to `invalid_input`. */
function badJson(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/**
 * Makes `application/json` the only body type of an instance, parsed by {@link jsonProblem}'s
 * rules. The app calls it on the root instance, before any route or plugin, so that no route is
 * left with Fastify's default parser (which has no depth limit: a body nested a few thousand
 * deep parses, then throws a `RangeError` wherever it is serialised). A route module calls it
 * again at its top (not wrapped in fastify-plugin) to drop a parser a plugin added at the root,
 * such as the form parser.
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
    const problem = jsonProblem(text) ?? (hasUnboundedNumber(value) ? 'a number is out of range' : undefined);
    if (problem !== undefined) done(badJson(problem), undefined);
    else done(null, value);
  });
}
