import { describe, expect, it } from 'vitest';
import { errorFromResponse, KeywardError } from './errors.js';

function response(body: string, init: ResponseInit & { type?: string } = {}): Response {
  return new Response(body, {
    status: init.status ?? 400,
    headers: { 'content-type': init.type ?? 'application/json', ...(init.headers as Record<string, string>) },
  });
}

describe('errorFromResponse', () => {
  it("reads Keyward's one error shape", async () => {
    const error = await errorFromResponse(
      response('{"error":{"code":"rate_limited","message":"slow down","requestId":"id-1"}}', {
        status: 429,
        headers: { 'x-request-id': 'id-header' },
      }),
    );
    expect(error).toBeInstanceOf(KeywardError);
    expect(error).toMatchObject({
      name: 'KeywardError',
      code: 'rate_limited',
      status: 429,
      message: 'slow down',
      requestId: 'id-1',
    });
  });

  it('reads the RFC 6749 §5.2 shape, with the request id from the header', async () => {
    const error = await errorFromResponse(
      response('{"error":"invalid_scope","error_description":"scope admin is not granted"}', {
        headers: { 'x-request-id': 'id-2' },
      }),
    );
    expect(error).toMatchObject({ code: 'invalid_scope', message: 'scope admin is not granted', requestId: 'id-2' });
    expect((await errorFromResponse(response('{"error":"invalid_request"}'))).message).toBe('invalid_request');
  });

  it('reports anything else by status, with the OAuth problem when there is one', async () => {
    const error = await errorFromResponse(
      new Response('<html/>', {
        status: 401,
        statusText: 'Unauthorized',
        headers: { 'www-authenticate': 'OAuth realm="x", oauth_problem="nonce_used"' },
      }),
    );
    expect(error).toMatchObject({ code: 'unexpected_response', status: 401, oauthProblem: 'nonce_used' });
    expect(error.message).toBe('HTTP 401 Unauthorized without a Keyward or OAuth error body');
    expect((await errorFromResponse(response('{not json'))).code).toBe('unexpected_response');
  });
});
