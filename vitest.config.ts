import { defineConfig } from 'vitest/config';

const pkg = (name: string) => ({
  extends: true as const,
  test: {
    name,
    root: `packages/${name}`,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});

export default defineConfig({
  // Tests import workspace packages from source (the "source" export condition), so they
  // never run against a stale build.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    projects: [pkg('core'), pkg('client'), pkg('server')],
    testTimeout: 20_000,
  },
});
