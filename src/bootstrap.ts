import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Config } from "./config/env.js";
import { generateApiKey } from "./core/api-keys.js";
import type { Clock, Ids } from "./core/ports.js";
import { DEFAULT_SERVICE_ID } from "./core/services.js";
import type { Store } from "./core/store/index.js";

/** Where development state (the generated secret) lives: beside the database file. */
export function dataDir(config: Pick<Config, "dbPath">): string {
  return config.dbPath === ":memory:" ? resolve(".verifyd") : dirname(resolve(config.dbPath));
}

/**
 * The code-hashing secret. Production must supply it (config refuses otherwise); development
 * generates one on first start and keeps it in the data folder, so codes survive restarts.
 */
export function resolveSecret(config: Pick<Config, "secret" | "dbPath">): string {
  if (config.secret) return config.secret;
  const dir = dataDir(config);
  const file = join(dir, "secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(48).toString("base64");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/** The default service (the one admin keys act on) mirrors the configuration at every start. */
export async function ensureDefaultService(store: Store, config: Config, clock: Clock): Promise<void> {
  await store.ensureService(
    { id: DEFAULT_SERVICE_ID, name: config.serviceName, route: config.route, countryRoutes: config.countryRoutes },
    clock.now(),
  );
}

/**
 * In development without `VERIFYD_ADMIN_KEY`, creates an admin key once and returns it so the
 * caller can print it; later starts find it stored (hashed) and return nothing.
 */
export async function ensureDevAdminKey(store: Store, config: Config, clock: Clock, ids: Ids): Promise<string | null> {
  if (config.adminKey || config.env !== "development") return null;
  if ((await store.countActiveAdminKeys()) > 0) return null;
  const { key, prefix, secretHash } = generateApiKey();
  await store.insertApiKey({
    id: ids.apiKey(),
    serviceId: null,
    prefix,
    secretHash,
    label: "development admin",
    createdAt: clock.now(),
    revokedAt: null,
  });
  return key;
}
