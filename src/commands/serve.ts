import type { Config } from "../config/env.js";
import { startServer } from "../main.js";

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
  const finished = await new Promise<boolean>((resolve) => {
    const stop = (signal: string) => server.shutdown(signal).then(resolve, () => resolve(false));
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  if (!finished) return 1; // VERIFYD_SHUTDOWN_TIMEOUT expired with requests or sends unfinished
  return 0;
}
