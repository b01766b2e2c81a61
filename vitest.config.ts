import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url))

// Tests run against the packages' sources (the same code the build emits), so a test run never
// depends on a stale dist/. The runtime and e2e suites use the built packages on purpose.
const alias = [
  { find: /^@sluice\/client$/, replacement: src('./packages/client/src/index.ts') },
  { find: /^@sluice\/server-kit\/testing$/, replacement: src('./packages/server-kit/src/testing/index.ts') },
  { find: /^@sluice\/server-kit\/fetch$/, replacement: src('./packages/server-kit/src/fetch-entry.ts') },
  { find: /^@sluice\/server-kit\/redis$/, replacement: src('./packages/server-kit/src/redis/index.ts') },
  { find: /^@sluice\/server-kit$/, replacement: src('./packages/server-kit/src/index.ts') },
  { find: /^@sluice\/react$/, replacement: src('./packages/react/src/index.ts') },
]

export default defineConfig({
  resolve: { alias },
  test: {
    // Each file runs in a forked child so leak checks with process.getActiveResourcesInfo() see only
    // that file's resources.
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 15_000,
    hookTimeout: 15_000,
    projects: [
      { extends: true, test: { name: 'client', environment: 'node', include: ['test/client/**/*.test.ts'] } },
      { extends: true, test: { name: 'server-kit', environment: 'node', include: ['test/server-kit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'react',
          environment: 'jsdom',
          include: ['test/react/**/*.test.{ts,tsx}'],
          typecheck: { enabled: true, include: ['test/react/**/*.test-d.{ts,tsx}'] },
        },
      },
      { extends: true, test: { name: 'repo', environment: 'node', include: ['test/repo/**/*.test.ts'] } },
      { extends: true, test: { name: 'conformance', environment: 'node', include: ['test/conformance/**/*.test.ts'] } },
      // Typed streams end to end (one definition, both ends) and resumable POST streams: runtime tests
      // against real servers, and type tests (*.test-d.ts) for the narrowing and the compile errors.
      {
        extends: true,
        test: {
          name: 'typed',
          environment: 'node',
          include: ['test/typed/**/*.test.{ts,tsx}'],
          typecheck: { enabled: true, include: ['test/typed/**/*.test-d.{ts,tsx}'] },
        },
      },
      // Scale-out through Redis: starts its own redis-server, and runs server instances from the built
      // packages (dist/) as child processes.
      {
        extends: true,
        test: {
          name: 'scale',
          environment: 'node',
          include: ['test/scale/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      // These two run the built packages (dist/) in other runtimes and in Chromium; `npm test`
      // builds before it runs Vitest.
      {
        extends: true,
        test: { name: 'runtimes', environment: 'node', include: ['test/runtimes/**/*.test.ts'], testTimeout: 60_000 },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
})
