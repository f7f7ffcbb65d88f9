// Benchmarks of @keyward/core against bare primitives, measured side by side in one run so
// that the ratios hold on a shared, noisy machine. Imports the built package (npm ci builds it).
import { createHmac } from 'node:crypto';
import { percentEncode, prepareOAuth1Secrets, signingKey, signOAuth1, verifyOAuth1 } from '@keyward/core';
import { floorVerifier } from './floor.mjs';

const ORIGIN = 'https://api.example.com';
const KEY_ID = 'kw_kid_3xA5NcWLo3mZPKRvFl1BtJ2Llc5A';
const SECRET = 'kw_sk_AyDOefarog2UM1VLEDM3ghrhZd16Hhvzi9wnvGjjC8p4VQiyK';
const NOW = 1_800_000_000_000;

/** A received request and what the verifier needs for it. */
function scenario({ method, path, signatureMethod, body, contentType }) {
  const signed = signOAuth1({
    method,
    url: ORIGIN + path,
    consumerKey: KEY_ID,
    consumerSecret: SECRET,
    signatureMethod,
    nonce: 'a8f3kz01mQ93xYb7LpTq0w',
    timestamp: NOW / 1000,
    body,
    contentType,
  });
  const input = { method, origin: ORIGIN, target: path, authorization: signed.authorization, body, contentType };
  // The secrets as Keyward's verifier caches them: with their HMAC key prepared once per key.
  const secrets = prepareOAuth1Secrets(SECRET);
  const options = { secrets: () => secrets, now: NOW };
  if (!verifyOAuth1(input, options).ok) throw new Error(`benchmark request does not verify: ${path}`);
  const key = signingKey(SECRET);
  const algorithm = signatureMethod === 'HMAC-SHA1' ? 'sha1' : 'sha256';
  const floor = floorVerifier(secrets, algorithm, percentEncode(ORIGIN));
  // The floor must compute the verifier's signature (accept this request, refuse it altered),
  // or its rate means nothing.
  const tampered = { ...input, target: path.includes('?') ? `${path}x` : `${path}?x=1` };
  if (!floor(input) || floor(tampered) || verifyOAuth1(tampered, options).ok) {
    throw new Error(`floor does not agree with the verifier: ${path}`);
  }
  return {
    verify: () => {
      if (!verifyOAuth1(input, options).ok) throw new Error('verification failed');
    },
    floor: () => {
      if (!floor(input)) throw new Error('floor failed');
    },
    hmac: () => createHmac(algorithm, key).update(signed.baseString).digest('base64'),
  };
}

/** The OAuth 1.0a verification scenarios, with their targets. */
export const coreScenarios = [
  {
    name: 'OAuth 1.0a HMAC-SHA256, GET with 3 query parameters',
    target: 0.5,
    ...scenario({
      method: 'GET',
      path: '/v1/orders?status=open&limit=50&sort=-created',
      signatureMethod: 'HMAC-SHA256',
    }),
  },
  {
    name: 'OAuth 1.0a HMAC-SHA1, POST with a 4-field form body',
    target: 0.5,
    ...scenario({
      method: 'POST',
      path: '/v1/orders',
      signatureMethod: 'HMAC-SHA1',
      body: 'item=widget&qty=3&note=rush+order&ship=express',
      contentType: 'application/x-www-form-urlencoded',
    }),
  },
];
