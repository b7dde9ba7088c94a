import { z } from "@hono/zod-openapi";
import { isEmailAddress, normalizeEmail, parseMailbox } from "../core/email.js";
import { canonicalLocale } from "../core/messages/locale.js";
import type { RouteStep, Service } from "../core/model.js";
import { isKnownCountry, LINE_TYPES, normalizePhone } from "../core/phone.js";
import { type ServiceSettings, TEMPLATE_SLOTS, type TemplateOverrides } from "../core/service-settings.js";

/** The message, routing and test settings of `/v1/services` bodies, and their view. */

const country = z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code, e.g. FR");
const locale = z
  .string()
  .max(35)
  .refine((tag) => canonicalLocale(tag) === tag, "must be a BCP-47 tag in canonical form, e.g. fr or pt-BR");

const RouteStepBody = z
  .object({
    channel: z.enum(["sms", "whatsapp", "rcs", "voice", "email"]).openapi({
      description: "`voice` speaks the code in a call; `email` steps serve email addresses, the others phone numbers.",
    }),
    providers: z.array(z.string().min(1).max(64)).min(1).max(5),
    fallback_after_seconds: z.number().int().min(1).max(3600).nullable().optional().openapi({
      description: "Move to the next step when no `delivered` receipt arrives this long after acceptance.",
    }),
    line_types: z
      .array(z.enum(LINE_TYPES))
      .min(1)
      .nullable()
      .optional()
      .openapi({
        description:
          'Only numbers of these line types take this step, e.g. `["fixed_line"]` on a voice step; unset: every type the channel accepts.',
        example: ["fixed_line"],
      }),
  })
  .strict();
const Route = z.array(RouteStepBody).min(1).max(5);

const Templates = z
  .record(
    locale,
    z.object(Object.fromEntries(TEMPLATE_SLOTS.map((slot) => [slot, z.string().min(1).max(1024).optional()]))).strict(),
  )
  .openapi({
    description:
      "Overrides by locale and slot (`sms`, `rcs`, `whatsapp`, `voice` (the sentence a call speaks; `{code}` is read digit by digit), `email` (the plain-text body; the HTML part is made from it), `email_subject`, and `…_payment` for transaction-bound codes). Placeholders: `{service}`, `{code}`, `{minutes}`, `{amount}`, `{payee}`.",
    example: { fr: { sms: "{code} est votre code {service}. Il expire dans {minutes}." } },
  });

/** A test destination: a number in E.164 form, or an email address as verifyd normalises it (the form a start is matched in). */
const testDestinationKey = z.string().refine((key) => {
  try {
    return isEmailAddress(key) ? normalizeEmail(key).address === key : normalizePhone(key).e164 === key;
  } catch {
    return false;
  }
}, "must be a valid number in E.164 form, e.g. +15005550006, or an email address in lower case with an ASCII domain, e.g. reviewer@acme.example");

const emailFrom = z
  .string()
  .max(200)
  .refine((v) => parseMailbox(v) !== null, "must be an address, or a name and an address: Acme <no-reply@auth.acme.com>");

export const SettingsFields = {
  alphabet: z.enum(["digits", "alphanumeric"]).openapi({
    description: "`digits` (0–9, the default) or `alphanumeric` (A–Z and 2–9 without 0, O, 1, I, L; checked case-insensitively).",
  }),
  route: Route.openapi({ description: "The delivery route: steps tried in order. Defaults to the default service's." }),
  country_routes: z.record(country, Route).openapi({ description: "Routes by destination country, overriding `route`." }),
  allowed_countries: z.array(country).min(1).max(250).nullable().openapi({
    description: "Only these destination countries are sent to (403 `blocked`, `country_not_allowed`); null allows all.",
  }),
  default_country: country.refine(isKnownCountry, "is not a country phone numbers can be read in").nullable().openapi({
    description:
      "A number given without a country calling code (no `+`, no `00`) is read as a national number of this country, unless the request names one in `country`.",
    example: "GB",
  }),
  default_locale: locale.nullable().openapi({ description: "Locale when the request names none and the country maps to none." }),
  templates: Templates,
  webotp_origin: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
      "must be a bare lower-case host such as example.com (no scheme, port or path)",
    )
    .nullable()
    .openapi({
      description: "Adds the WebOTP / origin-bound line `@host #code` as the last line of each SMS.",
      example: "example.com",
    }),
  android_app_hash: z
    .string()
    .regex(/^[A-Za-z0-9+/]{11}$/, "must be exactly 11 characters of the base64 alphabet")
    .nullable()
    .openapi({ description: "The Android SMS Retriever app hash, put on its own line of each SMS.", example: "FA+9qCX9VSu" }),
  test_numbers: z
    .record(testDestinationKey, z.string().min(4).max(10))
    .refine((numbers) => Object.keys(numbers).length <= 100, "at most 100 test numbers")
    .openapi({
      description:
        "Numbers (E.164) and email addresses (normalised: lower case, ASCII domain) with fixed codes that are never sent to; their verifications answer `test: true`.",
      example: { "+15005550006": "123456", "reviewer@acme.example": "654321" },
    }),
  email_from: emailFrom.nullable().openapi({
    description:
      "The `From` of this service's emails; its domain must be one your email provider may send for (SPF, DKIM). Null: the provider's `from`.",
    example: "Acme <no-reply@auth.acme.com>",
  }),
};

