import { z } from "zod";
import { parseDuration, parseRate, type RateSetting } from "./units.js";

/**
 * The kinds of value an environment variable holds, as zod schemas from the variable's text to
 * what the program uses. Their messages end up verbatim in `ConfigError`, after the variable's name.
 */

/** "30s", "10m", "1h" → milliseconds; bounds are written the same way, and quoted so in the message. */
export const duration = (fallback: string, bounds: { min?: string; max?: string } = {}) => {
  const ms = z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const parsed = parseDuration(value);
      if (parsed === undefined) {
        ctx.addIssue({ code: "custom", message: `"${value}" is not a duration like 30s, 10m or 1h` });
        return z.NEVER;
      }
      return parsed;
    });
  if (bounds.min === undefined) return ms;
  const min = boundMs(bounds.min);
  const max = bounds.max === undefined ? Number.POSITIVE_INFINITY : boundMs(bounds.max);
  const message = bounds.max === undefined ? `must be at least ${bounds.min}` : `must be between ${bounds.min} and ${bounds.max}`;
  return ms.refine((value) => value >= min && value <= max, { message });
};

/** "1h,4h,24h" → milliseconds, in order: one duration after another (e.g. escalating cool-downs). */
export const durations = (fallback: string, bounds: { min: string }) => {
  const min = boundMs(bounds.min);
  return z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const items = value.split(",").map((item) => item.trim());
      const parsed = items.map(parseDuration);
      const bad = items.find((_item, i) => parsed[i] === undefined);
      if (bad !== undefined) {
        ctx.addIssue({ code: "custom", message: `"${bad}" is not a duration like 30s, 10m or 1h` });
        return z.NEVER;
      }
      const ms = parsed as number[];
      if (ms.some((v) => v < min)) {
        ctx.addIssue({ code: "custom", message: `each must be at least ${bounds.min}` });
        return z.NEVER;
      }
      return ms;
    });
};

/** A bound in the table that does not parse is the table's mistake: refused when the module loads. */
function boundMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`configuration table: "${text}" is not a duration`);
  return ms;
}

/** "5/10m" → 5 points per 600000 ms. */
export const rate = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx): RateSetting => {
      const parsed = parseRate(value);
      if (!parsed) {
        ctx.addIssue({ code: "custom", message: `"${value}" is not a limit like 5/10m (count/window)` });
        return z.NEVER;
      }
      return parsed;
    });

export const integer = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** An integer in [min, max], or nothing when unset or empty. */
export const optionalInteger = (min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === "" ? undefined : v))
    .pipe(z.coerce.number<string | undefined>().int().min(min).max(max).optional());

/** Unset and empty both mean "not given", as shells and compose files write either. */
export const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === "" ? undefined : v));

/** Optional text of at least `min` characters. */
export const longText = (min: number, message = `must be at least ${min} characters`) =>
  optionalText.refine((v) => v === undefined || v.length >= min, { message });

/** An optional URL whose scheme matches `protocol`. */
export const url = (protocol: RegExp) => optionalText.pipe(z.url({ protocol }).optional());

/** A Standard Webhooks signing secret, as both the HTTP channel and event webhooks take. */
export const webhookSecret = optionalText.refine((v) => v === undefined || v.startsWith("whsec_"), {
  message: "must be a Standard Webhooks secret (whsec_<base64>)",
});

/** A comma-separated list, each item trimmed and checked against `pattern`. */
export const list = (pattern: RegExp, example: string, normalize: (item: string) => string = (item) => item) =>
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

export const countries = list(/^[A-Z]{2}$/, "GB or US (ISO 3166-1 alpha-2 codes)", (item) => item.toUpperCase());

/** Business numbers end users write to: `whatsapp:+14155238886,sms:+15017122661`. */
export const inboundNumbers = z
  .string()
  .default("")
  .transform((value, ctx) => {
    const numbers: { channel: "whatsapp" | "sms"; number: string }[] = [];
    for (const item of value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const match = /^(whatsapp|sms):(\+[1-9]\d{6,14})$/.exec(item);
      if (!match) {
        ctx.addIssue({ code: "custom", message: `"${item}" is not like whatsapp:+14155238886 or sms:+15017122661` });
        return z.NEVER;
      }
      numbers.push({ channel: match[1] as "whatsapp" | "sms", number: match[2] as string });
    }
    return numbers;
  });
