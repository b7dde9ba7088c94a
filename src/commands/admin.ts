import { parseArgs } from "node:util";
import { ensureDefaultService } from "../bootstrap.js";
import type { Config } from "../config/env.js";
import { ConfigError } from "../config/errors.js";
import { createAdminService } from "../core/admin.js";
import { generateApiKey } from "../core/api-keys.js";
import { VerifydError } from "../core/errors.js";
import type { Clock, Ids } from "../core/ports.js";
import type { ApiKeyEntry } from "../core/store/services.js";
import { systemClock, uuidIds } from "../runtime.js";
import { openConfiguredStore } from "../store/backends.js";

/** The operator commands `verifyd keys …` and `verifyd services …`. */
export const ADMIN_COMMANDS = ["keys", "services"] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

export const isAdminCommand = (command: string): command is AdminCommand =>
  (ADMIN_COMMANDS as readonly string[]).includes(command);

const USAGES = {
  keys: `Usage: verifyd keys <create|list|revoke> [options]

Manage API keys (the secret of a key is printed once, when it is created).

Subcommands:
  create    create a key for a service, or an admin key
  list      list keys (never their secrets)
  revoke    revoke a key

Run "verifyd keys <subcommand> --help" for its options.`,
  "keys create": `Usage: verifyd keys create (--service <id> | --admin) [--label <text>]

Creates an API key and prints it once, with its id.

Options:
  --service <id>   the service the key acts for
  --admin          create an admin key instead (it manages services and keys)
  --label <text>   a note to recognize the key by
  -h, --help       print this help`,
  "keys list": `Usage: verifyd keys list [--service <id>]

Lists API keys: id, service, label, prefix, created, revoked. Secrets are never shown.

Options:
  --service <id>   only this service's keys
  -h, --help       print this help`,
  "keys revoke": `Usage: verifyd keys revoke <id>

Revokes an API key; a running server refuses it within its key cache time (5 s).

Options:
  -h, --help       print this help`,
  services: `Usage: verifyd services <create|list|show> [options]

Manage services (tenants: their name in messages, their policy and route).

Subcommands:
  create    create a service
  list      list services
  show      print a service's resolved policy and route as JSON

Run "verifyd services <subcommand> --help" for its options.`,
  "services create": `Usage: verifyd services create --name <text>

Creates a service with the default policy and the default service's route; prints its id.

Options:
  --name <text>    the service's name, as it appears in messages
  -h, --help       print this help`,
  "services list": `Usage: verifyd services list

Lists services: id, name, created.

Options:
  -h, --help       print this help`,
  "services show": `Usage: verifyd services show <id>

Prints the service's resolved policy, route and country routes as JSON.

Options:
  -h, --help       print this help`,
} as const;

type UsageName = keyof typeof USAGES;

/** The usage of `verifyd <command> [subcommand]`, for the top-level help. */
export function adminUsage(name: UsageName): string {
  return USAGES[name];
}

class UsageError extends Error {
  constructor(
    readonly usage: UsageName,
    message: string,
  ) {
    super(message);
  }
}

export interface AdminCliOptions {
  write: (text: string) => void;
  writeErr: (text: string) => void;
  clock?: Clock;
  ids?: Pick<Ids, "apiKey">;
}

interface Parsed {
  usage: UsageName;
  values: { help?: boolean; service?: string; label?: string; admin?: boolean; name?: string };
  positionals: string[];
}

const HELP = { help: { type: "boolean", short: "h" } } as const;

/** Parses `argv` (starting with `keys` or `services`); null when it asks for help. */
function parse(argv: string[]): Parsed {
  const [command, sub, ...rest] = argv;
  if (command !== "keys" && command !== "services") throw new Error(`not an admin command: ${command}`);
  if (sub === undefined) throw new UsageError(command, `verifyd ${command}: a subcommand is required`);
  if (sub === "--help" || sub === "-h" || sub === "help") {
    return { usage: command, values: { help: true }, positionals: [] };
  }
  const usage = `${command} ${sub}`;
  if (!(usage in USAGES)) throw new UsageError(command, `verifyd ${command}: unknown subcommand "${sub}"`);
  const name = usage as UsageName;
  const specs: Record<string, { options: Record<string, { type: "string" | "boolean"; short?: string }>; ids: number }> = {
    "keys create": { options: { service: { type: "string" }, admin: { type: "boolean" }, label: { type: "string" } }, ids: 0 },
    "keys list": { options: { service: { type: "string" } }, ids: 0 },
    "keys revoke": { options: {}, ids: 1 },
    "services create": { options: { name: { type: "string" } }, ids: 0 },
    "services list": { options: {}, ids: 0 },
    "services show": { options: {}, ids: 1 },
  };
  const spec = specs[usage];
  if (!spec) throw new UsageError(command, `verifyd ${command}: unknown subcommand "${sub}"`);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...spec.options, ...HELP }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(name, `verifyd ${usage}: ${(err as Error).message}`);
  }
  const values = parsed.values as Parsed["values"];
  if (values.help) return { usage: name, values, positionals: [] };
  if (parsed.positionals.length !== spec.ids) {
    throw new UsageError(
      name,
      spec.ids === 0
        ? `verifyd ${usage}: unexpected argument "${parsed.positionals[0]}"`
        : `verifyd ${usage}: exactly one id is required`,
    );
  }
  for (const [option, value] of Object.entries(values)) {
    if (typeof value === "string" && value.trim() === "") {
      throw new UsageError(name, `verifyd ${usage}: --${option} must not be empty`);
    }
  }
  if (usage === "keys create" && (values.admin ? values.service !== undefined : values.service === undefined)) {
    throw new UsageError(name, `verifyd ${usage}: give exactly one of --service <id> and --admin`);
  }
  if (usage === "services create" && values.name === undefined) {
    throw new UsageError(name, `verifyd ${usage}: --name is required`);
  }
  return { usage: name, values, positionals: parsed.positionals };
}

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

