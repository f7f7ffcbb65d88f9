#!/usr/bin/env node
// Writes docs/errors.md from the server's error catalogue (packages/server/src/errors/codes.ts),
// so the docs list exactly the codes the code has, each marked as a protocol code (defined by
// @keyward/core) or a product code (defined by the server). It reads the TypeScript sources
// through a small loader, so no build is needed first. `--check` exits 1 when the file is stale;
// `npm test` checks it too (packages/server/test/docs-errors.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';

register('./source-loader.mjs', import.meta.url);
const { ERROR_CODES, isProtocolCode } = await import('../packages/server/src/errors/codes.ts');

const target = new URL('../docs/errors.md', import.meta.url);

/** The contents of docs/errors.md for the current catalogue. */
export function renderErrorCodes() {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, { status, meaning }]) =>
      `| \`${code}\` | ${status} | ${isProtocolCode(code) ? 'protocol' : 'product'} | ${meaning} |`,
  );
  return `# Error codes

Every expected failure in Keyward is a value with one of these stable codes. HTTP responses carry
the code in \`{ "error": { "code", "message", "requestId" } }\` with the status below.

A **protocol** code is defined by \`@keyward/core\`, whose functions return it when parsing
credentials or verifying an OAuth 1.0a request; core knows no HTTP, so its status is the server's
choice. A **product** code is defined by the server (accounts, keys, sessions, limits,
infrastructure). This file is generated from \`ERROR_CODES\` in \`packages/server/src/errors/codes.ts\`
by \`node scripts/error-codes.mjs\`.

| code | status | kind | meaning |
| --- | --- | --- | --- |
${rows.join('\n')}
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--check')) {
    if (readFileSync(target, 'utf8') !== renderErrorCodes()) {
      console.error('docs/errors.md is stale: run `node scripts/error-codes.mjs`');
      process.exit(1);
    }
  } else {
    writeFileSync(target, renderErrorCodes());
  }
}
