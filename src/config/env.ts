import { z } from "zod";
import { DEFAULT_REFUSED_TYPES, type ScreeningRules } from "../core/abuse.js";
import type { ConversionSettings } from "../core/conversion.js";
import { ConfigError, type ReadFile, readTextFile } from "./errors.js";
import { type FileConfig, loadConfigFile, type RouteStepConfig } from "./file.js";
import { parseDuration, parseRate } from "./units.js";

/**
 * Everything verifyd reads from its environment, validated once at start.
 * Only this module touches `process.env` (through `loadConfig`'s argument);
 * the rest of the program receives a typed `Config`.
 */

/** Variables that hold secrets: each may instead be given as `NAME_FILE` (a path). */
export const SECRET_VARIABLES = [
  "VERIFYD_SECRET",
  "VERIFYD_PREVIOUS_SECRET",
  "VERIFYD_ADMIN_KEY",
  "VERIFYD_HTTP_CHANNEL_SECRET",
  "VERIFYD_METRICS_TOKEN",
  "VERIFYD_EVENTS_SECRET",
  "DATABASE_URL",
  "REDIS_URL",
] as const;

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({ code: "custom", message: `"${value}" is not a duration like 30s, 10m or 1h` });
        return z.NEVER;
      }
      return ms;
    });

const rate = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const parsed = parseRate(value);
      if (!parsed) {
        ctx.addIssue({ code: "custom", message: `"${value}" is not a limit like 5/10m (count/window)` });
        return z.NEVER;
      }
      return parsed;
    });

const integer = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === "" ? undefined : v));

/** A comma-separated list, each item trimmed and checked against `pattern`. */
const list = (pattern: RegExp, example: string, normalize: (item: string) => string = (item) => item) =>
  z
    .string()
    .default("")
    .transform((value, ctx) => {
      const items = value
        .split(",")
        .map((s) => normalize(s.trim()))
        .filter(Boolean);
      const bad = items.find((item) => !pattern.test(item));
      if (bad !== undefined) {
        ctx.addIssue({ code: "custom", message: `"${bad}" is not like ${example}` });
        return z.NEVER;
      }
      return items;
    });

const countries = list(/^[A-Z]{2}$/, "GB or US (ISO 3166-1 alpha-2 codes)", (item) => item.toUpperCase());

