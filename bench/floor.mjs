// The floor under the core target: the least work any OAuth 1.0a verifier does for the
// benchmark requests, with none of the checks RFC 5849 and Keyward's design require. It is a
// measuring stick, never a verifier: it trusts the header's grammar once one regular
// expression passes, ignores duplicates, where the protocol parameters were sent, the
// timestamp, the nonce and the signature method, and decodes only ASCII escapes.
//
// What it keeps is what no verifier can skip: read the header's name="value" pairs, read the
// query or form body, sort the parameters, build the signature base string, HMAC it (with
// Keyward's prepared key, as the verifier does) and compare in constant time. Its rate beside
// the bare `createHmac` in the same run shows how much of the 0.5 target is left for the checks.
import { constantTimeEqual, percentEncode } from '@keyward/core';

// A well-formed header whose names are unreserved and whose values are unreserved or escapes.
const PLAIN_LIST = /^(?:[ \t,]*[A-Za-z0-9\-._~]+="[A-Za-z0-9\-._~%]*"[ \t]*(?:,|$))*[ \t,]*$/;

/** ASCII `%XX` escapes decoded; enough for a base64 signature. */
function decodeAscii(raw) {
  let out = '';
  let last = 0;
  for (let i = raw.indexOf('%'); i !== -1; i = raw.indexOf('%', last)) {
    out += raw.slice(last, i) + String.fromCharCode(Number.parseInt(raw.slice(i + 1, i + 3), 16));
    last = i + 3;
  }
  return out + raw.slice(last);
}

/** A name or value as sent, in its base-string form: '%' as '%25'. */
function twice(text) {
  return text.includes('%') ? text.replaceAll('%', '%25') : text;
}

/** `a=1&b=2` into the two lists, each part in its base-string form ('+', a space, as '%2520'). */
function pushForm(text, names, values) {
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    const eq = text.indexOf('=', start);
    names.push(twice(text.slice(start, eq)));
    const value = twice(text.slice(eq + 1, end));
    values.push(value.includes('+') ? value.replaceAll('+', '%2520') : value);
    start = end + 1;
  }
}

/**
 * A function that returns true when `input` (as `verifyOAuth1` takes it) carries a correct
 * signature under `secrets` (from `prepareOAuth1Secrets`), doing only the unavoidable steps.
 * `encodedOrigin` is the public origin, normalized and percent-encoded: configuration, the same
 * on every request, as the verifier keeps it.
 */
export function floorVerifier(secrets, algorithm, encodedOrigin) {
  return (input) => {
    const header = input.authorization;
    const credentials = header.slice(header.indexOf(' ') + 1);
    if (!PLAIN_LIST.test(credentials)) return false;
    const names = [];
    const values = [];
    let signature = '';
    for (let i = 0; ; ) {
      let c = credentials.charCodeAt(i);
      while (c === 0x20 || c === 0x2c) c = credentials.charCodeAt(++i);
      if (i >= credentials.length) break;
      const eq = credentials.indexOf('=', i);
      const close = credentials.indexOf('"', eq + 2);
      const name = credentials.slice(i, eq);
      const value = credentials.slice(eq + 2, close);
      if (name === 'oauth_signature') signature = decodeAscii(value);
      else {
        names.push(name);
        values.push(twice(value));
      }
      i = close + 1;
    }
    const q = input.target.indexOf('?');
    const path = q === -1 ? input.target : input.target.slice(0, q);
    if (q !== -1) pushForm(input.target.slice(q + 1), names, values);
    if (input.body !== undefined) pushForm(input.body, names, values);
    for (let i = 1; i < names.length; i++) {
      const name = names[i];
      const value = values[i];
      let j = i - 1;
      for (; j >= 0 && (names[j] > name || (names[j] === name && values[j] > value)); j--) {
        names[j + 1] = names[j];
        values[j + 1] = values[j];
      }
      names[j + 1] = name;
      values[j + 1] = value;
    }
    let base = `${input.method}&${encodedOrigin}${percentEncode(path)}&`;
    for (let i = 0; i < names.length; i++) base += `${i === 0 ? '' : '%26'}${names[i]}%3D${values[i]}`;
    return constantTimeEqual(secrets.hmacKey.digestBase64(algorithm, base), signature);
  };
}
