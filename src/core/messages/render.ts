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
  /** Whole minutes left before the code expires, at least 1. */
  minutesLeft: number;
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

/** "10 minutes", "10 Minuten", "10分钟": the language's own plural forms, ASCII digits and plain spaces. */
/** One formatter per locale: building an Intl.NumberFormat costs far more than formatting with it. */
const minuteFormats = new Map<string, Intl.NumberFormat>();

function minuteFormat(locale: string): Intl.NumberFormat {
  let format = minuteFormats.get(locale);
  if (!format) {
    try {
      format = new Intl.NumberFormat(locale, { style: "unit", unit: "minute", unitDisplay: "long", numberingSystem: "latn" });
    } catch {
      format = new Intl.NumberFormat("en", { style: "unit", unit: "minute", unitDisplay: "long" });
    }
    // Locales come from a closed list plus service overrides: the map stays small, but bound it anyway.
    if (minuteFormats.size < 256) minuteFormats.set(locale, format);
  }
  return format;
}

export function minutesText(locale: string, minutes: number): string {
  // No-break spaces would push a GSM-7 text into UCS-2.
  return minuteFormat(locale)
    .format(minutes)
    .replace(/[\u00a0\u202f]/g, " ");
}

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
    minutes: minutesText(input.locale, input.minutesLeft),
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

/** Whole minutes before `expiresAt`, at least 1. */
export function minutesLeft(expiresAt: number, now: number): number {
  return Math.max(1, Math.ceil((expiresAt - now) / 60_000));
}