const envSchema = z.object({
  VERIFYD_ENV: z.enum(["development", "production"]).default("development"),
  PORT: integer(8080, 0, 65535),
  VERIFYD_HOST: z.string().default("0.0.0.0"),
  VERIFYD_DB: z.string().min(1).default("./data/verifyd.db"),
  DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  VERIFYD_DB_POOL_SIZE: integer(10, 1, 500),
  REDIS_URL: optionalText.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
  VERIFYD_REDIS_PREFIX: z.string().max(64).default("verifyd:"),
  VERIFYD_SECRET: optionalText.refine((v) => v === undefined || v.length >= 32, {
    message: "must be at least 32 characters (use: openssl rand -base64 48)",
  }),
  /** The secret being replaced, read only by `verifyd rotate-key`. */
  VERIFYD_PREVIOUS_SECRET: optionalText,
  VERIFYD_ADMIN_KEY: optionalText.refine((v) => v === undefined || v.length >= 24, {
    message: "must be at least 24 characters",
  }),
  VERIFYD_SERVICE_NAME: z.string().min(1).max(40).default("verifyd"),
  VERIFYD_SENDER: z.enum(["console", "http", "dryrun"]).optional(),
  VERIFYD_ALLOW_DRYRUN: z.enum(["true", "false"]).default("false"),
  VERIFYD_DRYRUN_CAPTURE_FILE: optionalText,
  VERIFYD_CONFIG_FILE: optionalText,
  VERIFYD_PUBLIC_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  VERIFYD_HTTP_CHANNEL_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  VERIFYD_HTTP_CHANNEL_SECRET: optionalText.refine((v) => v === undefined || v.startsWith("whsec_"), {
    message: "must be a Standard Webhooks secret (whsec_<base64>)",
  }),
  VERIFYD_EVENTS_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  VERIFYD_EVENTS_SECRET: optionalText.refine((v) => v === undefined || v.startsWith("whsec_"), {
    message: "must be a Standard Webhooks secret (whsec_<base64>)",
  }),
  VERIFYD_HTTP_CHANNEL_TIMEOUT: duration("5s").refine((ms) => ms >= 100 && ms <= 60_000, {
    message: "must be between 100ms and 60s",
  }),
  VERIFYD_CODE_LENGTH: integer(6, 4, 10),
  VERIFYD_CODE_TTL: duration("10m"),
  VERIFYD_MAX_CHECKS: integer(5, 1, 100),
  VERIFYD_MAX_SENDS: integer(5, 1, 20),
  VERIFYD_RESEND_COOLDOWN: duration("30s"),
  VERIFYD_RESEND_POLICY: z.enum(["same", "new"]).default("same"),
  VERIFYD_LIMIT_SENDS_PER_DESTINATION: rate("5/10m"),
  VERIFYD_LIMIT_SENDS_PER_PREFIX: rate("30/1h"),
  VERIFYD_LIMIT_SENDS_PER_COUNTRY: rate("500/1h"),
  VERIFYD_PREFIX_DIGITS: integer(4, 1, 10),
  VERIFYD_LIMIT_STARTS_PER_IP: rate("20/1h"),
  VERIFYD_LIMIT_STARTS_PER_DEVICE: rate("10/1h"),
  VERIFYD_LIMIT_STARTS_PER_USER: rate("10/1h"),
  VERIFYD_LIMIT_REQUESTS_PER_KEY: rate("6000/1m"),
  VERIFYD_LIMIT_FAILED_CHECKS_PER_DESTINATION: rate("10/1h"),
  VERIFYD_LIMIT_FAILED_CHECKS_PER_IP: rate("30/1h"),
  VERIFYD_LIMIT_INBOUND_APPROVALS_PER_SENDER: rate("5/1h"),
  VERIFYD_LIMIT_INBOUND_UNKNOWN_PER_SENDER: rate("10/1h"),
  VERIFYD_INBOUND_NUMBERS: z
    .string()
    .default("")
    .transform((value, ctx) => {
      const numbers: InboundNumber[] = [];
      for (const item of value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)) {
        const match = /^(whatsapp|sms):(\+[1-9]\d{6,14})$/.exec(item);
        if (!match) {
          ctx.addIssue({ code: "custom", message: `"${item}" is not like whatsapp:+14155238886 or sms:+15017122661` });
          return z.NEVER;
        }
        numbers.push({ channel: match[1] as InboundNumber["channel"], number: match[2] as string });
      }
      return numbers;
    }),
  VERIFYD_ABUSE_MODE: z.enum(["enforce", "monitor"]).default("enforce"),
  VERIFYD_BLOCKED_COUNTRIES: countries,
  VERIFYD_ALLOWED_COUNTRIES: countries,
  VERIFYD_CONVERSION_WINDOW: duration("1h").refine((ms) => ms >= 60_000, { message: "must be at least 1m" }),
  VERIFYD_CONVERSION_MIN_SENDS: integer(20, 1, 1_000_000),
  VERIFYD_CONVERSION_THRESHOLD: z.coerce.number().min(0).max(1).default(0.1),
  VERIFYD_CONVERSION_COOLDOWN: duration("1h").refine((ms) => ms >= 60_000, { message: "must be at least 1m" }),
  VERIFYD_CONVERSION_SETTLE: duration("10m"),
  VERIFYD_ALLOW_NUMBERS: list(/^\+[1-9]\d{0,14}$/, "+14155550100 or a prefix like +4477009"),
  VERIFYD_TRUST_PROXY_HOPS: integer(0, 0, 10),
  VERIFYD_DISPATCH_BUDGET: duration("2s"),
  VERIFYD_DELIVERY_LEASE: duration("30s").refine((ms) => ms >= 1000, { message: "must be at least 1s" }),
  VERIFYD_BREAKER_FAILURES: integer(5, 1, 1000),
  VERIFYD_BREAKER_COOLDOWN: duration("30s").refine((ms) => ms >= 1000, { message: "must be at least 1s" }),
  VERIFYD_OUTBOX_POLL: duration("1s").refine((ms) => ms >= 10, { message: "must be at least 10ms" }),
  VERIFYD_RETENTION: duration("30d").refine((ms) => ms >= 3_600_000, { message: "must be at least 1h" }),
  VERIFYD_MAX_BODY_BYTES: integer(16_384, 1024, 1_048_576),
  VERIFYD_METRICS_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, {
    message: "must be at least 16 characters",
  }),
  VERIFYD_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  VERIFYD_TLS_CERT_FILE: optionalText,
  VERIFYD_TLS_KEY_FILE: optionalText,
  VERIFYD_SHUTDOWN_TIMEOUT: duration("10s").refine((ms) => ms >= 1000, { message: "must be at least 1s" }),
});

