/**
 * The import boundaries of verifyd (`npm run check:imports`, run in CI). ARCHITECTURE.md explains the
 * layers these rules keep apart.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "An import cycle makes load order matter and blurs which module depends on which.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-is-the-domain",
      severity: "error",
      comment: "core/ is the domain: it speaks through its ports and never reaches for an adapter or the configuration.",
      from: { path: "^src/core/" },
      to: { path: "^src/(http|store|channels|delivery|limits|config|observability)/" },
    },
    {
      name: "core-has-no-edge-libraries",
      severity: "error",
      comment: "HTTP, SQL and drivers live at the edges.",
      from: { path: "^src/core/" },
      to: { path: "node_modules/(hono|@hono|drizzle-orm|better-sqlite3|pg|ioredis|rate-limiter-flexible)/" },
    },
    {
      name: "pg-is-not-sqlite",
      severity: "error",
      comment: "Code both backends share lives in store/ itself; one backend never imports the other.",
      from: { path: "^src/store/pg/" },
      to: { path: "^src/store/sqlite/" },
    },
    {
      name: "sqlite-is-not-pg",
      severity: "error",
      comment: "Code both backends share lives in store/ itself; one backend never imports the other.",
      from: { path: "^src/store/sqlite/" },
      to: { path: "^src/store/pg/" },
    },
    {
      name: "http-speaks-no-sql",
      severity: "error",
      comment: "Routes call core verbs; the database is the store's business.",
      from: { path: "^src/http/" },
      to: { path: "node_modules/(drizzle-orm|better-sqlite3|pg)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
