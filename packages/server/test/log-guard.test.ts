// The guard that fails a suite when a secret reaches a log line really catches one.
import { generateApiKey } from '@keyward/core';
import { expect, it } from 'vitest';
import { takeCaught } from './support/no-secrets-in-logs.js';

it('catches a secret written to the console, stderr or a process warning', async () => {
  const key = generateApiKey();
  console.info('leaked', key.token);
  process.emitWarning(`leaked ${key.keySecret}`);
  await new Promise((resolve) => setImmediate(resolve));
  const caught = takeCaught();
  expect(caught.length).toBeGreaterThanOrEqual(2);
  // The report itself shows only a prefix, never the secret.
  expect(caught.join('\n')).not.toContain(key.token);
  expect(caught.join('\n')).not.toContain(key.keySecret);
});
