// Interop with Python's oauthlib (what requests-oauthlib signs with), Debian's python3-oauthlib
// 3.2.x, against a running Keyward. oauthlib adds oauth_body_hash on its own to every request
// whose body is not form-encoded, and computes it with SHA-1 whatever the signature method
// (oauthlib/oauth1/rfc5849/__init__.py, Client.get_oauth_params), so an HMAC-SHA256 request with
// a JSON body carries a SHA-1 body hash: Keyward accepts either digest (core's body-hash.ts).
//
// The interpreter is /usr/bin/python3 on purpose: a `python3` earlier on PATH (pyenv) lacks
// Debian's dist-packages. CI installs python3-oauthlib (.ci/run); without it these tests fail
// with a message saying so, never skip.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startWithKey, type Whoami } from './support/client-fixture.js';

const PYTHON = '/usr/bin/python3';

// Signs one request with oauthlib.oauth1.Client and prints what it would send, as JSON. The
// request (secret included) arrives on stdin, never in argv. With `bodyHash`, the value
// oauthlib computed is replaced by that one before it signs, so the request is validly signed
// and only its body hash is what the test chose.
const SIGNER = String.raw`
import json, sys
try:
    import oauthlib
    import oauthlib.oauth1
except ImportError as error:
    sys.stderr.write('cannot import oauthlib: %s\n' % error)
    sys.exit(3)

args = json.load(sys.stdin)
override = args.get('bodyHash')

class BodyHashOverride(oauthlib.oauth1.Client):
    def get_oauth_params(self, request):
        params = super().get_oauth_params(request)
        return [(k, override if k == 'oauth_body_hash' else v) for k, v in params]

Client = oauthlib.oauth1.Client if override is None else BodyHashOverride
client = Client(args['key'], client_secret=args['secret'],
                signature_method=getattr(oauthlib.oauth1, args['signatureMethod']))
uri, headers, body = client.sign(args['url'], http_method='POST', body=args['body'],
                                 headers={'Content-Type': 'application/json'})
json.dump({'version': oauthlib.__version__, 'uri': uri, 'headers': headers, 'body': body}, sys.stdout)
`;

interface Signed {
  version: string;
  uri: string;
  headers: Record<string, string>;
  body: string;
}

/** What oauthlib sends for a POST of `body` (JSON) to `url`. */
function oauthlibSign(request: {
  url: string;
  key: string;
  secret: string;
  signatureMethod: 'SIGNATURE_HMAC_SHA1' | 'SIGNATURE_HMAC_SHA256';
  body: string;
  bodyHash?: string;
}): Signed {
  const run = spawnSync(PYTHON, ['-c', SIGNER], { input: JSON.stringify(request), encoding: 'utf8', timeout: 15_000 });
  if (run.error !== undefined || run.status !== 0) {
    throw new Error(
      `${PYTHON} could not sign with oauthlib (CI installs the Debian package python3-oauthlib, see .ci/run): ` +
        `${run.error?.message ?? `exit ${run.status}`}: ${run.stderr}`,
    );
  }
  return JSON.parse(run.stdout) as Signed;
}

/** Sends what oauthlib signed, as it signed it, but with `body` when given. */
function send(signed: Signed, body = signed.body): Promise<Response> {
  return fetch(signed.uri, { method: 'POST', headers: signed.headers, body });
}

/** The value of one parameter of an `OAuth` Authorization header, decoded. */
function oauthParam(authorization: string | undefined, name: string): string | undefined {
  const match = new RegExp(`${name}="([^"]*)"`).exec(authorization ?? '');
  return match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
}

const base64Of = (algorithm: 'sha1' | 'sha256', text: string) =>
  createHash(algorithm).update(text, 'utf8').digest('base64');

const f = await startWithKey();
afterAll(() => f.t.close());
const { t, key } = f;
const url = `${t.url}/v1/whoami`;
const payload = { order: 42, note: 'café ☕', items: [1, 2] };
const json = JSON.stringify(payload);

