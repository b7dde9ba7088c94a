import { z } from "zod";
import type { Channel } from "../core/model.js";
import { LINE_TYPES, type LineType } from "../core/phone.js";
import { type ChannelPrice, DEFAULT_BILLED_ON, type PriceTable, toMicros } from "../core/prices.js";
import { ConfigError, type ReadFile, readTextFile } from "./errors.js";
import { describeIssues } from "./issues.js";
import { parseDuration } from "./units.js";

/**
 * The optional JSON configuration file (`VERIFYD_CONFIG_FILE`): providers and routes, which are
 * too structured for environment variables. Any string value may be a reference instead of the
 * secret itself: `"env:TWILIO_AUTH_TOKEN"` or `"file:/run/secrets/twilio"`.
 *
 * @example
 * {
 *   "providers": { "twilio": { "type": "twilio", "accountSid": "AC…", "authToken": "env:TWILIO_AUTH_TOKEN", "from": "+15017122661" } },
 *   "route": [{ "channel": "whatsapp", "providers": ["meta-whatsapp"], "fallbackAfter": "30s" }, { "channel": "sms", "providers": ["twilio"] }],
 *   "countryRoutes": { "US": [{ "channel": "sms", "providers": ["twilio"] }] }
 * }
 */

const channel = z.enum(["sms", "whatsapp", "rcs", "voice", "email"]);

const stepSchema = z
  .object({
    channel,
    providers: z.array(z.string().min(1)).min(1),
    /** Defaults to 30 s on WhatsApp and RCS (receipts are reliable there), 2 min on voice, none on SMS and email. */
    fallbackAfter: z.string().optional(),
    /** Only numbers of these line types take this step (e.g. `["fixed_line"]` for a call to landlines only). */
    lineTypes: z.array(z.enum(LINE_TYPES)).min(1).optional(),
  })
  .strict();

/** A price per message in the table's currency: 0 to 100 (a call or a message costs cents, not hundreds). */
const amount = z.number().min(0).max(100);

const channelPriceSchema = z
  .object({
    /** Every country without its own price. */
    default: amount.optional(),
    countries: z.record(z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code, e.g. FR"), amount).default({}),
    /** Defaults to `delivery` on WhatsApp and RCS, `send` on SMS, voice and email. */
    billedOn: z.enum(["send", "delivery"]).optional(),
  })
  .strict()
  .refine((p) => p.default !== undefined || Object.keys(p.countries).length > 0, "needs a `default` or some `countries`");

const pricesSchema = z
  .object({
    currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code, e.g. EUR"),
    providers: z.record(z.string(), z.partialRecord(channel, channelPriceSchema)),
  })
  .strict();

const fileSchema = z
  .object({
    publicUrl: z.url().optional(),
    providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/), z.looseObject({ type: z.string() })).default({}),
    route: z.array(stepSchema).min(1).optional(),
    countryRoutes: z.record(z.string().regex(/^[A-Z]{2}$/), z.array(stepSchema).min(1)).default({}),
    prices: pricesSchema.optional(),
  })
  .strict();

export interface RouteStepConfig {
  channel: Channel;
  providers: string[];
  fallbackAfterMs: number | null;
  lineTypes?: LineType[];
}

/**
 * How long a step waits for its `delivered` receipt before the next step, unless it says:
 * WhatsApp and RCS receipts come within seconds; a call's outcome is known once it rang out or
 * ended (a ring of up to a minute, the code spoken a few times); SMS receipts are missing in many
 * countries and SMTP has none, so those wait for a failure report only.
 */
const DEFAULT_FALLBACK_MS: Record<Channel, number | null> = {
  sms: null,
  whatsapp: 30_000,
  rcs: 30_000,
  voice: 120_000,
  email: null,
};

export interface FileConfig {
  publicUrl?: string;
  /** Provider settings by configured name; `type` picks the adapter. */
  providers: Record<string, { type: string } & Record<string, unknown>>;
  route?: RouteStepConfig[];
  countryRoutes: Record<string, RouteStepConfig[]>;
  /** What providers charge per message; absent: costs are not computed. */
  prices?: PriceTable;
}

function toPriceTable(p: z.output<typeof pricesSchema>): PriceTable {
  const providers: PriceTable["providers"] = {};
  for (const [provider, channels] of Object.entries(p.providers)) {
    const priced: Partial<Record<Channel, ChannelPrice>> = {};
    for (const [ch, price] of Object.entries(channels) as [Channel, z.output<typeof channelPriceSchema> | undefined][]) {
      if (!price) continue;
      priced[ch] = {
        defaultMicros: price.default === undefined ? null : toMicros(price.default),
        countries: Object.fromEntries(Object.entries(price.countries).map(([c, a]) => [c, toMicros(a)])),
        billedOn: price.billedOn ?? DEFAULT_BILLED_ON[ch],
      };
    }
    providers[provider] = priced;
  }
  return { currency: p.currency, providers };
}

/** Replaces `env:NAME` and `file:/path` strings, anywhere in the document, by what they point to. */
function resolveReferences(value: unknown, env: Record<string, string | undefined>, readFile: ReadFile, path: string): unknown {
  if (typeof value === "string") {
    if (value.startsWith("env:")) {
      const resolved = env[value.slice(4)];
      if (resolved === undefined) throw new ConfigError(`${path}: environment variable ${value.slice(4)} is not set`);
      return resolved;
    }
    if (value.startsWith("file:")) {
      try {
        return readFile(value.slice(5)).trim();
      } catch (err) {
        throw new ConfigError(`${path}: cannot read ${value.slice(5)} (${(err as Error).message})`);
      }
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveReferences(v, env, readFile, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, env, readFile, `${path}.${k}`)]));
  }
  return value;
}

function toStep(step: z.output<typeof stepSchema>, where: string): RouteStepConfig {
  let fallbackAfterMs = DEFAULT_FALLBACK_MS[step.channel];
  if (step.fallbackAfter !== undefined) {
    const ms = parseDuration(step.fallbackAfter);
    if (ms === undefined) throw new ConfigError(`${where}.fallbackAfter: "${step.fallbackAfter}" is not a duration like 30s`);
    fallbackAfterMs = ms || null;
  }
  return {
    channel: step.channel,
    providers: step.providers,
    fallbackAfterMs,
    ...(step.lineTypes ? { lineTypes: step.lineTypes } : {}),
  };
}

export function loadConfigFile(
  path: string,
  env: Record<string, string | undefined>,
  readFile: ReadFile = readTextFile,
): FileConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFile(path));
  } catch (err) {
    throw new ConfigError(`VERIFYD_CONFIG_FILE: cannot read ${path} as JSON (${(err as Error).message})`);
  }
  const parsed = fileSchema.safeParse(resolveReferences(raw, env, readFile, "config"));
  if (!parsed.success) {
    const lines = describeIssues(parsed.error.issues, fileSchema, "config");
    throw new ConfigError(`invalid configuration file ${path}\n  ${lines.join("\n  ")}`);
  }
  const f = parsed.data;
  return {
    publicUrl: f.publicUrl,
    providers: f.providers as FileConfig["providers"],
    route: f.route?.map((s, i) => toStep(s, `config.route[${i}]`)),
    countryRoutes: Object.fromEntries(
      Object.entries(f.countryRoutes).map(([country, steps]) => [
        country,
        steps.map((s, i) => toStep(s, `config.countryRoutes.${country}[${i}]`)),
      ]),
    ),
    ...(f.prices ? { prices: toPriceTable(f.prices) } : {}),
  };
}
