import { Hono } from "hono";
import { hashApiKey, sameDigest } from "../../core/api-keys.js";
import type { AppEnv } from "../context.js";
import { problem } from "../problem.js";

export interface MetricsRouteDeps {
  /** The exposition text, collected at each scrape. */
  render(): Promise<string>;
  contentType: string;
  /** When set, a scrape must send `Authorization: Bearer <token>`; without it `/metrics` is open. */
  token?: string;
}

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoutes(deps: MetricsRouteDeps) {
  const app = new Hono<AppEnv>();
  const expected = deps.token ? hashApiKey(deps.token) : undefined;
  app.get("/metrics", async (c) => {
    if (expected) {
      const match = /^Bearer\s+(\S{1,256})\s*$/i.exec(c.req.header("authorization") ?? "");
      if (!match?.[1] || !sameDigest(hashApiKey(match[1]), expected)) {
        c.header("www-authenticate", 'Bearer realm="metrics"');
        return problem(c, { code: "unauthorized", detail: "send the metrics token as Authorization: Bearer <token>" });
      }
    }
    return c.body(await deps.render(), 200, { "content-type": deps.contentType });
  });
  return app;
}