type Env = z.output<typeof envSchema>;
/** A business number end users write to, for person-to-application verification. */
export interface InboundNumber {
  channel: "whatsapp" | "sms";
  /** E.164. */
  number: string;
}
export type RateSetting = { points: number; windowMs: number };

export interface Config {
  env: Env["VERIFYD_ENV"];
  port: number;
  host: string;
  dbPath: string;
  /** PostgreSQL instead of the SQLite file (`DATABASE_URL`), with its connection pool size per instance. */
  databaseUrl: string | undefined;
  dbPoolSize: number;
  /** Rate-limit counters in Redis (`REDIS_URL`), shared by every instance. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key, so deployments can share one Redis. */
  redisPrefix: string;
  secret: string | undefined;
  /** `VERIFYD_PREVIOUS_SECRET`: what `verifyd rotate-key` re-keys from. */
  previousSecret: string | undefined;
  adminKey: string | undefined;
  serviceName: string;
  /** The channel used when no route is configured (`VERIFYD_SENDER`). */
  sender: "console" | "http" | "dryrun";
  /** The load-test channel (`VERIFYD_SENDER=dryrun`): on or off, and where it writes codes, if anywhere. */
  dryrun: { enabled: boolean; captureFile: string | undefined };
  /** verifyd's public base URL, for provider status callbacks (`VERIFYD_PUBLIC_URL` or the config file). */
  publicUrl: string | undefined;
  /** Providers from the config file, by configured name. */
  providers: FileConfig["providers"];
  /** The default route: the config file's, else one SMS step on `sender`. */
  route: RouteStepConfig[];
  countryRoutes: Record<string, RouteStepConfig[]>;
  httpChannel: { url: string | undefined; secret: string | undefined; timeoutMs: number };
  /** Event webhooks to the integrator for the default service (`VERIFYD_EVENTS_URL`, `VERIFYD_EVENTS_SECRET`). */
  events: { url: string | undefined; secret: string | undefined };
  defaults: {
    codeLength: number;
    ttlMs: number;
    maxChecks: number;
    maxSends: number;
    resendCooldownMs: number;
    resendPolicy: "same" | "new";
  };
  limits: {
    sendsPerDestination: RateSetting;
    sendsPerPrefix: RateSetting;
    sendsPerCountry: RateSetting;
    startsPerIp: RateSetting;
    startsPerDevice: RateSetting;
    startsPerUser: RateSetting;
    requestsPerKey: RateSetting;
    failedChecksPerDestination: RateSetting;
    failedChecksPerIp: RateSetting;
    inboundApprovalsPerSender: RateSetting;
    inboundUnknownPerSender: RateSetting;
  };
  /** Business numbers for person-to-application verification (`VERIFYD_INBOUND_NUMBERS`). */
  inboundNumbers: InboundNumber[];
  /** Number-type and country screening of destinations (`VERIFYD_ABUSE_MODE` and friends). */
  screening: ScreeningRules;
  /** The conversion guard (`VERIFYD_CONVERSION_*`); it shares the screening's mode, allow-list and prefix. */
  conversion: ConversionSettings;
  trustProxyHops: number;
  dispatchBudgetMs: number;
  /** How long a claimed delivery is ours; a crashed sender's deliveries are sent again after it. */
  deliveryLeaseMs: number;
  /** Consecutive transient failures that open a provider's circuit, and how long it stays open. */
  breaker: { failures: number; cooldownMs: number };
  outboxPollMs: number;
  /** How long closed verifications and their deliveries are kept before the purge deletes them. */
  retentionMs: number;
  maxBodyBytes: number;
  /** Bearer token `/metrics` requires; without it, `/metrics` is open. */
  metricsToken: string | undefined;
  logLevel: Env["VERIFYD_LOG_LEVEL"];
  /** Serve HTTPS with these PEM files (re-read on SIGHUP); plain HTTP without. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** How long SIGTERM waits for requests and sends under way before giving up (exit 1). */
  shutdownTimeoutMs: number;
}

/** Every provider a route names must exist; the console channel never serves production. */
function checkRoutes(steps: RouteStepConfig[], known: Set<string>, production: boolean): void {
  for (const name of steps.flatMap((s) => s.providers)) {
    if (name === "console" && production) {
      throw new ConfigError(
        "route: the console channel prints codes and is refused in production (set VERIFYD_SENDER=http or configure a route)",
      );
    }
    if (!known.has(name)) throw new ConfigError(`route: provider "${name}" is not configured`);
  }
}

/**
 * The dryrun channel delivers no code to anyone, and its capture file holds codes in clear. Production takes either only with an explicit opt-in.
 */