it('Debian python3-oauthlib 3.x is what signs here', () => {
  const signed = oauthlibSign({
    url,
    key: key.id,
    secret: key.secret,
    signatureMethod: 'SIGNATURE_HMAC_SHA1',
    body: json,
  });
  expect(signed.version).toMatch(/^3\./);
});

describe.each([
  ['SIGNATURE_HMAC_SHA256', 'HMAC-SHA256'],
  ['SIGNATURE_HMAC_SHA1', 'HMAC-SHA1'],
] as const)('oauthlib %s, a JSON body', (signatureMethod, method) => {
  it('adds a SHA-1 oauth_body_hash on its own, and Keyward accepts it: 200, method oauth1', async () => {
    const signed = oauthlibSign({ url, key: key.id, secret: key.secret, signatureMethod, body: json });
    const authorization = signed.headers.Authorization;
    expect(oauthParam(authorization, 'oauth_signature_method')).toBe(method);
    // SHA-1 of the UTF-8 body for either method: base64 of 20 bytes, 28 characters.
    expect(oauthParam(authorization, 'oauth_body_hash')).toBe(base64Of('sha1', json));
    const res = await send(signed);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as Whoami;
    expect(answer.principal).toMatchObject({ method: 'oauth1', keyId: key.id });
    expect(answer.body).toEqual(payload);
  });

  it('a SHA-256 oauth_body_hash (signed by oauthlib) is accepted too: 200', async () => {
    const bodyHash = base64Of('sha256', json);
    const signed = oauthlibSign({ url, key: key.id, secret: key.secret, signatureMethod, body: json, bodyHash });
    expect(oauthParam(signed.headers.Authorization, 'oauth_body_hash')).toBe(bodyHash);
    const res = await send(signed);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Whoami).principal.method).toBe('oauth1');
  });
});

// A key of its own for the refusals below: they count as failures against the key that made them.
const refused = await f.newKey({ scopes: ['read'] });

describe('oauthlib, only the body hash wrong → 401 body_hash_invalid', () => {
  const other = JSON.stringify({ ...payload, order: 43 });

  async function expectBodyHashInvalid(res: Response): Promise<void> {
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('body_hash_invalid');
    // OAuth Problem Reporting (oauth.net, §2): the challenge names the problem as the body does.
    expect(res.headers.get('www-authenticate')).toContain('oauth_problem="body_hash_invalid"');
  }

  it.each([['SIGNATURE_HMAC_SHA256'], ['SIGNATURE_HMAC_SHA1']] as const)(
    '%s: a SHA-1 hash (28 characters) of another body',
    async (signatureMethod) => {
      // Signed for another body, so oauthlib's own SHA-1 hash is of that body; the signature is
      // valid for what is sent, apart from the body itself.
      const signed = oauthlibSign({ url, key: refused.id, secret: refused.secret, signatureMethod, body: other });
      const bodyHash = oauthParam(signed.headers.Authorization, 'oauth_body_hash');
      expect(bodyHash).toHaveLength(28);
      expect(bodyHash).not.toBe(base64Of('sha1', json));
      await expectBodyHashInvalid(await send(signed, json));
    },
  );

  it.each([['SIGNATURE_HMAC_SHA256'], ['SIGNATURE_HMAC_SHA1']] as const)(
    '%s: a SHA-256 hash (44 characters) of another body',
    async (signatureMethod) => {
      const bodyHash = base64Of('sha256', other);
      expect(bodyHash).toHaveLength(44);
      const signed = oauthlibSign({
        url,
        key: refused.id,
        secret: refused.secret,
        signatureMethod,
        body: json,
        bodyHash,
      });
      expect(oauthParam(signed.headers.Authorization, 'oauth_body_hash')).toBe(bodyHash);
      await expectBodyHashInvalid(await send(signed));
    },
  );

  it('a body hash of another length (SHA-1 in hex, 40 characters)', async () => {
    const bodyHash = createHash('sha1').update(json).digest('hex');
    const signed = oauthlibSign({
      url,
      key: refused.id,
      secret: refused.secret,
      signatureMethod: 'SIGNATURE_HMAC_SHA256',
      body: json,
      bodyHash,
    });
    await expectBodyHashInvalid(await send(signed));
  });
});
