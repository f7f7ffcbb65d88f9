// Interop against a running Keyward: the clients people already use, each sending real requests
// to the server started here. npm `oauth` (node-oauth, as in the 2-legged passport tutorial),
// npm `oauth-1.0a` (HMAC-SHA1 and HMAC-SHA256), curl (Basic with --user, and the output of
// `keyward sign` run as is through sh), and oauth4webapi for client credentials.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { percentEncode } from '@keyward/core';
import { OAuth as NodeOAuth } from 'oauth';
import OAuth1a from 'oauth-1.0a';
import * as oauth from 'oauth4webapi';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { startWithKey, type Whoami } from './support/client-fixture.js';

const f = await startWithKey();
afterAll(() => f.t.close());
const { t, key } = f;
const exec = promisify(execFile);

interface Answer {
  status: number;
  json: Whoami;
}

/** node-oauth's callback API as a promise. */
function nodeOAuth(call: (cb: (error: unknown, data?: string | Buffer, response?: unknown) => void) => void) {
  return new Promise<Answer>((resolve, reject) => {
    call((error, data, response) => {
      const status = (response as { statusCode?: number } | undefined)?.statusCode;
      if (status === undefined) {
        reject(error);
        return;
      }
      resolve({ status, json: JSON.parse(String(data)) as Whoami });
    });
  });
}

describe('npm oauth (node-oauth), as in the 2-legged tutorial', () => {
  // The tutorial's client.js: new OAuth(null, null, key, secret, '1.0', null, 'HMAC-SHA1').
  const client = new NodeOAuth(null as never, null as never, key.id, key.secret, '1.0', null as never, 'HMAC-SHA1');

  it('GET with a query', async () => {
    const answer = await nodeOAuth((cb) =>
      client.get(`${t.url}/v1/whoami?x=1&y=two%20words`, null as never, null as never, cb),
    );
    expect(answer.status).toBe(200);
    expect(answer.json.principal).toMatchObject({ method: 'oauth1', keyId: key.id });
  });

  it('POST with a form body', async () => {
    const answer = await nodeOAuth((cb) =>
      client.post(
        `${t.url}/v1/whoami`,
        null as never,
        null as never,
        { a: '1', b: "it's (here)!", c: 'café' },
        'application/x-www-form-urlencoded',
        cb,
      ),
    );
    expect(answer.status).toBe(200);
    expect(answer.json.principal.method).toBe('oauth1');
    expect(new URLSearchParams(String(answer.json.body)).get('b')).toBe("it's (here)!");
  });
});

describe.each([
  ['HMAC-SHA1', 'sha1'],
  ['HMAC-SHA256', 'sha256'],
] as const)('npm oauth-1.0a (%s)', (method, algorithm) => {
  const signer = new OAuth1a({
    consumer: { key: key.id, secret: key.secret },
    signature_method: method,
    hash_function: (base, signingKey) => createHmac(algorithm, signingKey).update(base).digest('base64'),
  });

  it('GET with a query of awkward characters', async () => {
    const url = `${t.url}/v1/whoami?q=${percentEncode("!*'() café")}&tag=a&tag=b`;
    const header = signer.toHeader(signer.authorize({ url, method: 'GET' }));
    const res = await fetch(url, { headers: { ...header } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Whoami).principal.method).toBe('oauth1');
  });

  it('POST with a form body', async () => {
    const url = `${t.url}/v1/whoami`;
    const data = { a: '1', b: 'two words', c: "!*'()" };
    const header = signer.toHeader(signer.authorize({ url, method: 'POST', data }));
    const body = Object.entries(data)
      .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
      .join('&');
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...header, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Whoami).body).toBe(body);
  });
});

