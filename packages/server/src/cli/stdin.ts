/**
 * Reading a password from standard input, byte-exact: the only change is the one line ending a
 * shell or `echo` adds. Passwords are verified exactly as typed (ASVS §2.1), so trimming spaces
 * here would lock out a user whose password ends in one.
 *
 * @packageDocumentation
 */

/** Reads a stream to its end. */
export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * The password in `input`: UTF-8 with exactly one trailing `\n` or `\r\n` removed, nothing else
 * (not a second newline, not spaces, not a byte order mark). `undefined` when the bytes are not
 * valid UTF-8, which would otherwise be replaced silently and hash to a different password.
 */
export function passwordFromInput(input: Uint8Array): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch {
    return undefined;
  }
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}
