/**
 * `keyward sign` and `keyward call`: sign a request as OAuth 1.0a for any server (Keyward or
 * not; keys and secrets in any format) and print it as a runnable curl command, or send it and
 * print the response. With `--debug`, the signature debugger: the parameters that entered the
 * signature, the normalized parameter string, the base string and the signature, to compare
 * line by line with what another implementation computed. The signing itself is
 * `@keyward/client`'s `signRequest`; this file only reads options and writes output.
 *
 * @packageDocumentation
 */

import { type SignedOAuth1Request, signRequest, toCurl } from '@keyward/client';
import { type Command, CommanderError, Option } from 'commander';
import type { CliContext } from './context.js';
import { messageOf } from './context.js';
import { abort, EXIT_FAILURE, formatError, writeJson } from './output.js';

interface SignOptions {
  key: string;
  secret: string;
  signatureMethod: 'HMAC-SHA256' | 'HMAC-SHA1';
  token?: string;
  tokenSecret?: string;
  request?: string;
  data?: string;
  header: string[];
  bodyHash?: boolean;
  realm?: string;
  oauthVersion: boolean;
  nonce?: string;
  timestamp?: string;
  debug?: boolean;
}

/** A signed request, ready to print or send. */
interface Prepared {
  readonly method: string;
  readonly url: URL;
  /** Authorization first, then the caller's headers in their order. */
  readonly headers: [string, string][];
  readonly body: string | undefined;
  readonly signed: SignedOAuth1Request;
}

// RFC 7230 §3.2.6: a header name is a token.
const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)$/s;
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FORM = 'application/x-www-form-urlencoded';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Reads `--secret -` / `--token-secret -` from standard input (first line), keeping it out of argv and shell history. */
async function secretFrom(ctx: CliContext, value: string | undefined): Promise<string | undefined> {
  if (value !== '-') return value;
  const text = Buffer.from(await ctx.readStdin()).toString('utf8');
  return text.replace(/\r?\n[\s\S]*$/, '');
}

async function prepare(ctx: CliContext, target: string, options: SignOptions): Promise<Prepared> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return abort(ctx, { code: 'invalid_input', detail: 'URL must be an absolute http: or https: URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    abort(ctx, { code: 'invalid_input', detail: 'URL must be an absolute http: or https: URL' });
  }
  // A fragment is never sent (RFC 7230 §5.1), so it is not signed either.
  url.hash = '';
  const body = options.data;
  // curl's own defaults: POST when there is a body, GET otherwise.
  const method = options.request ?? (body === undefined ? 'GET' : 'POST');
  if (!METHOD.test(method)) abort(ctx, { code: 'invalid_input', detail: '-X must be an HTTP method token' });

  const headers: [string, string][] = [];
  for (const line of options.header) {
    const match = HEADER.exec(line);
    if (match === null) abort(ctx, { code: 'invalid_input', detail: "-H must be 'Name: value'" });
    const [, name = '', value = ''] = match;
    // The signature goes in Authorization; a second one would make the request ambiguous.
    if (name.toLowerCase() === 'authorization') {
      abort(ctx, { code: 'invalid_input', detail: '-H Authorization: the signature is the Authorization header' });
    }
    headers.push([name, value.trimEnd()]);
  }
  let contentType = headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  // curl sends a -d body as a form unless told otherwise; the signature must cover what curl sends.
  if (body !== undefined && contentType === undefined) {
    contentType = FORM;
    headers.push(['Content-Type', FORM]);
  }

  if (options.tokenSecret !== undefined && options.token === undefined) {
    abort(ctx, { code: 'invalid_input', detail: '--token-secret needs --token' });
  }
  let timestamp = Math.floor(Date.now() / 1000);
  if (options.timestamp !== undefined) {
    // RFC 5849 §3.3: a positive integer number of seconds.
    if (!/^[0-9]{1,12}$/.test(options.timestamp)) {
      abort(ctx, { code: 'invalid_input', detail: '--timestamp must be whole seconds since the epoch' });
    }
    timestamp = Number(options.timestamp);
  }
  if (options.nonce === '') abort(ctx, { code: 'invalid_input', detail: '--nonce must not be empty' });

  if (options.secret === '-' && options.tokenSecret === '-') {
    abort(ctx, {
      code: 'invalid_input',
      detail: 'only one of --secret and --token-secret can be read from standard input',
    });
  }
  const consumerSecret = (await secretFrom(ctx, options.secret)) ?? '';
  const tokenSecret = await secretFrom(ctx, options.tokenSecret);
  let signed: SignedOAuth1Request;
  try {
    signed = signRequest(
      {
        consumerKey: options.key,
        consumerSecret,
        token: options.token,
        tokenSecret,
        signatureMethod: options.signatureMethod,
        bodyHash: options.bodyHash === true,
        realm: options.realm,
        oauthVersion: options.oauthVersion,
      },
      { method, url, contentType, body, nonce: options.nonce, timestamp },
    );
  } catch (error) {
    // signRequest's messages name the problem (a malformed query or form body), never a secret.
    return abort(ctx, { code: 'invalid_input', detail: messageOf(error) });
  }
  return { method, url, headers: [['Authorization', signed.authorization], ...headers], body, signed };
}

