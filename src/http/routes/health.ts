import { Hono } from "hono";
import type { Store } from "../../core/ports.js";
import type { AppEnv } from "../context.js";

/** Liveness answers while the process runs; readiness also needs the database. */
export function healthRoutes(deps: { store: Store; version: string }) {
  const app = new Hono<AppEnv>();
  app.get("/healthz", (c) => c.json({ status: "ok", version: deps.version }));
  app.get("/readyz", async (c) => {
    try {
      await deps.store.ping();
      return c.json({ status: "ready" });
    } catch {
      return c.json({ status: "unavailable", detail: "the database does not answer" }, 503);
    }
  });
  return app;
}