/** Aligned columns, header first. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const keyRow = (k: ApiKeyEntry) => [k.id, k.serviceId ?? "(admin)", k.label, k.prefix, iso(k.createdAt), iso(k.revokedAt)];

/**
 * `verifyd keys …` and `verifyd services …`: opens the database, applies migrations and runs the
 * same Store operations as the admin API. `argv` starts with the command (`keys` or `services`).
 * `config` may be a function, so that `--help` and bad usage answer without a valid configuration.
 * Exit codes: 0 ok, 1 unknown id, 2 bad usage, 78 bad configuration.
 */
export async function adminCommand(config: Config | (() => Config), argv: string[], options: AdminCliOptions): Promise<number> {
  const { write, writeErr } = options;
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    writeErr(`${err.message}\n\n${USAGES[err.usage]}\n`);
    return 2;
  }
  if (parsed.values.help) {
    write(`${USAGES[parsed.usage]}\n`);
    return 0;
  }

  let resolved: Config;
  try {
    resolved = typeof config === "function" ? config() : config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    writeErr(`verifyd: ${err.message}\n`);
    return 78;
  }

  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidIds;
  const { store } = await openConfiguredStore(resolved, clock.now());
  try {
    await ensureDefaultService(store, resolved, clock);
    const admin = createAdminService({ store, clock, ids, defaults: resolved.defaults });
    const { values, positionals } = parsed;
    switch (parsed.usage) {
      case "keys create": {
        const label = values.label ?? "";
        let created: ApiKeyEntry & { key: string };
        if (values.admin) {
          const { key, prefix, secretHash } = generateApiKey();
          const entry: ApiKeyEntry = {
            id: ids.apiKey(),
            serviceId: null,
            label,
            prefix,
            createdAt: clock.now(),
            revokedAt: null,
          };
          await store.insertApiKey({ ...entry, secretHash });
          created = { ...entry, key };
        } else {
          created = await admin.createApiKey({ serviceId: values.service ?? "", label });
        }
        write(
          `id       ${created.id}\nservice  ${created.serviceId ?? "(admin)"}\nkey      ${created.key}\n` +
            "The key is shown only now: store it safely.\n",
        );
        return 0;
      }
      case "keys list": {
        if (values.service !== undefined) await admin.getService(values.service);
        const keys = await admin.listApiKeys(values.service !== undefined ? { serviceId: values.service } : {});
        write(`${table(["ID", "SERVICE", "LABEL", "PREFIX", "CREATED", "REVOKED"], keys.map(keyRow))}\n`);
        return 0;
      }
      case "keys revoke": {
        const id = positionals[0] ?? "";
        await admin.revokeApiKey(id);
        write(`revoked ${id}\n`);
        return 0;
      }
      case "services create": {
        const service = await admin.createService({ name: values.name ?? "", policy: {} });
        write(`id    ${service.id}\nname  ${service.name}\n`);
        return 0;
      }
      case "services list": {
        const services = await admin.listServices();
        write(
          `${table(
            ["ID", "NAME", "CREATED"],
            services.map((s) => [s.id, s.name, iso(s.createdAt)]),
          )}\n`,
        );
        return 0;
      }
      case "services show": {
        const s = await admin.getService(positionals[0] ?? "");
        const shown = {
          id: s.id,
          name: s.name,
          created_at: iso(s.createdAt),
          policy: s.policy,
          route: s.route,
          country_routes: s.countryRoutes,
        };
        write(`${JSON.stringify(shown, null, 2)}\n`);
        return 0;
      }
      default:
        return 2;
    }
  } catch (err) {
    if (err instanceof VerifydError && (err.code === "service_not_found" || err.code === "api_key_not_found")) {
      writeErr(`verifyd: ${err.detail}\n`);
      return 1;
    }
    throw err;
  } finally {
    await store.close();
  }
}
