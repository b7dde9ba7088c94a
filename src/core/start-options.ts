import { VerifydError } from "./errors.js";
import { isBuiltinLanguage } from "./messages/builtin-templates.js";
import { chooseLocale } from "./messages/locale.js";
import type { Service } from "./model.js";

/**
 * What a service's settings decide about a new verification before anything is sent: whether the
 * destination is a test number, whether its country is allowed, and the language of its messages.
 */

/** The fixed code of a service test number, or null for a real destination. */
export function testCodeFor(service: Service, e164: string): string | null {
  return Object.hasOwn(service.settings.testNumbers, e164) ? (service.settings.testNumbers[e164] ?? null) : null;
}

/** Refuses (403 `blocked`, reason `country_not_allowed`) a country outside the service's `allowed_countries`. */
export function enforceServiceCountries(service: Service, country: string | null): void {
  const allowed = service.settings.allowedCountries;
  if (!allowed || (country && allowed.includes(country))) return;
  throw new VerifydError("blocked", "the destination is refused: country_not_allowed (by the service's allowed_countries)", {
    extensions: { reasons: ["country_not_allowed"] },
  });
}

/** The request's locale, else the country's language, else the service default, else `en` (see `chooseLocale`). */
export function localeFor(service: Service, requested: string | null | undefined, country: string | null): string {
  const overrides = service.settings.templates;
  return chooseLocale({
    requested,
    country,
    serviceDefault: service.settings.defaultLocale,
    available: (tag) => Object.hasOwn(overrides, tag) || isBuiltinLanguage(tag),
  });
}
