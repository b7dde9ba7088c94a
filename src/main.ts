import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { buildRuntime, type Runtime, type RuntimeOptions } from "./compose.js";
import type { Config } from "./config/env.js";
import { StartupError } from "./config/errors.js";
import { type ProbeListener, startProbeListener } from "./http/probe-listener.js";
import { describeDatabase, lockDatabaseForServing } from "./store/backends.js";
import { readTlsFiles, reloadTls } from "./tls.js";
import { VERSION } from "./version.js";

export interface RunningServer {
  port: number;
  /** The probe port's (`VERIFYD_PROBE_PORT`), when it is on. */
  probePort?: number;
  /** Re-reads the TLS certificate and key (SIGHUP); throws if they are unusable, keeping the old ones. */
  reloadTls(): void;
  /** Resolves true when everything finished within the shutdown timeout, false when it gave up. */
  shutdown(reason: string): Promise<boolean>;
}

/** The routes sends take, as `channel: provider, fallback`: what the start-up line tells the operator. */
function effectiveRoutes(config: Pick<Config, "route" | "countryRoutes">) {
  const steps = (route: Config["route"]) => route.map((s) => `${s.channel}: ${s.providers.join(", ")}`);
  return {
    route: steps(config.route),
    country_routes: Object.fromEntries(Object.entries(config.countryRoutes).map(([country, r]) => [country, steps(r)])),
  };
}

/** A port that cannot be listened on, said with the way out. */
function listenError(err: NodeJS.ErrnoException, config: Pick<Config, "port" | "host">, variable = "PORT"): Error {
  const where = `port ${config.port} on ${config.host}`;
  if (err.code === "EADDRINUSE") {
    return new StartupError(
      `${where} is already in use (another verifyd, or another program); stop it, or start on another port, e.g. ${variable}=${config.port === 65535 ? 8081 : config.port + 1}`,
    );
  }
  if (err.code === "EACCES") {
    return new StartupError(
      `${where} needs privileges this process has not (ports below 1024); start on another, e.g. ${variable}=${variable === "PORT" ? 8080 : 8081}`,
    );
  }
  if (err.code === "EADDRNOTAVAIL") {
    return new StartupError(
      `${config.host} is not an address of this machine; set VERIFYD_HOST (0.0.0.0 listens on all of them)`,
    );
  }
  return err;
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
export interface ServerOptions extends RuntimeOptions {
  /** Shows a freshly created development admin key. @default printed to stdout */
  onAdminKeyCreated?: (key: string) => void;
}

const printAdminKey = (key: string) =>
  process.stdout.write(
    `\n  Development admin API key (shown once; keep it):\n\n    ${key}\n\n  Use it as: Authorization: Bearer <key>\n\n`,
  );

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const lock = lockDatabaseForServing(config);
  let runtime: Awaited<ReturnType<typeof buildRuntime>>;
  try {
    runtime = await buildRuntime(config, options);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const { logger } = runtime;
  const { tls } = config;
  const server = createServerFor(runtime, config);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
      server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG });
    });
  } catch (err) {
    await runtime.close();
    lock?.release();
    throw listenError(err as NodeJS.ErrnoException, config);
  }
  // Clients (the login service's connection pool) reuse idle keep-alive connections. Node's 5 s
  // default closes them from under the client, and a request racing that close fails with
  // ECONNRESET; outlive common client idle timeouts instead, as load balancers do.
  if ("keepAliveTimeout" in server) {
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
  }
  let probes: ProbeListener | undefined;
  if (config.probePort !== undefined) {
    try {
      probes = await startProbeListener({
        port: config.probePort,
        host: config.probeHost ?? config.host,
        version: VERSION,
        readiness: runtime.readiness,
        onError: (err) => logger.error({ err }, "the probe port's thread failed; probes there go unanswered"),
      });
    } catch (err) {
      server.close();
      await runtime.close();
      lock?.release();
      throw listenError(
        err as NodeJS.ErrnoException,
        { port: config.probePort, host: config.probeHost ?? config.host },
        "VERIFYD_PROBE_PORT",
      );
    }
  }
  runtime.outbox.start(config.outboxPollMs);
  const port = (server.address() as AddressInfo).port;
  logger.info(
    {
      port,
      ...(probes ? { probe_port: probes.port } : {}),
      host: config.host,
      tls: Boolean(tls),
      env: config.env,
      db: describeDatabase(config),
      ...effectiveRoutes(config),
    },
    "verifyd listening",
  );
  // Only now: a start that failed earlier (configuration, a taken port) leaves the key to the next one.
  const devKey = await runtime.createDevAdminKey();
  if (devKey) (options.onAdminKeyCreated ?? printAdminKey)(devKey);

  let closing: Promise<boolean> | undefined;
  const shutdown = (reason: string) => {
    closing ??= (async () => {
      logger.info({ reason, timeout_ms: config.shutdownTimeoutMs }, "shutting down");
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), config.shutdownTimeoutMs);
      });
      // Out of the rotation first, while the API's port still answers what is under way.
      probes?.notReady("not ready: shutting down");
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
        await probes?.close();
        lock?.release();
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
    probePort: probes?.port,
    reloadTls() {
      if (!tls) return;
      reloadTls(server as HttpsServer, tls);
      logger.info({ cert: tls.certFile }, "TLS certificate reloaded");
    },
    shutdown,
  };
}
