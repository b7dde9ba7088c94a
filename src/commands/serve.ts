import type { Config } from "../config/env.js";
import { startServer } from "../main.js";
import { stdoutLogs } from "../observability/logger.js";

/** The least time the last log lines get to reach stdout at shutdown. */
const LAST_LINES_MS = 100;

/** `verifyd serve`: the HTTP API and the delivery worker, until SIGTERM or SIGINT. */
export async function runServe(config: Config): Promise<number> {
  const server = await startServer(config);
  // SIGHUP: re-read the TLS certificate and key after a renewal, without dropping connections.
  process.on("SIGHUP", () => {
    try {
      server.reloadTls();
    } catch (err) {
      process.stderr.write(`verifyd: TLS reload failed, keeping the current certificate: ${(err as Error).message}\n`);
    }
  });
  let deadline = 0;
  const finished = await new Promise<boolean>((resolve) => {
    const stop = (signal: string) => {
      deadline = Date.now() + config.shutdownTimeoutMs;
      server.shutdown(signal).then(resolve, () => resolve(false));
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  // The last log lines get what is left of the budget (at least 0.1 s): a stdout whose reader has
  // gone or does not read cannot hold the process past it.
  await stdoutLogs().drain(Math.max(LAST_LINES_MS, deadline - Date.now()));
  if (!finished) return 1; // VERIFYD_SHUTDOWN_TIMEOUT expired with requests or sends unfinished
  return 0;
}