/** The signature debugger's report: what entered the signature and what came out. No secret. */
function debugReport(p: Prepared) {
  return {
    method: p.method.toUpperCase(),
    baseStringUri: `${p.url.origin}${p.url.pathname}`,
    parameters: p.signed.params.map(([name, value]) => ({ name, value })),
    normalizedParameters: p.signed.normalizedParameters,
    baseString: p.signed.baseString,
    signature: p.signed.signature,
  };
}

function formatDebug(p: Prepared): string {
  const d = debugReport(p);
  const lines = [
    `method:                ${d.method}`,
    `base string URI:       ${d.baseStringUri}`,
    'parameters (decoded, in the order collected):',
    ...d.parameters.map(({ name, value }) => `  ${JSON.stringify(name)} = ${JSON.stringify(value)}`),
    `normalized parameters: ${d.normalizedParameters}`,
    `base string:           ${d.baseString}`,
    `signature:             ${d.signature}`,
  ];
  return `${lines.join('\n')}\n`;
}

function addSigningOptions(command: Command): Command {
  return command
    .argument('<url>', 'the absolute URL to request, query included')
    .requiredOption('--key <id>', 'consumer key (a Keyward key id, or any OAuth 1.0a consumer key)')
    .requiredOption(
      '--secret <secret>',
      'consumer secret; "-" reads it from standard input (keeps it out of shell history)',
    )
    .addOption(
      new Option('--signature-method <method>', 'signature method')
        .choices(['HMAC-SHA256', 'HMAC-SHA1'])
        .default('HMAC-SHA256'),
    )
    .option('--token <token>', 'oauth_token (a signed session token, or a 3-legged access token)')
    .option('--token-secret <secret>', 'token secret (a session secret); "-" reads it from standard input')
    .option('-X, --request <method>', 'HTTP method (default GET, or POST with -d)')
    .option('-d, --data <body>', 'request body, sent as is (a form unless -H sets another Content-Type)')
    .option('-H, --header <header>', "request header 'Name: value' (repeatable)", collect, [])
    .option('--body-hash', 'cover a body that is not form-encoded with oauth_body_hash')
    .option('--realm <realm>', 'realm of the Authorization header (not signed)')
    .option('--no-oauth-version', 'leave out oauth_version="1.0" (optional, RFC 5849 §3.1), as some signers do')
    .option('--nonce <nonce>', 'use this nonce (reproducible output; never reuse one against a live server)')
    .option('--timestamp <seconds>', 'use this timestamp (reproducible output)')
    .option('--debug', 'also print the parameters, normalized parameters, base string and signature (to stderr)');
}

/** Registers `sign` and `call` on the program. */
export function registerSign(program: Command, ctx: CliContext): void {
  addSigningOptions(
    program
      .command('sign')
      .description('sign a request with OAuth 1.0a and print it as a runnable curl command (`| sh` runs it)'),
  ).action(async (target: string, options: SignOptions) => {
    const p = await prepare(ctx, target, options);
    const curl = toCurl({ method: p.method, url: p.url, headers: p.headers, body: p.body });
    if (ctx.json()) {
      writeJson(ctx, {
        curl,
        method: p.method,
        url: p.url.href,
        headers: Object.fromEntries(p.headers),
        ...(p.body === undefined ? {} : { body: p.body }),
        ...(options.debug === true ? { debug: debugReport(p) } : {}),
      });
      return;
    }
    if (options.debug === true) ctx.err(formatDebug(p));
    ctx.out(`${curl}\n`);
  });

  addSigningOptions(
    program
      .command('call')
      .description('sign a request with OAuth 1.0a, send it, and print the response (exit 1 unless 2xx)'),
  ).action(async (target: string, options: SignOptions) => {
    const p = await prepare(ctx, target, options);
    if (options.debug === true && !ctx.json()) ctx.err(formatDebug(p));
    let response: Response;
    try {
      // A redirect is shown, not followed: the signature covers one URL only.
      response = await fetch(p.url, { method: p.method, headers: p.headers, body: p.body, redirect: 'manual' });
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      const message = `cannot reach ${p.url.origin}: ${messageOf(cause ?? error)}`;
      ctx.err(formatError('unreachable', message, ctx.json()));
      throw new CommanderError(EXIT_FAILURE, 'keyward.unreachable', message);
    }
    const text = await response.text();
    if (ctx.json()) {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      writeJson(ctx, {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body,
        ...(options.debug === true ? { debug: debugReport(p) } : {}),
      });
    } else {
      const lines = [`HTTP ${response.status} ${response.statusText}`.trimEnd()];
      for (const [name, value] of response.headers) lines.push(`${name}: ${value}`);
      ctx.out(`${lines.join('\n')}\n\n${text}${text.endsWith('\n') || text === '' ? '' : '\n'}`);
    }
    if (response.status >= 200 && response.status < 300) return;
    let code = 'http_error';
    let message = `HTTP ${response.status}`;
    try {
      const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
      if (typeof error?.code === 'string') code = error.code;
      if (typeof error?.message === 'string') message = error.message;
    } catch {}
    ctx.err(formatError(code, message, ctx.json()));
    throw new CommanderError(EXIT_FAILURE, `keyward.${code}`, message);
  });
}
