// The guard that fails a suite when a secret reaches a log line really catches one. The fake
// leak is caught with the guard's echo off, so no real-looking secret is printed in the test
// output (where a CI log reader, or a secret scanner, would take it for a real leak).
import { generateApiKey } from '@keyward/core';
import { expect, it } from 'vitest';
import { takeCaught, withoutEcho } from './support/no-secrets-in-logs.js';

it('catches a secret written to the console, stderr or a process warning', async () => {
  const key = generateApiKey();
  await withoutEcho(async () => {
    console.info('leaked', key.token);
    process.stderr.write(`leaked ${key.keySecret}\n`);
    process.emitWarning(`leaked ${key.keySecret}`);
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  });
  const caught = takeCaught();
  expect(caught).toHaveLength(3);
  expect(caught[0]).toMatch(/^leaked kw_key_\w+…$/);
  expect(caught[1]).toMatch(/^leaked kw_sk_\w+…\n$/);
  expect(caught[2]).toMatch(/^leaked kw_sk_\w+…\n/);
  // The report itself shows only a prefix, never the secret.
  expect(caught.join('\n')).not.toContain(key.token);
  expect(caught.join('\n')).not.toContain(key.keySecret);
});

it("puts Node's warning printer back afterwards", async () => {
  const before = process.listeners('warning');
  expect(before.length).toBeGreaterThanOrEqual(2); // Node's printer and the guard
  await withoutEcho(async () => {
    expect(process.listeners('warning')).toHaveLength(1);
  });
  expect(process.listeners('warning')).toEqual(expect.arrayContaining(before));
  expect(process.listeners('warning')).toHaveLength(before.length);
});
