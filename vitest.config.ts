import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Machines are shared: a slow test is not a failing test. Speed lives in `npm run bench`.
    testTimeout: 60_000,
  },
});
