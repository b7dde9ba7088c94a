#!/usr/bin/env node
import { adminCommand, isAdminCommand } from "./commands/admin.js";
import { runMigrate } from "./commands/migrate.js";
import { runPurge } from "./commands/purge.js";
import { runRotateKey } from "./commands/rotate-key.js";
import { runServe } from "./commands/serve.js";
import { type Config, loadConfig, unknownVariableWarnings } from "./config/env.js";
import { ConfigError, StartupError } from "./config/errors.js";
import { VaultKeyMismatchError } from "./store/vault-key.js";
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

/** The commands that run on a valid configuration (the rest answer without one), each in `commands/`. */
const VERBS = new Map<string, (config: Config) => Promise<number>>([
  ["serve", runServe],
  ["migrate", runMigrate],
  ["purge", runPurge],
  ["rotate-key", runRotateKey],
]);

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage, 78 bad configuration (EX_CONFIG). */
async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? "serve";
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ((VERBS.has(command) || command === "version") && argv.slice(1).some((a) => a === "--help" || a === "-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === "version" || command === "--version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  // A misspelled variable would otherwise be ignored without a word.
  for (const warning of unknownVariableWarnings(process.env)) process.stderr.write(`verifyd: warning: ${warning}\n`);
  if (isAdminCommand(command)) {
    return adminCommand(() => loadConfig(process.env), argv, {
      write: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    });
  }
  const verb = VERBS.get(command);
  if (!verb) {
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
    return 2;
  }

  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`verifyd: ${err.message}\n`);
      return 78;
    }
    throw err;
  }

  return verb(config);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    // A configuration problem found after loading (a provider's settings, a secret that does not open
    // the stored numbers) is a configuration error too, not a crash: its message, no stack, exit 78.
    if (err instanceof ConfigError || err instanceof VaultKeyMismatchError) {
      process.stderr.write(`verifyd: ${err.message}\n`);
      process.exit(78);
    }
    // The machine refused the start (a taken port, a database served by another process): the reason, no stack.
    if (err instanceof StartupError) {
      process.stderr.write(`verifyd: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`verifyd: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
