import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // The client package from its source (no build needed to test it); tsconfig.json maps it the same way.
    alias: { "@verifyd/client": fileURLToPath(new URL("packages/client/src/index.ts", import.meta.url)) },
  },
  test: {
    include: ["test/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
