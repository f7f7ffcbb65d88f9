import { describe, expect, it } from 'vitest';
import { prepareRequest, resolveUrl } from './request.js';

const BASE = new URL('https://api.example.com/api/');

describe('resolveUrl', () => {
  it('appends paths to the base path and keeps the query, drops the fragment', () => {
    expect(resolveUrl(BASE, '/v1/x?a=1#frag').href).toBe('https://api.example.com/api/v1/x?a=1');
    expect(resolveUrl(BASE, 'v1/x').href).toBe('https://api.example.com/api/v1/x');
    expect(resolveUrl(new URL('https://api.example.com'), '/v1/x').href).toBe('https://api.example.com/v1/x');
  });

  it('takes absolute URLs of the same origin only', () => {
    expect(resolveUrl(BASE, 'https://api.example.com/other').href).toBe('https://api.example.com/other');
    expect(() => resolveUrl(BASE, 'http://api.example.com/other')).toThrow(TypeError);
    expect(() => resolveUrl(BASE, new URL('https://api.example.com.evil.net/'))).toThrow(TypeError);
    // A protocol-relative path stays a path on the same origin.
    expect(resolveUrl(BASE, '//evil.net/x').origin).toBe('https://api.example.com');
  });
});

describe('prepareRequest', () => {
  it('reads every body type into bytes with the Content-Type fetch would send', async () => {
    const form = await prepareRequest(BASE, '/x', { method: 'POST', body: new URLSearchParams({ a: "!*'() é" }) });
    expect(form.headers.get('content-type')).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    expect(new TextDecoder().decode(form.body)).toBe('a=%21*%27%28%29+%C3%A9');

    const data = new FormData();
    data.set('file', new Blob(['hello']), 'a.txt');
    const multipart = await prepareRequest(BASE, '/x', { method: 'POST', body: data });
    expect(multipart.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    expect(new TextDecoder().decode(multipart.body)).toContain('hello');

    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const streamed = await prepareRequest(BASE, '/x', { method: 'PUT', body: stream, duplex: 'half' } as RequestInit);
    expect(new TextDecoder().decode(streamed.body)).toBe('streamed');

    expect((await prepareRequest(BASE, '/x')).body).toBeUndefined();
  });

  it('accepts a Request, and passes signal and other options through', async () => {
    const controller = new AbortController();
    const prepared = await prepareRequest(
      BASE,
      new Request('https://api.example.com/api/y?b=2', {
        method: 'PATCH',
        body: '{}',
        headers: { 'content-type': 'application/json', 'x-trace': '1' },
      }),
      { signal: controller.signal, redirect: 'manual' },
    );
    expect(prepared).toMatchObject({ method: 'PATCH', init: { redirect: 'manual' } });
    expect(prepared.url.href).toBe('https://api.example.com/api/y?b=2');
    expect(prepared.headers.get('x-trace')).toBe('1');
    expect(new TextDecoder().decode(prepared.body)).toBe('{}');
    controller.abort();
    expect(prepared.init.signal?.aborted).toBe(true);
  });

  it('refuses what fetch refuses: a body on GET', async () => {
    await expect(prepareRequest(BASE, '/x', { method: 'GET', body: 'x' })).rejects.toThrow(TypeError);
  });
});
