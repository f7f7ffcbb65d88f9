// The Passport strategy, end to end over real HTTP. The first suite is the app of a 2-legged
// OAuth tutorial for Node built on express + passport + passport-http-2legged-oauth (server.js
// with a public `/` and a private `/private`; client.js on the npm `oauth` package), with only its
// `passport.use(...)` line changed; the same app with the tutorial's own strategy is the control.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { OAuth } from 'oauth';
import passportModule from 'passport';
import { Strategy as TwoLeggedStrategy } from 'passport-http-2legged-oauth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeywardStrategy, passportRefusalHandler } from '../src/adapters/passport.js';
import { createKeyward } from '../src/keyward.js';
import { MemoryNonceStore } from '../src/state/nonces.js';
import type { VerifierOptions } from '../src/verify/verifier.js';
import { basic, type Harness, harness, rawParts } from './support/verifier.js';

// Per-route scopes through `passport.authenticate(name, { scopes })`, as the strategy's docs say.
declare module 'passport' {
  interface AuthenticateOptions {
    scopes?: readonly string[] | undefined;
  }
}

// node-oauth stamps requests with the real time, so these verifiers (and their nonce stores) use it.
const realClock = { now: () => Date.now() };

interface Seen {
  readonly status: number;
  /** Each header's lines, as sent (`headersDistinct`). */
  readonly headers: NodeJS.Dict<string[]>;
  readonly body: string;
}

let h: Harness;
let servers: Server[] = [];
/** Every response any client got in a test, checked for secrets afterwards. */
let seen: Seen[] = [];

/** A verifier on the harness store that signs against `origin`, with the real clock. */
function verifierFor(origin: string, more: Partial<VerifierOptions> = {}) {
  return h.rebuild({ origin, clock: realClock, nonces: new MemoryNonceStore({ clock: realClock }), ...more });
}

/**
 * Listens on 127.0.0.1, on an ephemeral port. `authorizations` records the `Authorization` header
 * each request arrived with, from the HTTP server beside the app, so the app stays the tutorial's.
 */
async function listen(app: Express): Promise<{ origin: string; authorizations: string[] }> {
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const authorizations: string[] = [];
  server.on('request', (req) => authorizations.push(req.headers.authorization ?? ''));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, authorizations };
}

/** The tutorial's server.js; the strategy is registered by the caller, as its last line. */
function tutorialServer() {
  const app = express();
  const passport = new passportModule.Passport();
  // This is standard passport
  app.use(passport.initialize());

  // We add a route that is open, i.e. public
  app.get('/', (_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.send("Hi. Try <a href='/private'>/private</a> for a private endpoint.");
  });

  // And we add a secure route.
  app.get('/private', [
    passport.authenticate('oauth', { session: false }),
    (_req: Request, res: Response) => {
      res.send({ secret: true });
    },
  ]);
  return { app, passport };
}

/** The tutorial's apps-model.js, checkAppKey and checkTimestampAndNonce, for its own strategy. */
function tutorialStrategy(appList: { key: string; secret: string; name: string }[]) {
  const find = (key: string) => {
    const found = appList.find((a) => a.key === key);
    return found === undefined ? undefined : { ...found };
  };
  function checkAppKey(key: string, done: (error: unknown, consumer?: object | false, secret?: string) => void) {
    const app = find(key);
    if (!app) return done(null, { error: 'app not found' });
    return done(null, app, app.secret);
  }
  // "and nonce, but we don't check nonce in this example"
  function checkTimestampAndNonce(
    timestamp: string,
    _nonce: string,
    _app: object,
    _req: unknown,
    done: (error: unknown, valid?: boolean) => void,
  ) {
    const timeDelta = Math.round(Date.now() / 1000) - Number(timestamp);
    if (timeDelta >= 10) done(null, false);
    else done(null, true);
  }
  return new TwoLeggedStrategy(checkAppKey, checkTimestampAndNonce);
}