export type SettingsInput = Partial<{ [K in keyof typeof SettingsFields]: z.infer<(typeof SettingsFields)[K]> }>;

const toRoute = (steps: z.infer<typeof Route>): RouteStep[] =>
  steps.map((s) => ({
    channel: s.channel,
    providers: s.providers,
    fallbackAfterMs: s.fallback_after_seconds == null ? null : s.fallback_after_seconds * 1000,
    ...(s.line_types ? { lineTypes: s.line_types } : {}),
  }));

/** The request's settings as a patch; absent fields stay unset, null clears a nullable one. */
export function toSettingsPatch(input: SettingsInput) {
  const settings: Partial<ServiceSettings> = {};
  if (input.alphabet !== undefined) settings.alphabet = input.alphabet;
  if (input.allowed_countries !== undefined) settings.allowedCountries = input.allowed_countries;
  if (input.default_country !== undefined) settings.defaultCountry = input.default_country;
  if (input.default_locale !== undefined) settings.defaultLocale = input.default_locale;
  if (input.templates !== undefined) settings.templates = input.templates as TemplateOverrides;
  if (input.webotp_origin !== undefined) settings.webOtpOrigin = input.webotp_origin;
  if (input.android_app_hash !== undefined) settings.androidAppHash = input.android_app_hash;
  if (input.test_numbers !== undefined) settings.testNumbers = input.test_numbers;
  if (input.email_from !== undefined) settings.emailFrom = input.email_from;
  return {
    settings,
    ...(input.route !== undefined ? { route: toRoute(input.route) } : {}),
    ...(input.country_routes !== undefined
      ? { countryRoutes: Object.fromEntries(Object.entries(input.country_routes).map(([c, r]) => [c, toRoute(r)])) }
      : {}),
  };
}

const RouteView = z.array(
  z.object({
    channel: z.string(),
    providers: z.array(z.string()),
    fallback_after_seconds: z.number().nullable(),
    line_types: z.array(z.string()).nullable(),
  }),
);

export const SettingsView = z
  .object({
    alphabet: z.enum(["digits", "alphanumeric"]),
    route: RouteView,
    country_routes: z.record(z.string(), RouteView),
    allowed_countries: z.array(z.string()).nullable(),
    default_country: z.string().nullable(),
    default_locale: z.string().nullable(),
    templates: z.record(z.string(), z.record(z.string(), z.string())),
    webotp_origin: z.string().nullable(),
    android_app_hash: z.string().nullable(),
    test_numbers: z.record(z.string(), z.string()),
    email_from: z.string().nullable(),
  })
  .openapi("ServiceSettings");

const routeView = (steps: RouteStep[]) =>
  steps.map((s) => ({
    channel: s.channel,
    providers: s.providers,
    fallback_after_seconds: s.fallbackAfterMs ? Math.round(s.fallbackAfterMs / 1000) : null,
    line_types: s.lineTypes?.length ? [...s.lineTypes] : null,
  }));

export function settingsView(s: Service): z.infer<typeof SettingsView> {
  return {
    alphabet: s.settings.alphabet,
    route: routeView(s.route),
    country_routes: Object.fromEntries(Object.entries(s.countryRoutes).map(([c, r]) => [c, routeView(r)])),
    allowed_countries: s.settings.allowedCountries,
    default_country: s.settings.defaultCountry,
    default_locale: s.settings.defaultLocale,
    templates: s.settings.templates as Record<string, Record<string, string>>,
    webotp_origin: s.settings.webOtpOrigin,
    android_app_hash: s.settings.androidAppHash,
    test_numbers: s.settings.testNumbers,
    email_from: s.settings.emailFrom,
  };
}
