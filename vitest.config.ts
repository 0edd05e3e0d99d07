import { defineConfig } from 'vitest/config';

// Three projects: `unit` needs no server (`npm run test:unit`, seconds); `integration` tests each
// driver and the test environment against the real servers; `e2e` runs the CLI end to end. The
// global setup brings the servers up (building them the first time) for the two that need them.
const SERVER_TESTS = ['src/drivers/toxiproxy/**/*.test.ts', 'src/drivers/docker/**/*.test.ts', 'src/drivers/kubernetes/**/*.test.ts', 'testenv/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'fixtures/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...SERVER_TESTS],
        },
      },
      {
        extends: true,
        test: { name: 'integration', include: SERVER_TESTS, globalSetup: ['test/global-setup.ts'] },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
      },
    ],
  },
});
