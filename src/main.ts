import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { buildRuntime, type RuntimeOptions } from "./compose.js";
import type { Config } from "./config/env.js";
import { describeDatabase } from "./store/backends.js";

export interface RunningServer {
  port: number;
  shutdown(reason: string): Promise<void>;
}

/**
 * Starts the HTTP server and the outbox worker. Shutdown stops accepting, lets in-flight requests
 * finish, stops the worker (waiting for sends under way) and closes the database.
 */
export async function startServer(config: Config, options: RuntimeOptions = {}): Promise<RunningServer> {
  const runtime = await buildRuntime(config, {
    onAdminKeyCreated: (key) =>
      process.stdout.write(
        `\n  Development admin API key (shown once; keep it):\n\n    ${key}\n\n  Use it as: Authorization: Bearer <key>\n\n`,
      ),
    ...options,
  });
  const { logger } = runtime;
  const server = serve({ fetch: runtime.app.fetch, port: config.port, hostname: config.host });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  runtime.outbox.start(config.outboxPollMs);
  const port = (server.address() as AddressInfo).port;
  logger.info(
    { port, host: config.host, env: config.env, sender: config.sender, db: describeDatabase(config) },
    "verifyd listening",
  );

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    closing ??= (async () => {
      logger.info({ reason }, "shutting down");
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ("closeIdleConnections" in server) server.closeIdleConnections();
      });
      await runtime.close();
      logger.info("stopped");
    })();
    return closing;
  };
  return { port, shutdown };
}
