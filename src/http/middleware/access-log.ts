import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "pino";
import { maskPhone } from "../../core/events.js";
import type { AppEnv } from "../context.js";

/** Names the number a request is about in its access-log line, masked: never the full number. */
export function noteDestination(c: Context<AppEnv>, phone: string | null | undefined): void {
  if (phone) c.set("destination", maskPhone(phone));
}

/** One structured line per request. Bodies are never logged: they may carry codes and numbers. */
export function accessLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Nothing is timed or built for a line that would not be written.
    if (!logger.isLevelEnabled("info")) return next();
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
        service: principal?.service.id,
        to: c.get("destination"),
      },
      "request",
    );
  };
}
