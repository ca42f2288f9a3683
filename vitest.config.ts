import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests bind real ports and spawn real peers; keep the machine's two cores calm.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