function checkDryrun(e: Env, sender: Config["sender"], production: boolean): void {
  if (e.VERIFYD_DRYRUN_CAPTURE_FILE && sender !== "dryrun") {
    throw new ConfigError("VERIFYD_DRYRUN_CAPTURE_FILE: only used with VERIFYD_SENDER=dryrun");
  }
  if (!production || e.VERIFYD_ALLOW_DRYRUN === "true") return;
  if (sender === "dryrun") {
    throw new ConfigError(
      "VERIFYD_SENDER: the dryrun channel sends nothing and is refused in production unless VERIFYD_ALLOW_DRYRUN=true (load tests only)",
    );
  }
}

/** Resolves `NAME_FILE` into `NAME` for every secret variable; both at once is an error. */
function resolveSecretFiles(env: Record<string, string | undefined>, readFile: ReadFile) {
  const resolved = { ...env };
  for (const name of SECRET_VARIABLES) {
    const path = env[`${name}_FILE`];
    if (!path) continue;
    if (env[name]) throw new ConfigError(`${name} and ${name}_FILE are both set; keep one`);
    try {
      resolved[name] = readFile(path).trim();
    } catch (err) {
      throw new ConfigError(`${name}_FILE: cannot read ${path} (${(err as Error).message})`);
    }
  }
  return resolved;
}

/**
 * Parses and checks the environment. Throws `ConfigError` naming every bad variable.
 * @example loadConfig(process.env)
 */
