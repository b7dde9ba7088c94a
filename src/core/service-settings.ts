/**
 * Per-service message and test settings, beside the verification policy. Stored as the overrides a
 * service sets; `resolveSettings` fills the rest with these defaults.
 */

/**
 * Template slots a service may override: a channel, and that channel's payment (transaction-bound)
 * form; `voice` is the sentence a call speaks, `email` the text of an email and `email_subject` its subject.
 */
export const TEMPLATE_SLOTS = [
  "sms",
  "rcs",
  "whatsapp",
  "voice",
  "email",
  "email_subject",
  "sms_payment",
  "rcs_payment",
  "whatsapp_payment",
  "voice_payment",
  "email_payment",
] as const;
export type TemplateSlot = (typeof TEMPLATE_SLOTS)[number];

/** Override texts by BCP-47 locale (`fr`, `pt-BR`) and slot. */
export type TemplateOverrides = Record<string, Partial<Record<TemplateSlot, string>>>;

/**
 * `digits`: 0–9. `alphanumeric`: upper-case letters and digits without look-alikes (no 0, O, 1, I, L),
 * checked case-insensitively.
 */
export type CodeAlphabet = "digits" | "alphanumeric";

export const ALPHABETS: Record<CodeAlphabet, string> = {
  digits: "0123456789",
  alphanumeric: "23456789ABCDEFGHJKMNPQRSTUVWXYZ",
};

/**
 * How a service's route is ordered: `fixed` as configured; `learned` per country by expected cost per
 * approval from recent history (with some exploration, never dropping a step); `shadow` as configured,
 * reporting what `learned` would have chosen and the expected saving.
 */
export type RouteMode = "fixed" | "learned" | "shadow";

export interface ServiceSettings {
  /** @default "digits" */
  alphabet: CodeAlphabet;
  /** ISO 3166-1 alpha-2 codes this service may send to; null allows every country the configuration allows. */
  allowedCountries: string[] | null;
  /** ISO 3166-1 alpha-2 country a number without a country calling code is read in, when the request names none. @default null */
  defaultCountry: string | null;
  /** Locale used when neither the request nor the destination's country picks one. @default null (then `en`) */
  defaultLocale: string | null;
  templates: TemplateOverrides;
  /** A bare host (`example.com`): SMS end with the WebOTP / origin-bound line `@example.com #123456`. */
  webOtpOrigin: string | null;
  /** The 11-character Android SMS Retriever hash of the app, put on its own line of every SMS. */
  androidAppHash: string | null;
  /** E.164 number → fixed code. These numbers are never sent to; their verifications are marked `test`. */
  testNumbers: Record<string, string>;
  /** The `From` of this service's emails (`Acme <no-reply@auth.acme.com>`); null: the email provider's own. */
  emailFrom: string | null;
  /** @default "fixed" */
  routeMode: RouteMode;
}

export const DEFAULT_SETTINGS: ServiceSettings = {
  alphabet: "digits",
  allowedCountries: null,
  defaultCountry: null,
  defaultLocale: null,
  templates: {},
  webOtpOrigin: null,
  androidAppHash: null,
  testNumbers: {},
  emailFrom: null,
  routeMode: "fixed",
};

export function resolveSettings(stored: Partial<ServiceSettings> | undefined): ServiceSettings {
  const settings = { ...DEFAULT_SETTINGS };
  for (const [field, value] of Object.entries(stored ?? {}) as [keyof ServiceSettings, never][]) {
    if (value !== undefined) settings[field] = value;
  }
  return settings;
}
