// The Express middleware on a real loopback server, and the web Request adapter.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { signOAuth1 } from '@keyward/core';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureRawBody } from '../src/adapters/http.js';
import { createKeyward, type Keyward } from '../src/keyward.js';
import { basic, type Harness, harness } from './support/verifier.js';

describe('adapters', () => {
  let h: Harness;
  let keyward: Keyward;
  beforeEach(async () => {
    h = await harness();
    keyward = createKeyward({
      store: h.store,
      nonces: h.nonces,
      origin: 'http://127.0.0.1',
      clock: { now: () => h.clock.t },
    });
  });
  afterEach(async () => {
    await h.cleanup();
  });

  describe('Express', () => {
    async function serve(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    }

    function app(): express.Express {
      const a = express();
      a.use(express.urlencoded({ extended: false, verify: captureRawBody }));
      a.get('/public', (_req, res) => {
        res.json({ public: true });
      });
      a.use('/v1', keyward.express());
      a.get('/v1/whoami', (req, res) => {
        res.json(req.keyward);
      });
      a.post('/v1/orders', keyward.requireScopes('read:orders'), (req, res) => {
        res.json({ principal: req.keyward?.keyId, body: req.body });
      });
      a.get('/v1/admin', keyward.requireScopes('keyward:admin'), (_req, res) => {
        res.json({ never: true });
      });
      return a;
    }

    it('puts the principal on req.keyward, refuses with the JSON error shape, keeps public routes public', async () => {
      const server = await serve(app());
      try {
        const ok = await fetch(`${server.url}/v1/whoami`, {
          headers: { authorization: basic(h.key.id, h.key.secret) },
        });
        expect(ok.status).toBe(200);
        expect(await ok.json()).toMatchObject({ keyId: h.key.id, method: 'basic' });

        const missing = await fetch(`${server.url}/v1/whoami`);
        expect(missing.status).toBe(401);
        expect(missing.headers.get('www-authenticate')).toContain('Basic realm="keyward"');
        const body = (await missing.json()) as { error: { code: string; message: string; requestId: string } };
        expect(body.error).toMatchObject({ code: 'credentials_missing' });
        expect(body.error.requestId).toBe(missing.headers.get('x-request-id'));
        expect(missing.headers.get('cache-control')).toBe('no-store');

        const forbidden = await fetch(`${server.url}/v1/admin`, {
          headers: { authorization: basic(h.key.id, h.key.secret) },
        });
        expect(forbidden.status).toBe(403);
        expect(await forbidden.json()).toMatchObject({ error: { code: 'insufficient_scope' } });

        expect((await fetch(`${server.url}/public`)).status).toBe(200);
      } finally {
        await server.close();
      }
    });

    it('verifies a form-signed OAuth 1.0a POST from the raw body and still parses the form', async () => {
      const server = await serve(app());
      try {
        const body = 'item=widget&note=rush+order%21';
        const signed = signOAuth1({
          method: 'POST',
          url: `${server.url}/v1/orders`,
          consumerKey: h.key.id,
          consumerSecret: h.key.secret,
          nonce: 'form-1',
          timestamp: Math.floor(h.clock.t / 1000),
          body,
          contentType: 'application/x-www-form-urlencoded',
        });
        // The verifier's origin omits the ephemeral port, so sign against that origin.
        const resigned = signOAuth1({
          method: 'POST',
          url: 'http://127.0.0.1/v1/orders',
          consumerKey: h.key.id,
          consumerSecret: h.key.secret,
          nonce: 'form-2',
          timestamp: Math.floor(h.clock.t / 1000),
          body,
          contentType: 'application/x-www-form-urlencoded',
        });
        const headers = { 'content-type': 'application/x-www-form-urlencoded' };
        const wrongOrigin = await fetch(`${server.url}/v1/orders`, {
          method: 'POST',
          body,
          headers: { ...headers, authorization: signed.authorization },
        });
        expect(wrongOrigin.status).toBe(401);
        const res = await fetch(`${server.url}/v1/orders`, {
          method: 'POST',
          body,
          headers: { ...headers, authorization: resigned.authorization },
        });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ principal: h.key.id, body: { item: 'widget', note: 'rush order!' } });
        const replay = await fetch(`${server.url}/v1/orders`, {
          method: 'POST',
          body,
          headers: { ...headers, authorization: resigned.authorization },
        });
        expect(replay.status).toBe(401);
        expect(replay.headers.get('www-authenticate')).toContain('oauth_problem="nonce_used"');
      } finally {
        await server.close();
      }
    });
  });

  describe('web Request', () => {
    it('verifies a Request and wraps a fetch handler', async () => {
      const handler = keyward.fetchHandler((_req, principal) => Response.json({ keyId: principal.keyId }), {
        connection: () => ({ remoteAddress: '127.0.0.1' }),
      });
      const ok = await handler(
        new Request('http://127.0.0.1/v1/whoami', { headers: { authorization: `Bearer ${h.key.token}` } }),
      );
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ keyId: h.key.id });
      const refused = await handler(new Request('http://127.0.0.1/v1/whoami'));
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('Bearer realm="keyward"');
      expect(await refused.json()).toMatchObject({ error: { code: 'credentials_missing' } });

      // A JSON body with a body hash: the adapter reads a clone, the handler can still read it.
      const json = JSON.stringify({ a: 1 });
      const signed = signOAuth1({
        method: 'POST',
        url: 'http://127.0.0.1/v1/things',
        consumerKey: h.key.id,
        consumerSecret: h.key.secret,
        nonce: 'web-1',
        timestamp: Math.floor(h.clock.t / 1000),
        body: json,
        contentType: 'application/json',
        bodyHash: true,
      });
      const request = new Request('http://127.0.0.1/v1/things', {
        method: 'POST',
        body: json,
        headers: { authorization: signed.authorization, 'content-type': 'application/json' },
      });
      const outcome = await keyward.verifyRequest(request, { remoteAddress: '127.0.0.1' });
      expect(outcome).toMatchObject({ ok: true, principal: { method: 'oauth1' } });
      expect(await request.json()).toEqual({ a: 1 });
      const remote = await keyward.verifyRequest(
        new Request('http://api.example.com/v1/whoami', { headers: { authorization: `Bearer ${h.key.token}` } }),
        { remoteAddress: '198.51.100.7' },
      );
      expect(remote).toMatchObject({ ok: false, code: 'transport_insecure' });
    });
  });
});
