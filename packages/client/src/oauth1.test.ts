import { describe, expect, it } from 'vitest';
import { generateNonce, NONCE_LENGTH, signRequest } from './oauth1.js';

// RFC 5849 §3.4.1.1's example request (HMAC-SHA1, with a token), and its base string from the RFC.
const RFC_BASE_STRING =
  'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7';

describe('signRequest', () => {
  it('reproduces the RFC 5849 §3.4.1.1 base string and exposes every intermediate value', () => {
    const signed = signRequest(
      {
        consumerKey: '9djdj82h48djs9d2',
        consumerSecret: 'j49sk3j29djd',
        token: 'kkk9d7dh3k39sjv7',
        tokenSecret: 'dh893hdasih9',
        signatureMethod: 'HMAC-SHA1',
        realm: 'Example',
      },
      {
        method: 'POST',
        url: 'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b',
        contentType: 'application/x-www-form-urlencoded',
        body: 'c2&a3=2+q',
        nonce: '7d8f3e4a',
        timestamp: 137131201,
      },
    );
    // The RFC's example omits oauth_version; ours sends it (optional, §3.1), so remove it to compare.
    expect(signed.baseString.replace('%26oauth_version%3D1.0', '')).toBe(RFC_BASE_STRING);
    expect(signed.normalizedParameters).toContain('a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=');
    expect(signed.authorization).toMatch(/^OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2"/);
    expect(signed.authorization).toContain(`oauth_signature="${encodeURIComponent(signed.signature)}"`);
    expect(signed.oauthParams.at(-1)?.[0]).toBe('oauth_signature');
  });

  it('is reproducible with a fixed nonce and timestamp, and adds a body hash only to non-form bodies', () => {
    const creds = { consumerKey: 'k', consumerSecret: 's', bodyHash: true } as const;
    const req = {
      method: 'PUT',
      url: 'https://h.example/x',
      contentType: 'application/json',
      body: '{}',
      nonce: 'n',
      timestamp: 1,
    };
    expect(signRequest(creds, req)).toEqual(signRequest(creds, req));
    expect(signRequest(creds, req).authorization).toContain('oauth_body_hash=');
    expect(
      signRequest(creds, { ...req, contentType: 'application/x-www-form-urlencoded', body: 'a=1' }).authorization,
    ).not.toContain('oauth_body_hash=');
  });

  it('draws nonces of base62 characters', () => {
    const nonce = generateNonce();
    expect(nonce).toMatch(new RegExp(`^[0-9A-Za-z]{${NONCE_LENGTH}}$`));
    expect(generateNonce()).not.toBe(nonce);
  });
});
