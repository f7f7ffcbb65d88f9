import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote, toCurl } from './curl.js';

/** What `sh` makes of `words`: each argument on its own NUL-terminated record. */
function throughSh(words: string): string[] {
  const run = spawnSync('sh', ['-c', `printf '%s\\0' ${words}`], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  it.each([
    'plain',
    '',
    "it's",
    "''",
    'a b\tc\nd',
    '$HOME `id` $(id) \\ " ; & | < > * ? [ ] { } ~ # !',
    'OAuth oauth_consumer_key="k", oauth_signature="a%2Bb%3D"',
    'café ☕',
  ])('round-trips %j through sh', (arg) => {
    expect(throughSh(shellQuote(arg))).toEqual([arg]);
  });

  it('leaves safe words bare', () => {
    expect(shellQuote('https://h.example/p%2C2')).toBe('https://h.example/p%2C2');
    // '?' is a glob character (XCU §2.13.1): a URL with a query is quoted.
    expect(shellQuote('https://h.example/p?a=1')).toBe("'https://h.example/p?a=1'");
    expect(shellQuote('a&b')).toBe("'a&b'");
  });
});

describe('toCurl', () => {
  it('prints a command whose arguments survive sh exactly', () => {
    const command = toCurl({
      method: 'POST',
      url: new URL("https://api.example.com/v1/x?q=!*'()&n=caf%C3%A9"),
      headers: [
        ['Authorization', 'OAuth oauth_consumer_key="k\'ey", oauth_signature="x%3D"'],
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['X-Empty', ''],
      ],
      body: "@not-a-file&quote='",
    });
    const args = throughSh(command.replace(/^curl /, ''));
    expect(args).toEqual([
      '-sS',
      '-g',
      '-H',
      'Authorization: OAuth oauth_consumer_key="k\'ey", oauth_signature="x%3D"',
      '-H',
      'Content-Type: application/x-www-form-urlencoded',
      '-H',
      'X-Empty;',
      '--data-raw',
      "@not-a-file&quote='",
      'https://api.example.com/v1/x?q=!*%27()&n=caf%C3%A9',
    ]);
  });

  it('names the method only where curl would pick another', () => {
    expect(toCurl({ method: 'GET', url: 'https://h/', headers: [] })).toBe('curl -sS -g \\\n  https://h/');
    expect(toCurl({ method: 'DELETE', url: 'https://h/', headers: [] })).toContain('-X DELETE');
    expect(toCurl({ method: 'PUT', url: 'https://h/', headers: [], body: '{}' })).toContain('-X PUT');
    expect(toCurl({ method: 'POST', url: 'https://h/', headers: [], body: '' })).not.toContain('-X');
    expect(toCurl({ method: 'HEAD', url: 'https://h/', headers: [] })).toContain('--head');
  });
});
