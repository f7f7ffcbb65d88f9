// Builds the console into packages/server/dist/console before its browser tests, so that they
// always test the current source, exactly as `npm run build` ships it.
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export default async function setup(): Promise<void> {
  await build({ configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)), logLevel: 'warn' });
}
