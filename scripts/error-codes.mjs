#!/usr/bin/env node
// Writes docs/errors.md from the error catalogue in @keyward/core, so the docs list exactly
// the codes the code has. `npm test` checks that the file is current.
import { writeFileSync } from 'node:fs';
import { ERROR_CODES } from '@keyward/core';

export function renderErrorCodes() {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, { status, meaning }]) => `| \`${code}\` | ${status} | ${meaning} |`,
  );
  return `# Error codes

Every expected failure in Keyward is a value with one of these stable codes. HTTP responses carry
the code in \`{ "error": { "code", "message", "requestId" } }\` with the status below. This file is
generated from \`ERROR_CODES\` in \`@keyward/core\` by \`node scripts/error-codes.mjs\`.

| code | status | meaning |
| --- | --- | --- |
${rows.join('\n')}
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorCodes());
}
