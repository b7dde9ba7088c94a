import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Metrics } from "../../core/metrics.js";
import type { AppEnv } from "../context.js";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Times every request by its matched route pattern (never the raw path, which holds ids). */
export function requestMetrics(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const method = METHODS.has(c.req.method) ? c.req.method : "OTHER";
    metrics.httpRequest(routePath(c) || "unmatched", method, c.res.status, (performance.now() - started) / 1000);
  };
}
