/**
 * A request as a runnable curl command, quoted for POSIX `sh`: what `keyward sign` prints, so a
 * signed request can be sent, inspected and compared with another implementation's by hand.
 *
 * @packageDocumentation
 */

/** The request to print. */
export interface CurlRequest {
  readonly method: string;
  readonly url: URL | string;
  /** In the order they are to be passed. */
  readonly headers: Iterable<readonly [name: string, value: string]>;
  /** The body, sent byte for byte (`--data-raw`). */
  readonly body?: string | undefined;
}

// Characters that never need quoting in POSIX sh (XCU §2.2): no expansion, globbing or splitting.
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument for POSIX `sh`: inside single quotes nothing is special (XCU §2.2.2) except
 * the single quote itself, written as `'\''` (close, escaped quote, reopen).
 */
export function shellQuote(arg: string): string {
  if (SAFE.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The curl command that sends `request` exactly: `-sS` so a piped run prints the answer without
 * a progress meter (errors still show), `-g` so `[]{}` in the URL are not globbed,
 * `--data-raw` so a body starting with `@` is not read as a file name, and `-X` only where curl
 * would otherwise pick another method (GET without a body, POST with one). One argument per line.
 */
export function toCurl(request: CurlRequest): string {
  const url = typeof request.url === 'string' ? request.url : request.url.href;
  const method = request.method.toUpperCase();
  const args: string[] = ['curl -sS -g'];
  const hasBody = request.body !== undefined;
  if (method === 'HEAD') args.push('--head');
  else if (method !== (hasBody ? 'POST' : 'GET')) args.push(`-X ${shellQuote(request.method)}`);
  for (const [name, value] of request.headers) {
    // curl drops a header given as "Name:" and sends an empty one for "Name;".
    args.push(`-H ${shellQuote(value === '' ? `${name};` : `${name}: ${value}`)}`);
  }
  if (hasBody) args.push(`--data-raw ${shellQuote(request.body ?? '')}`);
  args.push(shellQuote(url));
  return args.join(' \\\n  ');
}
