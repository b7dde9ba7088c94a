import { domainToASCII } from "node:url";
import { z } from "zod";
import {
  countries,
  duration,
  durations,
  inboundNumbers,
  integer,
  list,
  longText,
  optionalInteger,
  optionalText,
  url,
  webhookSecret,
} from "./kinds.js";
import { LIMIT_SETTINGS } from "./limits.js";
import { environmentSchema, secret, setting, settingsOf } from "./table.js";

/**
 * Every environment variable verifyd reads, each named once. A setting is added here; `Config`, the
 * environment schema and the table in docs/configuration.md (`npm run docs:tables`) follow from these tables.
 */

/** Settings that become `Config` fields as they are, at the same path. */
export const SETTINGS = {
  env: setting("VERIFYD_ENV", z.enum(["development", "production"]).default("development")),
  port: setting("PORT", integer(8080, 0, 65535)),
  host: setting("VERIFYD_HOST", z.string().default("0.0.0.0")),
  /** `/healthz` and `/readyz` also on this port, answered by a thread of their own (probe-listener.ts). */
  probePort: setting("VERIFYD_PROBE_PORT", optionalInteger(0, 65535)),
  /** Where the probe port listens; unset: `VERIFYD_HOST`. */
  probeHost: setting("VERIFYD_PROBE_HOST", optionalText),
  dbPath: setting("VERIFYD_DB", z.string().min(1).default("./data/verifyd.db")),
  /**
   * SQLite's WAL checkpoints: how often a worker thread copies the WAL into the database file (0s:
   * no worker, the committing request does it every 1000 pages, SQLite's default), and the WAL size
   * in pages at which the committing request does it anyway (store/sqlite/checkpointer.ts).
   */
  sqliteCheckpoint: {
    intervalMs: setting("VERIFYD_SQLITE_CHECKPOINT_INTERVAL", duration("250ms")),
    walLimitPages: setting("VERIFYD_SQLITE_WAL_LIMIT", integer(16_384, 1000, 1_048_576)),
  },
  /** PostgreSQL instead of the SQLite file, with its connection pool size per instance. */
  databaseUrl: secret("DATABASE_URL", url(/^postgres(ql)?$/)),
  dbPoolSize: setting("VERIFYD_DB_POOL_SIZE", integer(10, 1, 500)),
  /** Rate-limit counters in Redis, shared by every instance. */
  redisUrl: secret("REDIS_URL", url(/^rediss?$/)),
  /** Prefix of every Redis key, so deployments can share one Redis. */
  redisPrefix: setting("VERIFYD_REDIS_PREFIX", z.string().max(64).default("verifyd:")),
  secret: secret("VERIFYD_SECRET", longText(32, "must be at least 32 characters (use: openssl rand -base64 48)")),
  /** The secret being replaced: what `verifyd rotate-key` re-keys from, read by nothing else. */
  previousSecret: secret("VERIFYD_PREVIOUS_SECRET", optionalText),
  adminKey: secret("VERIFYD_ADMIN_KEY", longText(24)),
  serviceName: setting("VERIFYD_SERVICE_NAME", z.string().min(1).max(40).default("verifyd")),
  httpChannel: {
    url: setting("VERIFYD_HTTP_CHANNEL_URL", url(/^https?$/)),
    secret: secret("VERIFYD_HTTP_CHANNEL_SECRET", webhookSecret),
    timeoutMs: setting("VERIFYD_HTTP_CHANNEL_TIMEOUT", duration("5s", { min: "100ms", max: "60s" })),
  },
  /** Event webhooks to the integrator for the default service. */
  events: {
    url: setting("VERIFYD_EVENTS_URL", url(/^https?$/)),
    secret: secret("VERIFYD_EVENTS_SECRET", webhookSecret),
  },
  defaults: {
    codeLength: setting("VERIFYD_CODE_LENGTH", integer(6, 4, 10)),
    ttlMs: setting("VERIFYD_CODE_TTL", duration("10m")),
    maxChecks: setting("VERIFYD_MAX_CHECKS", integer(5, 1, 100)),
    maxSends: setting("VERIFYD_MAX_SENDS", integer(5, 1, 20)),
    resendCooldownMs: setting("VERIFYD_RESEND_COOLDOWN", duration("30s")),
    resendPolicy: setting("VERIFYD_RESEND_POLICY", z.enum(["same", "new"]).default("same")),
  },
  /** One per rate-limit rule: see `limits.ts`. */
  limits: LIMIT_SETTINGS,
  /** Business numbers for person-to-application verification. */
  inboundNumbers: setting("VERIFYD_INBOUND_NUMBERS", inboundNumbers),
  /** Number-type and country screening of destinations (the refused types are fixed: `loadConfig`). */
  screening: {
    prefixDigits: setting("VERIFYD_PREFIX_DIGITS", integer(4, 1, 10)),
    mode: setting("VERIFYD_ABUSE_MODE", z.enum(["enforce", "monitor"]).default("enforce")),
    blockedCountries: setting("VERIFYD_BLOCKED_COUNTRIES", countries),
    allowedCountries: setting("VERIFYD_ALLOWED_COUNTRIES", countries),
    allowNumbers: setting("VERIFYD_ALLOW_NUMBERS", list(/^\+[1-9]\d{0,14}$/, "+14155550100 or a prefix like +4477009")),
    /** Email destinations: disposable-mailbox domains refused (or not), and domains that pass every email screen. */
    disposableEmail: setting("VERIFYD_DISPOSABLE_EMAIL", z.enum(["refuse", "allow"]).default("refuse")),
    allowEmailDomains: setting(
      "VERIFYD_ALLOW_EMAIL_DOMAINS",
      list(
        /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/,
        "example.com or mail.example.org",
        (item) =>
          // An item that is no domain at all converts to "": keep it as written, so the pattern names it.
          domainToASCII(item).toLowerCase() || item,
      ),
    ),
  },
  /** The conversion guard; it shares the screening's mode, allow-list and prefix. */
  conversion: {
    windowMs: setting("VERIFYD_CONVERSION_WINDOW", duration("1h", { min: "1m" })),
    minSends: setting("VERIFYD_CONVERSION_MIN_SENDS", integer(10, 1, 1_000_000)),
    threshold: setting("VERIFYD_CONVERSION_THRESHOLD", z.coerce.number().min(0).max(1).default(0.1)),
    /** The first block of a key lasts the first, a repeat within the memory the next; the last one repeats. */
    cooldownsMs: setting("VERIFYD_CONVERSION_COOLDOWN", durations("1h,4h,24h", { min: "1m" })),
    settleMs: setting("VERIFYD_CONVERSION_SETTLE", duration("10m")),
    /** Keys without an approval on record (or none since their last block) may have this many sends unanswered. */
    probationSends: setting("VERIFYD_CONVERSION_PROBATION_SENDS", integer(5, 1, 1_000_000)),
    /** How long approvals and blocks are remembered. */
    memoryMs: setting("VERIFYD_CONVERSION_MEMORY", duration("30d", { min: "1h" })),
  },
  /** Channel memory and learned route order (docs/routing-costs.md); both off unless configured. */
  routing: {
    /** How long a destination's last delivered or failed channel is remembered; 0 turns channel memory off. */
    memoryMs: setting("VERIFYD_CHANNEL_MEMORY", duration("0s")),
    /** How far back learned routes read history. */
    learnWindowMs: setting("VERIFYD_LEARNED_WINDOW", duration("7d", { min: "1h" })),
    /** Tries every step of a country needs before its order is learned rather than configured. */
    learnMinTries: setting("VERIFYD_LEARNED_MIN_TRIES", integer(30, 1, 1_000_000)),
    /** Share of learned starts that explore another first step, so a better route is noticed. */
    explore: setting("VERIFYD_LEARNED_EXPLORE", z.coerce.number().min(0).max(0.5).default(0.05)),
  },
  /** The period `/metrics` reports cost per approval over (a trailing window). */
  costMetricsWindowMs: setting("VERIFYD_COST_METRICS_WINDOW", duration("24h", { min: "1h", max: "30d" })),
  trustProxyHops: setting("VERIFYD_TRUST_PROXY_HOPS", integer(0, 0, 10)),
  dispatchBudgetMs: setting("VERIFYD_DISPATCH_BUDGET", duration("2s")),
  /** How long a claimed delivery is ours; a crashed sender's deliveries are sent again after it. */
  deliveryLeaseMs: setting("VERIFYD_DELIVERY_LEASE", duration("30s", { min: "1s" })),
  /** Consecutive transient failures that open a provider's circuit, and how long it stays open. */
  breaker: {
    failures: setting("VERIFYD_BREAKER_FAILURES", integer(5, 1, 1000)),
    cooldownMs: setting("VERIFYD_BREAKER_COOLDOWN", duration("30s", { min: "1s" })),
  },
  outboxPollMs: setting("VERIFYD_OUTBOX_POLL", duration("1s", { min: "10ms" })),
  /**
   * Admission control of the API (`/v1`, `/twilio/v2`): requests worked on at once (0: no limit),
   * requests that may wait for a slot, and how long one waits before it is refused (503 overloaded).
   */
  admission: {
    maxInFlight: setting("VERIFYD_MAX_IN_FLIGHT", integer(32, 0, 100_000)),
    maxQueued: setting("VERIFYD_MAX_QUEUED", integer(32, 0, 100_000)),
    queueTimeoutMs: setting("VERIFYD_QUEUE_TIMEOUT", duration("250ms", { min: "1ms", max: "60s" })),
    /** While requests are being refused, at most this many are admitted a second (0: no such cap). */
    maxAdmittedPerSecond: setting("VERIFYD_MAX_ADMISSION_RATE", integer(0, 0, 1_000_000)),
  },
  /** How long closed verifications and their deliveries are kept before the purge deletes them. */
  retentionMs: setting("VERIFYD_RETENTION", duration("30d", { min: "1h" })),
  maxBodyBytes: setting("VERIFYD_MAX_BODY_BYTES", integer(16_384, 1024, 1_048_576)),
  /** Bearer token `/metrics` requires; without it, `/metrics` is open. */
  metricsToken: secret("VERIFYD_METRICS_TOKEN", longText(16)),
  logLevel: setting("VERIFYD_LOG_LEVEL", z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info")),
  /** How long SIGTERM waits for requests and sends under way before giving up (exit 1). */
  shutdownTimeoutMs: setting("VERIFYD_SHUTDOWN_TIMEOUT", duration("10s", { min: "1s" })),
};

/**
 * Settings `loadConfig` combines with one another or with the config file before they become
 * `Config` fields (`sender`, `dryrun`, `publicUrl`, `tls`, the routes).
 */
export const INPUTS = {
  /** The channel used when no route is configured; defaults to http when its URL is set, else console. */
  sender: setting("VERIFYD_SENDER", z.enum(["console", "http", "dryrun"]).optional()),
  allowDryrun: setting("VERIFYD_ALLOW_DRYRUN", z.enum(["true", "false"]).default("false")),
  dryrunCaptureFile: setting("VERIFYD_DRYRUN_CAPTURE_FILE", optionalText),
  configFile: setting("VERIFYD_CONFIG_FILE", optionalText),
  /** verifyd's public base URL, for provider status callbacks; the config file may give it instead. */
  publicUrl: setting("VERIFYD_PUBLIC_URL", url(/^https?$/)),
  tlsCertFile: setting("VERIFYD_TLS_CERT_FILE", optionalText),
  tlsKeyFile: setting("VERIFYD_TLS_KEY_FILE", optionalText),
};

export const envSchema = environmentSchema(SETTINGS, INPUTS);

/** Variables that hold secrets: each may instead be given as `NAME_FILE` (a path). */
export const SECRET_VARIABLES: readonly string[] = [...settingsOf(SETTINGS), ...settingsOf(INPUTS)]
  .filter((s) => s.secret)
  .map((s) => s.variable);

/**
 * Every `VERIFYD_*` variable verifyd reads: the tables' variables, their `_FILE` forms, and the
 * single executable's cache folder (read before any configuration). Any other is a typo, warned about.
 */
export const KNOWN_VARIABLES: readonly string[] = [
  ...[...settingsOf(SETTINGS), ...settingsOf(INPUTS)].map((s) => s.variable),
  ...SECRET_VARIABLES.map((name) => `${name}_FILE`),
  "VERIFYD_CACHE_DIR",
].filter((name) => name.startsWith("VERIFYD_"));
