import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "pino";
import type { AppEnv } from "../context.js";

/** One structured line per request. Bodies are never logged: they may carry codes. */
export function accessLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const principal = c.get("principal");
    logger.info(
      {
        request_id: c.get("requestId"),
        method: c.req.method,
        route: routePath(c),
        status: c.res.status,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
        key: principal?.key.prefix,
      },
      "request",
    );
  };
}