export function loadConfig(rawEnv: Record<string, string | undefined>, readFile: ReadFile = readTextFile): Config {
  const parsed = envSchema.safeParse(resolveSecretFiles(rawEnv, readFile));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".") || "(environment)"}: ${i.message}`);
    throw new ConfigError(`invalid configuration\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.data;
  const sender = e.VERIFYD_SENDER ?? (e.VERIFYD_HTTP_CHANNEL_URL ? "http" : "console");
  if (sender === "http" && !e.VERIFYD_HTTP_CHANNEL_URL) {
    throw new ConfigError("VERIFYD_HTTP_CHANNEL_URL: required when VERIFYD_SENDER=http");
  }
  if (Boolean(e.VERIFYD_TLS_CERT_FILE) !== Boolean(e.VERIFYD_TLS_KEY_FILE)) {
    throw new ConfigError("VERIFYD_TLS_CERT_FILE and VERIFYD_TLS_KEY_FILE: set both (HTTPS) or neither (HTTP)");
  }
  const file = e.VERIFYD_CONFIG_FILE ? loadConfigFile(e.VERIFYD_CONFIG_FILE, rawEnv, readFile) : undefined;
  const production = e.VERIFYD_ENV === "production";
  const route = file?.route ?? [{ channel: "sms" as const, providers: [sender], fallbackAfterMs: null }];
  const countryRoutes = file?.countryRoutes ?? {};
  const known = new Set([
    ...Object.keys(file?.providers ?? {}),
    ...(production ? [] : ["console"]),
    ...(e.VERIFYD_HTTP_CHANNEL_URL ? ["http"] : []),
  ]);
  if (sender === "dryrun") known.add("dryrun");
  for (const steps of [route, ...Object.values(countryRoutes)]) checkRoutes(steps, known, production);
  checkDryrun(e, sender, production);
  if (production) {
    if (!e.VERIFYD_SECRET) throw new ConfigError("VERIFYD_SECRET: required in production (or VERIFYD_SECRET_FILE)");
    if (!e.VERIFYD_ADMIN_KEY) {
      throw new ConfigError("VERIFYD_ADMIN_KEY: required in production (or VERIFYD_ADMIN_KEY_FILE)");
    }
    if (e.VERIFYD_HTTP_CHANNEL_URL && !e.VERIFYD_HTTP_CHANNEL_SECRET) {
      throw new ConfigError("VERIFYD_HTTP_CHANNEL_SECRET: required in production so the receiver can verify sends");
    }
    if (e.VERIFYD_EVENTS_URL && !e.VERIFYD_EVENTS_SECRET) {
      throw new ConfigError("VERIFYD_EVENTS_SECRET: required in production so the receiver can verify events");
    }
  }
  return {
    env: e.VERIFYD_ENV,
    port: e.PORT,
    host: e.VERIFYD_HOST,
    dbPath: e.VERIFYD_DB,
    databaseUrl: e.DATABASE_URL,
    dbPoolSize: e.VERIFYD_DB_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.VERIFYD_REDIS_PREFIX,
    secret: e.VERIFYD_SECRET,
    previousSecret: e.VERIFYD_PREVIOUS_SECRET,
    adminKey: e.VERIFYD_ADMIN_KEY,
    serviceName: e.VERIFYD_SERVICE_NAME,
    sender,
    dryrun: { enabled: sender === "dryrun", captureFile: e.VERIFYD_DRYRUN_CAPTURE_FILE },
    publicUrl: e.VERIFYD_PUBLIC_URL ?? file?.publicUrl,
    providers: file?.providers ?? {},
    route,
    countryRoutes,
    httpChannel: {
      url: e.VERIFYD_HTTP_CHANNEL_URL,
      secret: e.VERIFYD_HTTP_CHANNEL_SECRET,
      timeoutMs: e.VERIFYD_HTTP_CHANNEL_TIMEOUT,
    },
    events: { url: e.VERIFYD_EVENTS_URL, secret: e.VERIFYD_EVENTS_SECRET },
    defaults: {
      codeLength: e.VERIFYD_CODE_LENGTH,
      ttlMs: e.VERIFYD_CODE_TTL,
      maxChecks: e.VERIFYD_MAX_CHECKS,
      maxSends: e.VERIFYD_MAX_SENDS,
      resendCooldownMs: e.VERIFYD_RESEND_COOLDOWN,
      resendPolicy: e.VERIFYD_RESEND_POLICY,
    },
    limits: {
      sendsPerDestination: e.VERIFYD_LIMIT_SENDS_PER_DESTINATION,
      sendsPerPrefix: e.VERIFYD_LIMIT_SENDS_PER_PREFIX,
      sendsPerCountry: e.VERIFYD_LIMIT_SENDS_PER_COUNTRY,
      startsPerIp: e.VERIFYD_LIMIT_STARTS_PER_IP,
      startsPerDevice: e.VERIFYD_LIMIT_STARTS_PER_DEVICE,
      startsPerUser: e.VERIFYD_LIMIT_STARTS_PER_USER,
      requestsPerKey: e.VERIFYD_LIMIT_REQUESTS_PER_KEY,
      failedChecksPerDestination: e.VERIFYD_LIMIT_FAILED_CHECKS_PER_DESTINATION,
      failedChecksPerIp: e.VERIFYD_LIMIT_FAILED_CHECKS_PER_IP,
      inboundApprovalsPerSender: e.VERIFYD_LIMIT_INBOUND_APPROVALS_PER_SENDER,
      inboundUnknownPerSender: e.VERIFYD_LIMIT_INBOUND_UNKNOWN_PER_SENDER,
    },
    inboundNumbers: e.VERIFYD_INBOUND_NUMBERS,
    screening: {
      refusedTypes: DEFAULT_REFUSED_TYPES,
      blockedCountries: e.VERIFYD_BLOCKED_COUNTRIES,
      allowedCountries: e.VERIFYD_ALLOWED_COUNTRIES,
      allowNumbers: e.VERIFYD_ALLOW_NUMBERS,
      mode: e.VERIFYD_ABUSE_MODE,
      prefixDigits: e.VERIFYD_PREFIX_DIGITS,
    },
    conversion: {
      windowMs: e.VERIFYD_CONVERSION_WINDOW,
      minSends: e.VERIFYD_CONVERSION_MIN_SENDS,
      threshold: e.VERIFYD_CONVERSION_THRESHOLD,
      cooldownMs: e.VERIFYD_CONVERSION_COOLDOWN,
      settleMs: e.VERIFYD_CONVERSION_SETTLE,
    },
    trustProxyHops: e.VERIFYD_TRUST_PROXY_HOPS,
    dispatchBudgetMs: e.VERIFYD_DISPATCH_BUDGET,
    deliveryLeaseMs: e.VERIFYD_DELIVERY_LEASE,
    breaker: { failures: e.VERIFYD_BREAKER_FAILURES, cooldownMs: e.VERIFYD_BREAKER_COOLDOWN },
    outboxPollMs: e.VERIFYD_OUTBOX_POLL,
    retentionMs: e.VERIFYD_RETENTION,
    maxBodyBytes: e.VERIFYD_MAX_BODY_BYTES,
    metricsToken: e.VERIFYD_METRICS_TOKEN,
    logLevel: e.VERIFYD_LOG_LEVEL,
    tls:
      e.VERIFYD_TLS_CERT_FILE && e.VERIFYD_TLS_KEY_FILE
        ? { certFile: e.VERIFYD_TLS_CERT_FILE, keyFile: e.VERIFYD_TLS_KEY_FILE }
        : undefined,
    shutdownTimeoutMs: e.VERIFYD_SHUTDOWN_TIMEOUT,
  };
}
