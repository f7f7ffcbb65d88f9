// What the HTTP and gateway benchmarks share: unique OAuth 1.0a nonces for the whole run, the
// tutorial's signer (node-oauth), and one autocannon load of a variant that counts only 2xx
// answers and fails the run on anything else.
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import oauth from 'oauth';

/** Unique nonces for the whole run: a random prefix and a counter, 32 characters like node-oauth's. */
const NONCE_PREFIX = randomBytes(16).toString('hex').slice(0, 22);
let nonceCounter = 0;
export const nextNonce = () => NONCE_PREFIX + (nonceCounter++).toString(36).padStart(10, '0');

/** node-oauth, as the tutorial's client uses it, with our nonce and timestamp. */
export function signer(consumerKey, consumerSecret) {
  const client = new oauth.OAuth(null, null, consumerKey, consumerSecret, '1.0', null, 'HMAC-SHA1');
  let nonce = '';
  let timestamp = 0;
  client._getNonce = () => nonce;
  client._getTimestamp = () => timestamp;
  return (url, n, t) => {
    nonce = n;
    timestamp = t;
    return client.authHeader(url, null, null, 'GET');
  };
}

function signPool(variant, count) {
  const t = Math.floor(Date.now() / 1000);
  const pool = new Array(count);
  for (let i = 0; i < count; i++) pool[i] = variant.sign(variant.url, nextNonce(), t);
  return pool;
}

/**
 * `seconds` of autocannon load on `variant` (`{ name, url, headers?, sign? }`): signed variants
 * send a different pre-signed request each time (`poolSize` of them), the others repeat one
 * request. Resolves the 2xx count, the seconds until the last answer, and autocannon's result;
 * throws on any non-2xx answer, socket error or timeout, or when the signed requests ran out
 * (`knobs` names the settings to change then, e.g. `BENCH_HTTP`).
 */
export async function load(variant, { seconds, connections, poolSize, knobs }) {
  const options = {
    url: variant.url,
    connections,
    pipelining: 1,
    duration: seconds,
    headers: variant.headers ?? {},
  };
  let pool;
  let next = 0;
  let exhausted = false;
  if (variant.sign !== undefined) {
    pool = signPool(variant, poolSize);
    options.requests = [
      {
        setupRequest: (req) => {
          // Out of signed requests: autocannon cannot stop here, so repeat the last one (a replay
          // that Keyward refuses) and fail the run below.
          if (next >= pool.length) exhausted = true;
          req.headers = { ...req.headers, authorization: pool[Math.min(next++, pool.length - 1)] };
          return req;
        },
      },
    ];
  }
  const statuses = {};
  let ok = 0;
  let notOk = 0;
  const start = performance.now();
  let last = start;
  const run = autocannon(options);
  run.on('response', (_client, status) => {
    last = performance.now();
    if (status >= 200 && status < 300) ok++;
    else {
      notOk++;
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  });
  const result = await run;
  if (exhausted) {
    throw new Error(
      `${variant.name}: ran out of ${pool.length} pre-signed requests in ${seconds} s; raise ${knobs}_MAX_SIGNED or lower ${knobs}_SECONDS`,
    );
  }
  if (notOk > 0 || result.errors > 0 || result.timeouts > 0) {
    // One more request, for what the refusal says.
    const probe = await fetch(variant.url, { headers: variant.headers ?? {}, signal: AbortSignal.timeout(5000) }).then(
      async (res) => `${res.status} ${(await res.text()).slice(0, 300)}`,
      (error) => String(error),
    );
    throw new Error(
      `${variant.name}: ${notOk} non-2xx responses ${JSON.stringify(statuses)}, ${result.errors} errors, ${result.timeouts} timeouts during the measurement; now: ${probe}`,
    );
  }
  return { ok, elapsed: (last - start) / 1000, result };
}
