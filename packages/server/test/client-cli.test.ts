// `keyward sign` and `keyward call`, in process: published signatures reproduced with fixed nonce
// and timestamp (keys in other servers' formats), the signature debugger's output, and `call`
// against a running Keyward.
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { startWithKey, type Whoami } from './support/client-fixture.js';

const f = await startWithKey();
afterAll(() => f.t.close());
const { t, key } = f;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function keyward(args: string[], stdin = ''): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'keyward', ...args], {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    readStdin: async () => Buffer.from(stdin, 'utf8'),
  });
  return { code, stdout, stderr };
}

/** The Authorization header in a printed curl command. */
function authorizationOf(command: string): string {
  return /-H 'Authorization: ([^']*)'/.exec(command)?.[1] ?? '';
}

function signatureOf(command: string): string {
  return decodeURIComponent(/oauth_signature="([^"]+)"/.exec(authorizationOf(command))?.[1] ?? '');
}

describe('keyward sign', () => {
  it('reproduces the oauth.net test case (HMAC-SHA1, 3-legged token, oauth_version)', async () => {
    const run = await keyward([
      'sign',
      '--key',
      'dpf43f3p2l4k3l03',
      '--secret',
      'kd94hf93k423kf44',
      '--token',
      'nnch734d00sl2jdk',
      '--token-secret',
      'pfkkdhi9sl3r4s00',
      '--signature-method',
      'HMAC-SHA1',
      '--nonce',
      'kllo9940pd9333jh',
      '--timestamp',
      '1191242096',
      'http://photos.example.net/photos?file=vacation.jpg&size=original',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(signatureOf(run.stdout)).toBe('tR3+Ty81lMeYAr/Fid0kMTYa/WM=');
    expect(run.stdout).toMatch(/^curl -sS -g \\\n {2}-H 'Authorization: OAuth oauth_consumer_key="dpf43f3p2l4k3l03"/);
    expect(run.stdout.trimEnd().endsWith("'http://photos.example.net/photos?file=vacation.jpg&size=original'")).toBe(
      true,
    );
  });

  it('reproduces RFC 5849 §1.2 without oauth_version, and HMAC-SHA256 of the same request', async () => {
    const base = [
      'sign',
      '--key',
      'dpf43f3p2l4k3l03',
      '--secret',
      'kd94hf93k423kf44',
      '--token',
      'nnch734d00sl2jdk',
      '--token-secret',
      'pfkkdhi9sl3r4s00',
      '--no-oauth-version',
      '--nonce',
      'chapoH',
      '--timestamp',
      '137131202',
      'http://photos.example.net/photos?file=vacation.jpg&size=original',
    ];
    const sha1 = await keyward([...base, '--signature-method', 'HMAC-SHA1']);
    expect(signatureOf(sha1.stdout)).toBe('MdpQcU8iPSUjWoN/UDMsK2sui9I=');
    const sha256 = await keyward(base);
    expect(signatureOf(sha256.stdout)).toBe('HtMwoX2zenlFjgGg/SNEoKEQmL7CzxYFEKzs7er044Y=');
  });

  it('debugs the Twitter docs example: parameters, normalized string, base string, signature', async () => {
    const run = await keyward([
      'sign',
      '--key',
      'xvz1evFS4wEEPTGEFPHBog',
      '--secret',
      'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw',
      '--token',
      '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb',
      '--token-secret',
      'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE',
      '--signature-method',
      'HMAC-SHA1',
      '--nonce',
      'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg',
      '--timestamp',
      '1318622958',
      '-d',
      'status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21',
      '--debug',
      'https://api.twitter.com/1.1/statuses/update.json?include_entities=true',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(signatureOf(run.stdout)).toBe('hCtSmYh+iHYCEqBWrE7C7hYmtUk=');
    // The debugger writes to stderr, so stdout stays a command that `| sh` runs.
    expect(run.stdout).not.toContain('base string');
    expect(run.stderr).toContain('base string URI:       https://api.twitter.com/1.1/statuses/update.json\n');
    expect(run.stderr).toContain('  "status" = "Hello Ladies + Gentlemen, a signed OAuth request!"\n');
    expect(run.stderr).toContain(
      'normalized parameters: include_entities=true&oauth_consumer_key=xvz1evFS4wEEPTGEFPHBog&oauth_nonce=kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg&oauth_signature_method=HMAC-SHA1&oauth_timestamp=1318622958&oauth_token=370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb&oauth_version=1.0&status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21\n',
    );
    expect(run.stderr).toContain(
      'base string:           POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521\n',
    );
    expect(run.stderr).toContain('signature:             hCtSmYh+iHYCEqBWrE7C7hYmtUk=\n');
    // Neither secret is printed anywhere.
    for (const secret of ['kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw', 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE']) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });

  it('prints one JSON document with --json, the debug report included', async () => {
    const run = await keyward([
      '--json',
      'sign',
      '--key',
      'k',
      '--secret',
      's',
      '--nonce',
      'n',
      '--timestamp',
      '1',
      '--body-hash',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"a":1}',
      '--debug',
      'https://api.example.com/x',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as Record<string, unknown> & { debug: { baseString: string } };
    expect(doc).toMatchObject({
      method: 'POST',
      url: 'https://api.example.com/x',
      body: '{"a":1}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(doc.debug.baseString).toContain('oauth_body_hash%3D');
    expect(doc.curl).toContain('--data-raw \'{"a":1}\'');
  });

  it('reads the secret from standard input with --secret -', async () => {
    const args = ['--key', 'k', '--nonce', 'n', '--timestamp', '1', 'https://api.example.com/x'];
    const direct = await keyward(['sign', '--secret', 'from stdin', ...args]);
    const piped = await keyward(['sign', '--secret', '-', ...args], 'from stdin\n');
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toBe(direct.stdout);
  });

  it.each([
    [['not a url'], 'invalid_input'],
    [['-H', 'no colon', 'https://h.example/'], 'invalid_input'],
    [['-H', 'Authorization: Basic eA==', 'https://h.example/'], 'invalid_input'],
    [['--timestamp', '12.5', 'https://h.example/'], 'invalid_input'],
    [['--token-secret', 'x', 'https://h.example/'], 'invalid_input'],
    [['https://h.example/?bad=%ZZ'], 'invalid_input'],
  ])('refuses %j with %s, without echoing the secret', async (extra, code) => {
    const run = await keyward(['sign', '--key', 'k', '--secret', 'TOPSECRET-VALUE', ...extra]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: ${code}: `));
    expect(run.stdout + run.stderr).not.toContain('TOPSECRET-VALUE');
  });

  it('refuses an unknown signature method as a usage error', async () => {
    const run = await keyward(['sign', '--key', 'k', '--secret', 's', '--signature-method', 'PLAINTEXT', 'https://h/']);
    expect(run.code).toBe(2);
  });
});

describe('keyward call', () => {
  it('sends the signed request and prints the response', async () => {
    const run = await keyward([
      'call',
      '--key',
      key.id,
      '--secret',
      key.secret,
      '-d',
      'a=1&b=%21*%27%28%29',
      `${t.url}/v1/whoami?q=caf%C3%A9`,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const [head = '', body = ''] = run.stdout.split('\n\n');
    expect(head).toMatch(/^HTTP 200 OK\n/);
    expect(head).toContain('content-type: application/json');
    expect(JSON.parse(body) as Whoami).toMatchObject({ principal: { method: 'oauth1' }, body: 'a=1&b=%21*%27%28%29' });
  });

  it('exits 1 with the server error code when the request is refused', async () => {
    const run = await keyward(['--json', 'call', '--key', key.id, '--secret', 'wrong', `${t.url}/v1/whoami`]);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as { status: number; headers: Record<string, string>; body: unknown };
    expect(doc.status).toBe(401);
    expect(doc.headers['www-authenticate']).toContain('oauth_problem="signature_invalid"');
    expect(JSON.parse(run.stderr)).toMatchObject({ error: { code: 'signature_invalid' } });
  });

  it('reports an unreachable server', async () => {
    const run = await keyward(['call', '--key', 'k', '--secret', 's', 'http://127.0.0.1:1/']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: unreachable: cannot reach http:\/\/127\.0\.0\.1:1/);
  });
});
