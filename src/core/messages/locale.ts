/**
 * Which language a message is written in: the request's `locale`, else the language of the
 * destination's country, else the service's default, else English. A tag with a region falls back
 * to its language (`pt-BR` → `pt`) when nothing is written for the region itself.
 */

/** The main language of a country's users, for the languages verifyd has built-in texts for. */
const COUNTRY_LANGUAGE: Record<string, string> = {
  ...spread("es", "ES MX AR CO CL PE VE EC GT CU BO DO HN PY SV NI CR PA UY GQ"),
  ...spread("pt", "BR PT AO MZ CV GW ST TL"),
  ...spread("fr", "FR BE LU MC SN CI CM ML BF NE GN BJ TG CD CG GA MG HT TD CF DJ KM"),
  ...spread("de", "DE AT CH LI"),
  ...spread("it", "IT SM VA"),
  ...spread("hi", "IN"),
  ...spread("id", "ID"),
  ...spread("ar", "SA AE EG IQ JO KW LB LY MA OM QA SD SY TN YE BH DZ PS MR"),
  ...spread("ru", "RU BY KZ KG"),
  ...spread("ja", "JP"),
  ...spread("zh", "CN TW HK MO"),
};

function spread(language: string, countries: string): Record<string, string> {
  return Object.fromEntries(countries.split(" ").map((country) => [country, language]));
}

export function countryLanguage(country: string | null): string | null {
  return (country && COUNTRY_LANGUAGE[country]) ?? null;
}

/**
 * Tags already canonicalized: every start asks for its country's language, and `Intl` is slow to
 * answer. Bounded, since requests bring tags of their own: past the bound a tag is worked out anew.
 */
const canonical = new Map<string, string | null>();
const CANONICAL_CACHE_SIZE = 1_000;

/** The canonical form of a BCP-47 tag (`pt-br` → `pt-BR`), or null when it is not one. */
export function canonicalLocale(tag: string): string | null {
  const known = canonical.get(tag);
  if (known !== undefined) return known;
  let result: string | null;
  try {
    result = Intl.getCanonicalLocales(tag)[0] ?? null;
  } catch {
    result = null;
  }
  if (canonical.size < CANONICAL_CACHE_SIZE) canonical.set(tag, result);
  return result;
}

/** `pt-BR` → `pt`. */
export function languageOf(tag: string): string {
  return (tag.split("-")[0] ?? tag).toLowerCase();
}

export interface LocaleChoice {
  requested?: string | null;
  country: string | null;
  serviceDefault?: string | null;
  /** Whether some text exists for a tag (a service override or a built-in language). */
  available(tag: string): boolean;
}

/** @example chooseLocale({ requested: "pt-BR", country: "US", available }) // "pt" (no pt-BR text) */
export function chooseLocale({ requested, country, serviceDefault, available }: LocaleChoice): string {
  for (const candidate of [requested, countryLanguage(country), serviceDefault]) {
    const tag = candidate ? canonicalLocale(candidate) : null;
    if (!tag) continue;
    if (available(tag)) return tag;
    const language = languageOf(tag);
    if (available(language)) return language;
  }
  return "en";
}
