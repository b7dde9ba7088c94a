import type { Channel } from "../model.js";
import type { TemplateOverrides, TemplateSlot } from "../service-settings.js";
import type { Transaction } from "../transaction.js";
import { BUILTIN_EMAIL } from "./builtin-email.js";
import { BUILTIN_SPOKEN, spokenCode } from "./builtin-spoken.js";
import { BUILTIN_TEMPLATES, type BuiltinLanguage, isBuiltinLanguage } from "./builtin-templates.js";
import { languageOf } from "./locale.js";
import { fitsOneSegment } from "./segments.js";

/**
 * Renders the text of a code message: the service's override or the built-in text for the locale,
 * placeholders filled in; for SMS, the Android app-hash line and the WebOTP line appended, and the
 * service name trimmed when needed to keep the whole SMS to one segment; for a call, the code spelled
 * out one character at a time. An email's subject and HTML part come from `email.ts`.
 */

export interface MessageInput {
  channel: Channel;
  /** A tag chosen by `chooseLocale`. */
  locale: string;
  serviceName: string;
  code: string;
  /** Whole seconds left before the code expires, at least 1 (see `secondsLeft`). */
  secondsLeft: number;
  transaction?: Transaction | null;
  overrides?: TemplateOverrides;
  webOtpOrigin?: string | null;
  androidAppHash?: string | null;
}

export const PLACEHOLDERS = ["service", "code", "minutes", "amount", "payee"] as const;
const PLACEHOLDER = /\{(service|code|minutes|amount|payee)\}/g;

/** The slot a message uses: its channel, or the channel's payment form when a transaction is bound. */
export function slotFor(channel: Channel, payment: boolean): TemplateSlot {
  return payment ? `${channel}_payment` : channel;
}

/** The built-in text of a slot in a built-in language. */
function builtinText(language: BuiltinLanguage, slot: TemplateSlot): string {
  const payment = slot.endsWith("_payment");
  if (slot === "email_subject") return BUILTIN_EMAIL[language].subject;
  if (slot.startsWith("email")) return payment ? BUILTIN_EMAIL[language].payment : BUILTIN_EMAIL[language].code;
  if (slot.startsWith("voice")) return payment ? BUILTIN_SPOKEN[language].payment : BUILTIN_SPOKEN[language].code;
  return payment ? BUILTIN_TEMPLATES[language].payment : BUILTIN_TEMPLATES[language].code;
}

/** The override for the tag (then its language), else the built-in text of the language, else English. */
export function templateFor(locale: string, slot: TemplateSlot, overrides: TemplateOverrides = {}): string {
  const language = languageOf(locale);
  const override = overrides[locale]?.[slot] ?? overrides[language]?.[slot];
  if (override !== undefined) return override;
  return builtinText(isBuiltinLanguage(language) ? language : "en", slot);
}

/** One formatter per locale and unit: building an Intl.NumberFormat costs far more than formatting with it. */
const unitFormats = new Map<string, Intl.NumberFormat>();

function unitFormat(locale: string, unit: "minute" | "second"): Intl.NumberFormat {
  const key = `${unit}:${locale}`;
  let format = unitFormats.get(key);
  if (!format) {
    try {
      format = new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "long", numberingSystem: "latn" });
    } catch {
      format = new Intl.NumberFormat("en", { style: "unit", unit, unitDisplay: "long" });
    }
    // Locales come from a closed list plus service overrides: the map stays small, but bound it anyway.
    if (unitFormats.size < 512) unitFormats.set(key, format);
  }
  return format;
}

/**
 * The time left as the user reads it, in the language's own plural forms, ASCII digits and plain
 * spaces ("10 minutes", "10 Minuten", "10分钟", "30 secondes"). Never longer than the time really
 * left: under a minute, or between one and two, it is said in seconds ("90 seconds", not "2
 * minutes" nor "1 minute"); beyond, in whole minutes rounded down.
 */
export function timeLeftText(locale: string, seconds: number): string {
  const whole = Math.max(1, Math.floor(seconds));
  const key = `${locale}|${whole}`;
  const known = timeLeftTexts.get(key);
  if (known !== undefined) return known;
  const inSeconds = whole < 120 && whole % 60 !== 0;
  const formatted = inSeconds
    ? unitFormat(locale, "second").format(whole)
    : unitFormat(locale, "minute").format(Math.floor(whole / 60));
  // No-break spaces would push a GSM-7 text into UCS-2.
  const text = formatted.replace(/[\u00a0\u202f]/g, " ");
  // Bounded like the formatters above: locales and lifetimes come from a short list in practice.
  if (timeLeftTexts.size < 1024) timeLeftTexts.set(key, text);
  return text;
}

/**
 * Texts already formatted, by locale and whole seconds: a first send says the code's whole lifetime,
 * so nearly every start asks for the same few, and formatting is most of what rendering costs.
 */
const timeLeftTexts = new Map<string, string>();

export function fill(template: string, values: Record<(typeof PLACEHOLDERS)[number], string>): string {
  return template.replace(PLACEHOLDER, (_, name: keyof typeof values) => values[name]);
}

/** The lines SMS autofill reads, in the order of `standards.md` §4: app hash, then the WebOTP line last. */
export function autofillLines(code: string, webOtpOrigin?: string | null, androidAppHash?: string | null): string[] {
  const lines: string[] = [];
  if (androidAppHash) lines.push(androidAppHash);
  if (webOtpOrigin) lines.push(`@${webOtpOrigin} #${code}`);
  return lines;
}

export function renderMessage(input: MessageInput): string {
  const template = templateFor(input.locale, slotFor(input.channel, !!input.transaction), input.overrides);
  const values = {
    service: input.serviceName,
    code: input.channel === "voice" ? spokenCode(input.code, languageOf(input.locale)) : input.code,
    minutes: timeLeftText(input.locale, input.secondsLeft),
    amount: input.transaction?.amount ?? "",
    payee: input.transaction?.payee ?? "",
  };
  if (input.channel !== "sms") return fill(template, values);
  const lines = autofillLines(input.code, input.webOtpOrigin, input.androidAppHash);
  const compose = (serviceName: string) => [fill(template, { ...values, service: serviceName }), ...lines].join("\n");
  const full = compose(input.serviceName);
  if (fitsOneSegment(full)) return full;
  // Shorten the name, never the code, amount or payee; if even no name fits, send it whole in several segments.
  const chars = Array.from(input.serviceName);
  for (let keep = chars.length - 1; keep >= 1; keep--) {
    const trimmed = compose(chars.slice(0, keep).join("").trimEnd());
    if (fitsOneSegment(trimmed)) return trimmed;
  }
  return full;
}

/**
 * Seconds before `expiresAt`, to the nearest second (a send a few milliseconds after the start still
 * says the whole TTL), at least 1.
 */
export function secondsLeft(expiresAt: number, now: number): number {
  return Math.max(1, Math.round((expiresAt - now) / 1000));
}