/** The tutorial's client.js: node-oauth, 2-legged (no token), HMAC-SHA1. */
function tutorialClient(key: string, secret: string): OAuth {
  // @types/oauth types the request/access token URLs as strings; the tutorial passes null.
  return new OAuth(null as never, null as never, key, secret, '1.0', null, 'HMAC-SHA1');
}

/** `request.get(url, null, null, cb)` from client.js, as a promise of what came back. */
function oauthGet(client: OAuth, url: string): Promise<Seen> {
  return new Promise((resolve, reject) => {
    client.get(url, null as never, null as never, (error, data, response) => {
      if (response === undefined) {
        reject(error);
        return;
      }
      const result = { status: response.statusCode ?? 0, headers: response.headersDistinct, body: String(data ?? '') };
      seen.push(result);
      resolve(result);
    });
  });
}

/** A plain GET with node:http (for replays and unsigned calls). */
function send(url: string, headers: Record<string, string> = {}): Promise<Seen> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        const result = { status: response.statusCode ?? 0, headers: response.headersDistinct, body };
        seen.push(result);
        resolve(result);
      });
    })
      .on('error', reject)
      .end();
  });
}

/** The `WWW-Authenticate` values of a response, one per header line. */
function challenges(response: Seen): string[] {
  return response.headers['www-authenticate'] ?? [];
}

beforeEach(async () => {
  h = await harness();
  servers = [];
  seen = [];
});

afterEach(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  // No secret appears in any response body or header, whatever the outcome.
  const secrets = [h.key.secret, h.key.token, rawParts(h.key.token).secret];
  for (const response of seen) {
    const text = JSON.stringify(response.headers) + response.body;
    for (const secret of secrets) expect(text).not.toContain(secret);
  }
  await h.cleanup();
});

describe('The exact app from the 2-legged OAuth tutorial', () => {
  it('works with only the strategy line changed: signed GET /private, public /, wrong secret refused', async () => {
    const { app, passport } = tutorialServer();
    const { origin } = await listen(app);
    passport.use(new KeywardStrategy({ verifier: verifierFor(origin) }));

    const request = tutorialClient(h.key.id, h.key.secret);
    const ok = await oauthGet(request, `${origin}/private`);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ secret: true });

    const home = await send(`${origin}/`);
    expect(home.status).toBe(200);
    expect(home.body).toContain('/private');

    const anonymous = await send(`${origin}/private`);
    expect(anonymous.status).toBe(401);
    expect(challenges(anonymous).join()).toContain('OAuth realm="keyward"');

    const other = await h.newKey();
    const wrongSecret = await oauthGet(tutorialClient(h.key.id, other.secret), `${origin}/private`);
    expect(wrongSecret.status).toBe(401);
    expect(challenges(wrongSecret).join()).toContain('oauth_problem="signature_invalid"');
    expect(wrongSecret.body).not.toContain('secret');
  });

  it('a replay of the same signed request: Keyward refuses it (nonce_used); the tutorial stack accepts it', async () => {
    // Keyward: the first request passes, the same Authorization header again is refused.
    const keyward = tutorialServer();
    const k = await listen(keyward.app);
    keyward.passport.use(new KeywardStrategy({ verifier: verifierFor(k.origin) }));
    expect((await oauthGet(tutorialClient(h.key.id, h.key.secret), `${k.origin}/private`)).status).toBe(200);
    const captured = k.authorizations.at(-1) ?? '';
    expect(captured).toMatch(/^OAuth .*oauth_nonce=/);
    const replay = await send(`${k.origin}/private`, { authorization: captured });
    expect(replay.status).toBe(401);
    expect(challenges(replay).join()).toContain('oauth_problem="nonce_used"');

    // The tutorial's own strategy, same app, same key and secret: the replay passes, every time.
    const tutorial = tutorialServer();
    const t = await listen(tutorial.app);
    tutorial.passport.use(tutorialStrategy([{ key: h.key.id, secret: h.key.secret, name: 'One cool app' }]));
    const first = await oauthGet(tutorialClient(h.key.id, h.key.secret), `${t.origin}/private`);
    expect(first.status).toBe(200);
    const capturedT = t.authorizations.at(-1) ?? '';
    const replays = [
      await send(`${t.origin}/private`, { authorization: capturedT }),
      await send(`${t.origin}/private`, { authorization: capturedT }),
    ];
    expect(replays.map((r) => r.status)).toEqual([200, 200]);
    expect(JSON.parse(replays[1]?.body ?? '')).toEqual({ secret: true });
  });
});

