import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../context.js";

/**
 * Refuses bodies over `maxBytes`. A request that declares its length is judged on the header
 * alone: hono's own middleware reads `c.req.raw.body`, which makes @hono/node-server build a full
 * web `Request` with a stream body for every request, the largest single cost of a small POST. Only a
 * chunked body, whose size is unknown until read, is counted through that stream.
 */
export function limitBody(
  maxBytes: number,
  onTooLarge: (c: Context<AppEnv>) => Response | Promise<Response>,
): MiddlewareHandler<AppEnv> {
  const counting = bodyLimit({ maxSize: maxBytes, onError: onTooLarge });
  return async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
      return Number.parseInt(declared, 10) > maxBytes ? onTooLarge(c) : next();
    }
    return counting(c, next);
  };
}
