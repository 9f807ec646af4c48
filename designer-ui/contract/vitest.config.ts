import { defineConfig } from 'vitest/config';

// The contract inventory (scripts/contract): node, one file, against a live `weft demo`.
export default defineConfig({
  test: { environment: 'node', include: ['contract/**/*.test.ts'], testTimeout: 120000, hookTimeout: 120000 },
});