describe('KeywardStrategy', () => {
  /** An app with Keyward (and other strategies) on its own Passport instance; `req.user` echoed. */
  async function app(
    setup: (
      passport: InstanceType<typeof passportModule.Passport>,
      app: Express,
      echo: (req: Request, res: Response) => void,
    ) => void,
    more: Partial<VerifierOptions> = {},
  ) {
    const server = express();
    const passport = new passportModule.Passport();
    server.use(passport.initialize());
    const listening = await listen(server);
    passport.use(new KeywardStrategy({ verifier: verifierFor(listening.origin, more) }));
    setup(passport, server, (req, res) => {
      res.send({ user: req.user });
    });
    const client = tutorialClient(h.key.id, h.key.secret);
    const sign = (path: string) => ({
      authorization: client.authHeader(listening.origin + path, null as never, null as never, 'GET'),
    });
    return { ...listening, sign };
  }

  it('with { session: false }: req.user is the Keyward principal', async () => {
    const { origin, sign } = await app((passport, server, echo) => {
      server.get('/me', passport.authenticate('oauth', { session: false }), echo);
      const router = express.Router();
      router.get('/me', passport.authenticate('oauth', { session: false }), echo);
      server.use('/api', router);
    });
    const response = await send(`${origin}/me`, sign('/me'));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      user: { accountId: h.key.key.accountId, keyId: h.key.id, scopes: ['read:orders'], method: 'oauth1' },
    });
    // In a router mounted at /api, `req.url` is `/me`; the signature covers `/api/me`.
    const mounted = await send(`${origin}/api/me`, sign('/api/me'));
    expect(JSON.parse(mounted.body)).toMatchObject({ user: { keyId: h.key.id, method: 'oauth1' } });
    // Basic with key id and secret works on the same route (loopback, so plain HTTP is allowed).
    const viaBasic = await send(`${origin}/me`, { authorization: basic(h.key.id, h.key.secret) });
    expect(JSON.parse(viaBasic.body)).toMatchObject({ user: { keyId: h.key.id, method: 'basic' } });
  });

  it('chained before another strategy: a Keyward refusal falls through to it', async () => {
    const { origin, sign } = await app((passport, server, echo) => {
      passport.use('demo', {
        name: 'demo',
        authenticate(req) {
          if (req.headers['x-demo-user'] === 'alice') this.success({ demo: 'alice' });
          else this.fail('Demo realm="demo"');
        },
      });
      server.get('/either', passport.authenticate(['oauth', 'demo'], { session: false }), echo);
    });

    const signed = sign('/either');
    expect(JSON.parse((await send(`${origin}/either`, signed)).body)).toMatchObject({ user: { method: 'oauth1' } });
    // Keyward refuses (no credentials; then a replay), the demo strategy accepts.
    expect(JSON.parse((await send(`${origin}/either`, { 'x-demo-user': 'alice' })).body)).toEqual({
      user: { demo: 'alice' },
    });
    const replayed = await send(`${origin}/either`, { ...signed, 'x-demo-user': 'alice' });
    expect(replayed.status).toBe(200);
    expect(JSON.parse(replayed.body)).toEqual({ user: { demo: 'alice' } });

    // Both refuse: 401 with each strategy's challenge, Keyward's first.
    const neither = await send(`${origin}/either`);
    expect(neither.status).toBe(401);
    expect(challenges(neither)).toEqual([
      'Basic realm="keyward", charset="UTF-8", Bearer realm="keyward", OAuth realm="keyward"',
      'Demo realm="demo"',
    ]);
    // Keyward's status is kept: Passport answers with the first failure's status (400 here).
    expect((await send(`${origin}/either`, { authorization: 'Basic !!!!' })).status).toBe(400);
  });

  it('per-route scopes: 403 kept; failWithError + passportRefusalHandler render the code; callbacks get it', async () => {
    const { origin, sign } = await app((passport, server, echo) => {
      server.get('/orders', passport.authenticate('oauth', { session: false, scopes: ['read:orders'] }), echo);
      server.get('/admin', passport.authenticate('oauth', { session: false, scopes: ['admin'] }), echo);
      server.get(
        '/admin-json',
        passport.authenticate('oauth', { session: false, failWithError: true, scopes: ['admin'] }),
        echo,
      );
      server.get('/callback', (req: Request, res: Response, next: NextFunction) => {
        passport.authenticate(
          'oauth',
          { session: false, scopes: ['admin'] },
          (error: unknown, user: unknown, info: unknown, status: unknown) => {
            if (error) return next(error);
            res.send({ user, info, status });
          },
        )(req, res, next);
      });
      server.use(passportRefusalHandler());
    });

    expect((await send(`${origin}/orders`, sign('/orders'))).status).toBe(200);

    // Passport's own failure response: the status survives, the body is its status text.
    const plain = await send(`${origin}/admin`, sign('/admin'));
    expect(plain.status).toBe(403);
    expect(plain.body).toBe('Forbidden');

    const rendered = await send(`${origin}/admin-json`, sign('/admin-json'));
    expect(rendered.status).toBe(403);
    expect(JSON.parse(rendered.body)).toMatchObject({
      error: { code: 'insufficient_scope', message: expect.stringContaining('requires admin') },
    });

    const viaCallback = await send(`${origin}/callback`, sign('/callback'));
    expect(JSON.parse(viaCallback.body)).toEqual({
      user: false,
      info: { code: 'insufficient_scope', message: expect.stringContaining('admin') },
      status: 403,
    });
  });

  it('a replay and a rate limit through failWithError: code nonce_reused, 429 with Retry-After', async () => {
    const { origin, sign } = await app(
      (passport, server, echo) => {
        server.get('/private', passport.authenticate('oauth', { session: false, failWithError: true }), echo);
        server.get('/plain', passport.authenticate('oauth', { session: false }), echo);
        server.use(passportRefusalHandler());
      },
      { failuresPerIp: { limit: 2, windowSeconds: 60 } },
    );

    const signed = sign('/private');
    expect((await send(`${origin}/private`, signed)).status).toBe(200);
    const replay = await send(`${origin}/private`, signed);
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body)).toMatchObject({ error: { code: 'nonce_reused' } });
    expect(challenges(replay).join()).toContain('oauth_problem="nonce_used"');

    // Failures from this address, then 429: with the handler, Retry-After and the code...
    const other = await h.newKey();
    await send(`${origin}/private`, { authorization: basic(h.key.id, other.secret) });
    await send(`${origin}/private`, { authorization: basic(h.key.id, other.secret) });
    // A wrong credential over the address's limit is 429 (the right one would still pass).
    const limited = await send(`${origin}/private`, { authorization: basic(h.key.id, other.secret) });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']?.[0]).toMatch(/^\d+$/);
    expect(JSON.parse(limited.body)).toMatchObject({ error: { code: 'rate_limited' } });
    // ...and without it, Passport's response still carries the status.
    expect((await send(`${origin}/plain`, { authorization: basic(h.key.id, other.secret) })).status).toBe(429);
  });

  it('is named "oauth" unless told, needs a verifier, and comes from the facade', async () => {
    const keyward = createKeyward({ store: h.store, nonces: h.nonces, origin: 'https://api.example.com' });
    expect(keyward.passport().name).toBe('oauth');
    expect(keyward.passport({ name: 'keyward' }).name).toBe('keyward');
    expect(() => new KeywardStrategy({} as never)).toThrow(TypeError);
  });
});
