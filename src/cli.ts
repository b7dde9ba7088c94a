#!/usr/bin/env node
import { adminCommand, isAdminCommand } from "./admin-cli.js";
import { ConfigError, loadConfig } from "./config/env.js";
import { startServer } from "./main.js";
import { stdoutLogs } from "./observability/logger.js";
import { purgeCommand } from "./purge.js";
import { rotateKeyCommand } from "./rotate-key.js";
import { describeDatabase, openConfiguredStore } from "./store/backends.js";
import { VaultKeyMismatchError } from "./store/sqlite/vault-state.js";
import { VERSION } from "./version.js";

const USAGE = `verifyd ${VERSION}: self-hosted phone verification

Usage: verifyd <command> [options]

Commands:
  serve     run the HTTP API and the delivery worker (default)
  migrate   apply database migrations and exit
  purge     delete rows older than the retention window (VERIFYD_RETENTION) and print the counts
  rotate-key
            with verifyd stopped, re-key sealed numbers, indexes, codes and factors from
            VERIFYD_PREVIOUS_SECRET to VERIFYD_SECRET (exit 1 when the previous secret does not fit)
  keys      create, list and revoke API keys: keys create (--service <id> | --admin) [--label <text>],
            keys list [--service <id>], keys revoke <id>
  services  create, list and show services: services create --name <text>, services list,
            services show <id>
  version   print the version

Run "verifyd <command> --help" for a command's usage.

Configuration comes from the environment; see README.md.`;

/** `verifyd rotate-key`: 0 re-keyed (or nothing to do), 1 the previous secret does not open the data, 78 secrets missing. */
async function rotateKey(config: ReturnType<typeof loadConfig>): Promise<number> {
  try {
    await rotateKeyCommand(config);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError) && !(err instanceof VaultKeyMismatchError)) throw err;
    process.stderr.write(`verifyd: ${err.message}\n`);
    return err instanceof ConfigError ? 78 : 1;
  }
}

/** The least time the last log lines get to reach stdout at shutdown. */
const LAST_LINES_MS = 100;

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage, 78 bad configuration (EX_CONFIG). */
async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? "serve";
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const known = ["serve", "migrate", "purge", "rotate-key", "version"];
  if (known.includes(command) && argv.slice(1).some((a) => a === "--help" || a === "-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === "version" || command === "--version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (isAdminCommand(command)) {
    return adminCommand(() => loadConfig(process.env), argv, {
      write: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    });
  }
  if (!["serve", "migrate", "purge", "rotate-key"].includes(command)) {
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
    return 2;
  }

  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`verifyd: ${err.message}\n`);
      return 78;
    }
    throw err;
  }

  if (command === "migrate") {
    // Rows stored in clear by earlier versions are sealed here (or at the first start).
    const { store } = await openConfiguredStore(config);
    await store.close();
    process.stdout.write(`migrated ${describeDatabase(config)}\n`);
    return 0;
  }

  if (command === "purge") {
    await purgeCommand(config);
    return 0;
  }

  if (command === "rotate-key") return rotateKey(config);

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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    // A secret that does not open the stored numbers is a configuration error, not a crash.
    if (err instanceof VaultKeyMismatchError) {
      process.stderr.write(`verifyd: ${err.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`verifyd: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
