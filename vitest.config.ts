import { defineConfig } from 'vitest/config';

const pkg = (name: string, setup: { globalSetup?: string[]; setupFiles?: string[] } = {}) => ({
  extends: true as const,
  test: {
    name,
    root: `packages/${name}`,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    ...setup,
  },
});

export default defineConfig({
  // Tests import workspace packages from source (the "source" export condition), so they
  // never run against a stale build.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    // The server's store is tested on a real PostgreSQL, started once per run for that project
    // only (Vitest runs a project's globalSetup only when some of its test files are selected).
    // Every server suite also fails if a secret reaches a log line (test/support/no-secrets-in-logs.ts).
    projects: [
      pkg('core'),
      pkg('client'),
      pkg('server', {
        globalSetup: ['test/support/postgres.ts'],
        setupFiles: ['test/support/no-secrets-in-logs.ts'],
      }),
      // The web console in Debian's Chromium against a real server on SQLite: the console is
      // built once first (test/build.ts), as the server serves it.
      {
        extends: true as const,
        test: {
          name: 'console',
          root: 'packages/console',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/build.ts'],
          setupFiles: ['../server/test/support/no-secrets-in-logs.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
    testTimeout: 20_000,
    // Vitest's default is one worker per core but one (a single worker on a 2-core machine). Most
    // suites wait on child processes, sockets and PostgreSQL rather than the CPU: three workers
    // keep both cores busy.
    maxWorkers: 3,
  },
});
