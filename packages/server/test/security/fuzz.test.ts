// Fuzzing every HTTP route with fast-check (issue 16): generated methods, paths, headers and
// bodies. Properties: never a 5xx; never a crash or a hang (each request is bounded); never a
// 2xx on a protected route without valid credentials (the fuzzer holds none: real key ids
// appear, their secrets never). FUZZ_RUNS sets the runs per property (default 300, bounded for
// `npm test`); `npm run fuzz` runs this file with 20,000 and prints the counts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { newClient } from '../support/oauth.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { UNLIMITED } from './attack-kit.js';
import {
  authorization,
  body,
  extraHeaders,
  isPublic,
  method,
  nested,
  path,
  ROUTES,
  type Route,
} from './fuzz-arbitraries.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const TIMEOUT_MS = 5000;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

let t: TestServer;
let keyIds: string[] = [];
let validBasic = '';
const known: string[] = [];
let requests = 0;
const statuses = new Map<number, number>();

/** Limits off (they have their own suites) and no login delay, so the fuzzer reaches the handlers. */
function fuzzConfig() {
  const limits = {
    ...UNLIMITED.limits,
    loginsPerAccount: { limit: 1_000_000, windowSeconds: 60 },
    loginsPerIp: { limit: 1_000_000, windowSeconds: 60 },
  };
  const withDelay = { limits: { ...limits, loginDelay: { baseMs: 0, maxMs: 0 } } };
  try {
    loadConfig({ env: {}, overrides: withDelay });
    return withDelay;
  } catch {
    return { limits };
  }
}

beforeAll(async () => {
  t = await startTestServer('sqlite', fuzzConfig());
  const a = await newClient(t);
  const b = await newClient(t, { scopes: ['keyward:verify'] });
  keyIds = [a.id, b.id];
  validBasic = `Basic ${Buffer.from(`${a.id}:${a.secret}`).toString('base64')}`;
  known.push(a.id, b.accountId, a.accountId);
});
afterAll(async () => {
  const counts = [...statuses].sort(([x], [y]) => x - y).map(([s, n]) => `${s}×${n}`);
  console.log(`fuzz: ${RUNS} runs per property, ${requests} requests; statuses ${counts.join(' ')}`);
  await t?.close();
});

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

/** Sends one request through Fastify's inject, bounded by TIMEOUT_MS; answers the status. */
async function send(req: Sent): Promise<number> {
  requests++;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  try {
    const res = await Promise.race([
      t.server.app.inject({
        method: req.method as 'GET',
        url: req.url,
        headers: req.headers,
        ...(req.payload === undefined ? {} : { payload: req.payload }),
      }),
      timeout,
    ]);
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    return res.statusCode;
  } finally {
    clearTimeout(timer);
  }
}

function request(
  m: string,
  url: string,
  auth: string | undefined,
  extra: Record<string, string>,
  b: { type?: string; payload?: string | Buffer },
): Sent {
  const headers: Record<string, string> = { ...extra };
  if (auth !== undefined) headers.authorization = auth;
  if (b.type !== undefined && b.type !== '') headers['content-type'] = b.type;
  const withBody = b.payload !== undefined && m !== 'GET' && m !== 'HEAD';
  return { method: m, url, headers, ...(withBody ? { payload: b.payload } : {}) };
}

/** What the property checks of one answer, with the request for the counterexample. */
function check(req: Sent, status: number): void {
  const where = `${req.method} ${req.url.slice(0, 120)}`;
  expect(status, `5xx for ${where}`).toBeLessThan(500);
  if (status >= 200 && status < 300) {
    expect(isPublic(req.method, req.url), `2xx without credentials: ${where}`).toBe(true);
  }
}

const params = (runs: number) => ({ numRuns: runs, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true });
const budget = (runs: number) => 30_000 + runs * 40;

describe('fuzz: every route', () => {
  it('known routes with their own method, random credentials and bodies', { timeout: budget(RUNS) }, async () => {
    const route = fc.constantFrom(...ROUTES);
    await fc.assert(
      fc.asyncProperty(
        route,
        fc.constant(null).chain(() => path(known)),
        authorization(keyIds),
        extraHeaders,
        body,
        fc.boolean(),
        async (rt, randomPath, auth, extra, b, useRoute) => {
          // Half the time the route's own path (ids filled with known or mutated values).
          const url = useRoute ? rt.path.replace(/:[A-Za-z]+/g, known[0] ?? 'x') : randomPath;
          const req = request(rt.method, url, auth, extra, b);
          check(req, await send(req));
        },
      ),
      params(RUNS),
    );
  });

  it('any method on any path, with any headers and body', { timeout: budget(RUNS) }, async () => {
    await fc.assert(
      fc.asyncProperty(
        method,
        path(known),
        authorization(keyIds),
        extraHeaders,
        body,
        async (m, url, auth, extra, b) => {
          const req = request(m, url, auth, extra, b);
          check(req, await send(req));
        },
      ),
      params(RUNS),
    );
  });

  it('protected routes never answer 2xx to forged credentials of any scheme', { timeout: budget(RUNS) }, async () => {
    const protectedRoutes = ROUTES.filter((x) => !x.public);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...protectedRoutes),
        authorization(keyIds).filter((a) => a !== undefined),
        body,
        async (rt, auth, b) => {
          const req = request(rt.method, rt.path.replace(/:[A-Za-z]+/g, keyIds[0] ?? 'x'), auth, {}, b);
          const status = await send(req);
          check(req, status);
          expect(status >= 200 && status < 300, `${rt.method} ${rt.path} accepted ${String(auth).slice(0, 60)}`).toBe(
            false,
          );
        },
      ),
      params(RUNS),
    );
  });

  it('with valid credentials, any body on any route is never a 5xx', { timeout: budget(RUNS) }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.oneof(fc.constant(undefined), path(known)),
        extraHeaders,
        body,
        async (rt, randomPath, extra, b) => {
          const url = randomPath ?? rt.path.replace(/:[A-Za-z]+/g, keyIds[0] ?? 'x');
          const req = request(rt.method, url, validBasic, extra, b);
          const status = await send(req);
          expect(
            status,
            `5xx for ${req.method} ${url.slice(0, 120)} (${b.type}, ${String(b.payload).slice(0, 40)})`,
          ).toBeLessThan(500);
        },
      ),
      {
        ...params(RUNS),
        // Finding 5 of issue 16, always tried: JSON nested 5,000 deep to POST /v1/whoami.
        examples: [
          [
            ROUTES.find((x) => x.method === 'POST' && x.path === '/v1/whoami') as Route,
            undefined,
            {},
            { type: 'application/json', payload: nested(5000, 'array') },
          ],
        ],
      },
    );
  });

  it('still serves after the run (no crash, no wedged state)', async () => {
    expect(requests).toBeGreaterThanOrEqual(RUNS * 4);
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});
