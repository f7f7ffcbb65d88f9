import { describe, expect, it } from 'vitest';
import { SkewedClock, serverTimeFromRefusal } from './clock.js';
import { errorFromResponse } from './errors.js';

function refusal(headers: Record<string, string>, code = 'timestamp_refused', status = 401): Response {
  return new Response(JSON.stringify({ error: { code, message: 'm', requestId: 'r' } }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

describe('serverTimeFromRefusal', () => {
  it('takes the middle of oauth_acceptable_timestamps', async () => {
    const res = refusal({
      'www-authenticate':
        'Basic realm="keyward", Bearer realm="keyward", OAuth realm="keyward", oauth_problem="timestamp_refused", oauth_acceptable_timestamps="1000-1600"',
    });
    expect(await serverTimeFromRefusal(res)).toBe(1_300_000);
  });

  it('falls back to the Date header, and to the body code when the challenge has no problem', async () => {
    const date = 'Tue, 15 Nov 1994 08:12:31 GMT';
    expect(await serverTimeFromRefusal(refusal({ date }))).toBe(Date.parse(date));
  });

  it('leaves other refusals alone, and the body readable', async () => {
    const other = refusal({ 'www-authenticate': 'OAuth oauth_problem="signature_invalid"' }, 'signature_invalid');
    expect(await serverTimeFromRefusal(other)).toBeUndefined();
    expect((await errorFromResponse(other)).code).toBe('signature_invalid');
    expect(
      await serverTimeFromRefusal(refusal({ date: 'Tue, 15 Nov 1994 08:12:31 GMT' }, 'timestamp_refused', 400)),
    ).toBe(undefined);
  });
});

describe('SkewedClock', () => {
  it('adds the learned offset to whole seconds', () => {
    let now = 10_500;
    const clock = new SkewedClock(() => now);
    expect(clock.timestamp()).toBe(10);
    clock.learn(3_610_000);
    expect(clock.offsetMs).toBe(3_599_500);
    now = 11_500;
    expect(clock.timestamp()).toBe(3611);
  });
});
