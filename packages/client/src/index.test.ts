import { verifyOAuth1 } from '@keyward/core';
import { describe, expect, it } from 'vitest';
import { signOAuth1 } from './index.js';

describe('@keyward/client', () => {
  it('signs requests that core verifies', () => {
    const signed = signOAuth1({
      method: 'GET',
      url: 'https://api.example.com/v1/whoami?x=1',
      consumerKey: 'ck',
      consumerSecret: 'cs',
      nonce: 'n1',
      timestamp: 1_800_000_000,
    });
    const result = verifyOAuth1(
      {
        method: 'GET',
        origin: 'https://api.example.com',
        target: '/v1/whoami?x=1',
        authorization: signed.authorization,
      },
      { secrets: () => ({ consumerSecret: 'cs' }), now: 1_800_000_000_000 },
    );
    expect(result.ok).toBe(true);
  });
});
