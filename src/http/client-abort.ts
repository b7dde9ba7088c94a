import type { IncomingMessage } from "node:http";
import type { Context } from "hono";
import type { Logger } from "pino";
import { CallerGone } from "../core/errors.js";

/**
 * The status a request gets in the access log and the request metric when its client hung up
 * before the body arrived: nginx's 499 "client closed request". Nobody receives it.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * Whether `c`'s request failed because its client closed the connection before sending the whole
 * body (Node's `aborted` error while the body is read). @hono/node-server passes the Node request
 * as `env.incoming`; the error alone is the sign when there is none.
 */
function clientClosed(c: Context, err: unknown): boolean {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return !incoming.complete && (incoming.destroyed || incoming.errored !== null);
  return err instanceof Error && (err as NodeJS.ErrnoException).code === "ECONNRESET" && err.message === "aborted";
}

/**
 * A client abort is not a server fault: logged at info level and answered (to no one) with 499,
 * whether its body never arrived or it left before its start was written (`CallerGone`),
 * instead of an error-level "unhandled error" and a 500 that would page an operator. Undefined when
 * `err` is something else.
 */
export function clientAbortResponse(c: Context, err: unknown, logger: Logger): Response | undefined {
  if (err instanceof CallerGone) {
    logger.info(
      { request_id: c.get("requestId") },
      "client closed the connection before its start was written; nothing was sent",
    );
    return new Response(null, { status: CLIENT_CLOSED_REQUEST });
  }
  if (!clientClosed(c, err)) return undefined;
  logger.info(
    { request_id: c.get("requestId"), reason: err instanceof Error ? err.message : String(err) },
    "client closed the connection before its request was read",
  );
  return new Response(null, { status: CLIENT_CLOSED_REQUEST });
}
