import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { buildRuntime, type Runtime, type RuntimeOptions } from "./compose.js";
import type { Config } from "./config/env.js";
import { describeDatabase } from "./store/backends.js";
import { readTlsFiles, reloadTls } from "./tls.js";

export interface RunningServer {
  port: number;
  /** Re-reads the TLS certificate and key (SIGHUP); throws if they are unusable, keeping the old ones. */
  reloadTls(): void;
  /** Resolves true when everything finished within the shutdown timeout, false when it gave up. */
  shutdown(reason: string): Promise<boolean>;
}

/**
 * Connections waiting to be accepted. A burst of new connections (client pools growing under load,
 * probes) beyond it is dropped by the kernel and retried by the client only after 1 s, 3 s, 7 s:
 * far longer than any answer takes. Node's default is 511; the kernel caps it (somaxconn).
 */
const LISTEN_BACKLOG = 4096;

/** The HTTP(S) server of a runtime: its app behind admission control (not listening yet). */
export function createServerFor(
  runtime: Pick<Runtime, "admit"> & { app: Pick<Runtime["app"], "fetch"> },
  config: Pick<Config, "host" | "tls">,
) {
  const listener = runtime.admit(getRequestListener(runtime.app.fetch, { hostname: config.host }));
  return config.tls ? createHttpsServer(readTlsFiles(config.tls), listener) : createHttpServer(listener);
}

/**
 * Starts the HTTP(S) server and the outbox worker. Shutdown stops accepting, lets in-flight
 * requests finish, stops the worker (waiting for sends under way) and closes the database.
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
  const { tls } = config;
  const server = createServerFor(runtime, config);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG });
  });
  // Clients (the login service's connection pool) reuse idle keep-alive connections. Node's 5 s
  // default closes them from under the client, and a request racing that close fails with
  // ECONNRESET; outlive common client idle timeouts instead, as load balancers do.
  if ("keepAliveTimeout" in server) {
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
  }
  runtime.outbox.start(config.outboxPollMs);
  const port = (server.address() as AddressInfo).port;
  logger.info(
    { port, host: config.host, tls: Boolean(tls), env: config.env, sender: config.sender, db: describeDatabase(config) },
    "verifyd listening",
  );

  let closing: Promise<boolean> | undefined;
  const shutdown = (reason: string) => {
    closing ??= (async () => {
      logger.info({ reason, timeout_ms: config.shutdownTimeoutMs }, "shutting down");
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), config.shutdownTimeoutMs);
      });
      const drained = (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Keep-alive connections become idle as their last response goes out; close them then,
          // instead of waiting for the client to hang up.
          const sweep = setInterval(() => ("closeIdleConnections" in server ? server.closeIdleConnections() : 0), 50);
          server.once("close", () => clearInterval(sweep));
          if ("closeIdleConnections" in server) server.closeIdleConnections();
        });
        // The worker finishes its current pass; sends still under way when the time is nearly up
        // are aborted and stay queued for the next start.
        await runtime.close(Math.max(0, config.shutdownTimeoutMs - 1000));
        return true as const;
      })();
      const finished = await Promise.race([drained, expired]);
      clearTimeout(timer);
      if (finished) logger.info("stopped");
      else logger.error({ timeout_ms: config.shutdownTimeoutMs }, "shutdown timed out; exiting with work unfinished");
      return finished;
    })();
    return closing;
  };
  return {
    port,
    reloadTls() {
      if (!tls) return;
      reloadTls(server as HttpsServer, tls);
      logger.info({ cert: tls.certFile }, "TLS certificate reloaded");
    },
    shutdown,
  };
}