describe('curl', () => {
  // Asynchronously: the server answers from this very process.
  async function curl(args: string[]): Promise<{ status: number; body: string }> {
    const run = await exec('curl', ['-sS', '-w', '\n%{http_code}', ...args], { encoding: 'utf8', timeout: 10_000 });
    const cut = run.stdout.lastIndexOf('\n');
    return { body: run.stdout.slice(0, cut), status: Number(run.stdout.slice(cut + 1)) };
  }

  it('--user id:secret against /v1/whoami (Basic)', async () => {
    const res = await curl(['--user', `${key.id}:${key.secret}`, `${t.url}/v1/whoami`]);
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Whoami).principal).toMatchObject({ method: 'basic', keyId: key.id });
    expect((await curl(['--user', `${key.id}:nope`, `${t.url}/v1/whoami`])).status).toBe(401);
  });

  /** `keyward sign …` in process, then its stdout run as is through sh. */
  async function signAndRun(args: string[]): Promise<{ status: number; body: string; command: string }> {
    let command = '';
    let err = '';
    const code = await main(['node', 'keyward', 'sign', ...args], {
      out: (text) => {
        command += text;
      },
      err: (text) => {
        err += text;
      },
    });
    expect(code, err).toBe(0);
    const run = await exec('sh', ['-c', `${command.trimEnd()} -sS -w '\\n%{http_code}'`], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    const cut = run.stdout.lastIndexOf('\n');
    return { body: run.stdout.slice(0, cut), status: Number(run.stdout.slice(cut + 1)), command };
  }

  it("runs `keyward sign` output: GET with !*'(), non-ASCII and repeated parameters", async () => {
    const res = await signAndRun(['--key', key.id, '--secret', key.secret, `${t.url}/v1/whoami?q=!*'()&n=café&n=ü&e=`]);
    expect(res.status, res.body).toBe(200);
    expect((JSON.parse(res.body) as Whoami).principal.method).toBe('oauth1');
  });

  it('runs `keyward sign` output: HMAC-SHA1 POST with a form body (curl -d default type)', async () => {
    const res = await signAndRun([
      '--key',
      key.id,
      '--secret',
      key.secret,
      '--signature-method',
      'HMAC-SHA1',
      '-d',
      "a=1&a=it%27s&b=two+words&c=%C3%A9&d='quoted'",
      `${t.url}/v1/whoami`,
    ]);
    expect(res.status, res.body).toBe(200);
    expect((JSON.parse(res.body) as Whoami).body).toBe("a=1&a=it%27s&b=two+words&c=%C3%A9&d='quoted'");
  });

  it('runs `keyward sign` output: JSON body with --body-hash', async () => {
    const body = JSON.stringify({ quote: "it's", text: 'café ☕', list: [1, 2] });
    const res = await signAndRun([
      '--key',
      key.id,
      '--secret',
      key.secret,
      '--body-hash',
      '-X',
      'POST',
      '-H',
      'Content-Type: application/json',
      '-d',
      body,
      `${t.url}/v1/whoami`,
    ]);
    expect(res.status, res.body).toBe(200);
    expect((JSON.parse(res.body) as Whoami).body).toEqual(JSON.parse(body));
    expect(res.command).toContain('oauth_body_hash=');
  });

  it('runs `keyward sign` output for a signed session (--token, --token-secret, empty consumer secret)', async () => {
    const issued = await t.server.context.store.sessions.create({
      accountId: f.accountId,
      clientIp: '127.0.0.1',
      signed: true,
    });
    if (!issued.ok || issued.value.secret === undefined) throw new Error('no signed session');
    const res = await signAndRun([
      '--key',
      f.accountId,
      '--secret',
      '',
      '--token',
      issued.value.token,
      '--token-secret',
      issued.value.secret,
      `${t.url}/v1/whoami`,
    ]);
    expect(res.status, res.body).toBe(200);
    expect((JSON.parse(res.body) as Whoami).principal.method).toBe('signed-session');
  });
});

describe('oauth4webapi client credentials', () => {
  const as: oauth.AuthorizationServer = { issuer: t.url, token_endpoint: `${t.url}/oauth/token` };
  const client: oauth.Client = { client_id: key.id };

  it.each([
    ['client_secret_basic', oauth.ClientSecretBasic(key.secret)],
    ['client_secret_post', oauth.ClientSecretPost(key.secret)],
  ])('%s: gets a token that /v1/whoami accepts', async (_, clientAuth) => {
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      clientAuth,
      new URLSearchParams({ scope: 'read' }),
      { [oauth.allowInsecureRequests]: true },
    );
    const token = await oauth.processClientCredentialsResponse(as, client, response);
    expect(token.token_type).toBe('bearer');
    expect(token.expires_in).toBeGreaterThan(0);
    expect(token.scope).toBe('read');
    const res = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Whoami).principal).toMatchObject({ method: 'oauth2', scopes: ['read'] });
  });
});
