#!/usr/bin/env node
import { adminCommand, isAdminCommand } from "./admin-cli.js";
import { ConfigError, loadConfig } from "./config/env.js";
import { startServer } from "./main.js";
import { purgeCommand } from "./purge.js";
import { describeDatabase, openConfiguredStore } from "./store/backends.js";
import { VERSION } from "./version.js";

const USAGE = `verifyd ${VERSION}: self-hosted phone verification

Usage: verifyd <command> [options]

Commands:
  serve     run the HTTP API and the delivery worker (default)
  migrate   apply database migrations and exit
  purge     delete rows older than the retention window (VERIFYD_RETENTION) and print the counts
  keys      create, list and revoke API keys: keys create (--service <id> | --admin) [--label <text>],
            keys list [--service <id>], keys revoke <id>
  services  create, list and show services: services create --name <text>, services list,
            services show <id>
  version   print the version

Run "verifyd <command> --help" for a command's usage.

Configuration comes from the environment; see README.md.`;

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage, 78 bad configuration (EX_CONFIG). */
async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? "serve";
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const known = ["serve", "migrate", "purge", "version"];
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
  if (command !== "serve" && command !== "migrate" && command !== "purge") {
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
    const { store } = await openConfiguredStore(config);
    await store.close();
    process.stdout.write(`migrated ${describeDatabase(config)}\n`);
    return 0;
  }

  if (command === "purge") {
    await purgeCommand(config);
    return 0;
  }

  const server = await startServer(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.shutdown(signal).then(resolve, resolve);
      setTimeout(() => process.exit(1), 15_000).unref(); // a hung request must not block a restart forever
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`verifyd: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
