/**
 * Which text-to-speech voice says a call's sentence, by the verification's locale. The built-in
 * languages each get a voice of their own (Twilio: Amazon Polly or Google voices it offers; Vonage:
 * its language codes, style 0); a regional tag picks its region's voice where one exists (`pt-PT`,
 * `es-MX`, `fr-CA`, `zh-TW`). A provider's `voices` setting overrides any of them. A locale with no
 * entry (a service's own `nl` texts, say) falls back to English: add a voice for it.
 */

export interface VoiceChoice {
  /** The provider's language code (Twilio `language`, Vonage `language`). */
  language: string;
  /** Twilio's `voice` name. */
  voice: string;
  /** Vonage's numbered voice style. */
  style: number;
}

type Table = Record<string, Omit<VoiceChoice, "style"> & { style?: number }>;

/** Twilio: both `language` and `voice` are sent, since a voice with a language it does not speak fails the `<Say>`. */
const TWILIO: Table = {
  en: { language: "en-US", voice: "Polly.Joanna-Neural" },
  "en-GB": { language: "en-GB", voice: "Polly.Amy-Neural" },
  "en-IN": { language: "en-IN", voice: "Polly.Kajal-Neural" },
  es: { language: "es-US", voice: "Polly.Lupe-Neural" },
  "es-MX": { language: "es-MX", voice: "Polly.Mia-Neural" },
  "es-ES": { language: "es-ES", voice: "Polly.Lucia-Neural" },
  pt: { language: "pt-BR", voice: "Polly.Camila-Neural" },
  "pt-PT": { language: "pt-PT", voice: "Polly.Ines-Neural" },
  fr: { language: "fr-FR", voice: "Polly.Lea-Neural" },
  "fr-CA": { language: "fr-CA", voice: "Polly.Gabrielle-Neural" },
  de: { language: "de-DE", voice: "Polly.Vicki-Neural" },
  it: { language: "it-IT", voice: "Polly.Bianca-Neural" },
  // Polly has no Indonesian voice; Google's is the one Twilio offers.
  id: { language: "id-ID", voice: "Google.id-ID-Wavenet-A" },
  hi: { language: "hi-IN", voice: "Polly.Kajal-Neural" },
  // Polly's Arabic voices are tied to their language code: Hala speaks ar-AE.
  ar: { language: "ar-AE", voice: "Polly.Hala-Neural" },
  ru: { language: "ru-RU", voice: "Google.ru-RU-Wavenet-A" },
  ja: { language: "ja-JP", voice: "Polly.Takumi-Neural" },
  zh: { language: "cmn-CN", voice: "Polly.Zhiyu-Neural" },
  "zh-TW": { language: "cmn-TW", voice: "Google.cmn-TW-Wavenet-A" },
};

/** Vonage: the Voice API's language codes (Arabic is `ar`, Mandarin `cmn-CN`), style 0. */
const VONAGE: Table = {
  en: { language: "en-US", voice: "" },
  "en-GB": { language: "en-GB", voice: "" },
  "en-IN": { language: "en-IN", voice: "" },
  es: { language: "es-US", voice: "" },
  "es-MX": { language: "es-MX", voice: "" },
  "es-ES": { language: "es-ES", voice: "" },
  pt: { language: "pt-BR", voice: "" },
  "pt-PT": { language: "pt-PT", voice: "" },
  fr: { language: "fr-FR", voice: "" },
  "fr-CA": { language: "fr-CA", voice: "" },
  de: { language: "de-DE", voice: "" },
  it: { language: "it-IT", voice: "" },
  id: { language: "id-ID", voice: "" },
  hi: { language: "hi-IN", voice: "" },
  ar: { language: "ar", voice: "" },
  ru: { language: "ru-RU", voice: "" },
  ja: { language: "ja-JP", voice: "" },
  zh: { language: "cmn-CN", voice: "" },
  "zh-TW": { language: "cmn-TW", voice: "" },
};

const TABLES = { twilio: TWILIO, vonage: VONAGE };

/** The voice for a locale: an override for the tag, then for its language; the built-in tag, language, then English. */
export function speechFor(
  locale: string,
  provider: keyof typeof TABLES,
  overrides: Record<string, { language: string; voice?: string; style?: number }> = {},
): VoiceChoice {
  const language = (locale.split("-")[0] ?? locale).toLowerCase();
  const table = TABLES[provider];
  const chosen = overrides[locale] ?? overrides[language] ?? table[locale] ?? table[language] ?? (table.en as Table[string]);
  return { language: chosen.language, voice: chosen.voice ?? "", style: chosen.style ?? 0 };
}
