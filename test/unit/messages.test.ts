import { describe, expect, it } from "vitest";
import { BUILTIN_LANGUAGES, isBuiltinLanguage } from "../../src/core/messages/builtin-templates.js";
import { canonicalLocale, chooseLocale } from "../../src/core/messages/locale.js";
import { renderMessage, secondsLeft, timeLeftText } from "../../src/core/messages/render.js";
import { countSegments } from "../../src/core/messages/segments.js";
import { templateProblems } from "../../src/core/messages/validate.js";
import { DEFAULT_SETTINGS, type ServiceSettings } from "../../src/core/service-settings.js";

const LONG_NAME = "Northwind Traders International Banking"; // 39 characters
const CODE = "0123456789";
const builtinOnly = (tag: string) => isBuiltinLanguage(tag);

describe("locale choice", () => {
  it("takes the request's locale first, then the country's language, then the service default, then en", () => {
    expect(chooseLocale({ requested: "de", country: "FR", serviceDefault: "it", available: builtinOnly })).toBe("de");
    expect(chooseLocale({ requested: null, country: "FR", serviceDefault: "it", available: builtinOnly })).toBe("fr");
    expect(chooseLocale({ requested: null, country: "US", serviceDefault: "it", available: builtinOnly })).toBe("it");
    expect(chooseLocale({ requested: null, country: null, serviceDefault: null, available: builtinOnly })).toBe("en");
  });

  it("falls back from a regional tag to its language, and skips languages without text", () => {
    expect(chooseLocale({ requested: "pt-BR", country: "US", available: builtinOnly })).toBe("pt");
    expect(chooseLocale({ requested: "pt-br", country: "US", available: (t) => t === "pt-BR" })).toBe("pt-BR");
    expect(chooseLocale({ requested: "sw", country: "JP", available: builtinOnly })).toBe("ja");
    expect(chooseLocale({ requested: "not a tag", country: "BR", available: builtinOnly })).toBe("pt");
  });

  it("canonicalizes the same tag the same way every time, also past its cache's bound", () => {
    for (let round = 0; round < 2; round++) {
      expect(canonicalLocale("pt-br")).toBe("pt-BR");
      expect(canonicalLocale("not a tag")).toBeNull();
    }
    // More distinct tags than the cache keeps: each still gets its own answer.
    for (let i = 0; i < 1_500; i++) expect(canonicalLocale(`EN-X-T${i}`)).toBe(`en-x-t${i}`);
    expect(canonicalLocale("EN-X-T1499")).toBe("en-x-t1499");
    expect(canonicalLocale("zh-hant-tw")).toBe("zh-Hant-TW");
  });
});

describe("built-in templates", () => {
  it("has the twelve languages", () => {
    expect(BUILTIN_LANGUAGES.sort()).toEqual(["ar", "de", "en", "es", "fr", "hi", "id", "it", "ja", "pt", "ru", "zh"]);
  });

  for (const locale of BUILTIN_LANGUAGES) {
    it(`${locale}: one SMS segment with a 10-digit code and a long service name (trimmed if needed)`, () => {
      for (const transaction of [null, { amount: "EUR 12.50", payee: "ACME" }]) {
        const text = renderMessage({
          channel: "sms",
          locale,
          serviceName: LONG_NAME,
          code: CODE,
          secondsLeft: 600,
          transaction,
        });
        expect(countSegments(text).segments, text).toBe(1);
        expect(text).toContain(CODE);
        expect(text).not.toMatch(/\{\w+\}/);
        expect(text).toContain(LONG_NAME.slice(0, 4)); // the name is shortened, never dropped
        if (transaction) expect(text).toContain("EUR 12.50");
        if (transaction) expect(text).toContain("ACME");
      }
    });
  }

  it("keeps the English text and spells minutes in each language's plural forms", () => {
    const en = (minutes: number) =>
      renderMessage({ channel: "sms", locale: "en", serviceName: "Acme", code: "123456", secondsLeft: minutes * 60 });
    expect(en(10)).toBe("Your Acme code is 123456. It expires in 10 minutes. Do not share it.");
    expect(en(1)).toBe("Your Acme code is 123456. It expires in 1 minute. Do not share it.");
    const ru = renderMessage({ channel: "sms", locale: "ru", serviceName: "Acme", code: "123456", secondsLeft: 300 });
    expect(ru).toBe("Код Acme: 123456. Срок действия: 5 минут. Никому не сообщайте.");
  });

  it("keeps Latin-script languages in GSM-7 (no accidental UCS-2)", () => {
    for (const locale of ["en", "es", "pt", "fr", "de", "it", "id"]) {
      const text = renderMessage({ channel: "sms", locale, serviceName: "Acme", code: "123456", secondsLeft: 600 });
      expect(countSegments(text).encoding, `${locale}: ${text}`).toBe("gsm7");
    }
  });

  it("shows amount and payee in the payment template", () => {
    const text = renderMessage({
      channel: "sms",
      locale: "en",
      serviceName: "Bank",
      code: "123456",
      secondsLeft: 300,
      transaction: { amount: "EUR 12.50", payee: "ACME" },
    });
    expect(text).toBe("Bank: code 123456 to pay EUR 12.50 to ACME. It expires in 5 minutes. Do not share it.");
  });
});

describe("the time left, said honestly", () => {
  /** Each built-in language's words for 3 seconds and for 90 seconds: never a minute for either. */
  const SECONDS: Record<string, [string, string]> = {
    en: ["3 seconds", "90 seconds"],
    es: ["3 segundos", "90 segundos"],
    pt: ["3 segundos", "90 segundos"],
    fr: ["3 secondes", "90 secondes"],
    de: ["3 Sekunden", "90 Sekunden"],
    it: ["3 secondi", "90 secondi"],
    id: ["3 detik", "90 detik"],
    hi: ["3 सेकंड", "90 सेकंड"],
    ar: ["3 ثوان", "90 ثانية"],
    ru: ["3 секунды", "90 секунд"],
    ja: ["3 秒", "90 秒"],
    zh: ["3秒钟", "90秒钟"],
  };

  it("covers every built-in language", () => {
    expect(Object.keys(SECONDS).sort()).toEqual([...BUILTIN_LANGUAGES].sort());
  });

  for (const locale of BUILTIN_LANGUAGES) {
    it(`${locale}: says seconds for a TTL under a minute and for 90 s, and never rounds up`, () => {
      const [three, ninety] = SECONDS[locale] as [string, string];
      for (const transaction of [null, { amount: "EUR 12.50", payee: "ACME" }]) {
        const text = (secondsLeft: number) =>
          renderMessage({ channel: "sms", locale, serviceName: "Acme", code: "123456", secondsLeft, transaction });
        // Not every payment text states the time left; those that do say it in seconds.
        if (text(600).includes(timeLeftText(locale, 600))) {
          expect(text(3)).toContain(three);
          expect(text(90)).toContain(ninety);
        }
      }
      expect(timeLeftText(locale, 3)).toBe(three);
      expect(timeLeftText(locale, 90)).toBe(ninety);
      // Past two minutes, whole minutes rounded down: 150 s is 2 minutes, not 3.
      expect(timeLeftText(locale, 150)).toBe(timeLeftText(locale, 120));
    });
  }

  it("words English exactly", () => {
    const en = (seconds: number) => timeLeftText("en", seconds);
    expect([en(1), en(3), en(59), en(60), en(90), en(119), en(120), en(179), en(600)]).toEqual([
      "1 second",
      "3 seconds",
      "59 seconds",
      "1 minute",
      "90 seconds",
      "119 seconds",
      "2 minutes",
      "2 minutes",
      "10 minutes",
    ]);
  });

  it("counts the time left to the nearest second, at least one", () => {
    expect(secondsLeft(600_000, 3)).toBe(600); // a send a few milliseconds after the start says the whole TTL
    expect(secondsLeft(3_000, 0)).toBe(3);
    expect(secondsLeft(1_000, 1_000)).toBe(1);
  });

  it("keeps Latin-script languages in GSM-7 when the time is in seconds", () => {
    for (const locale of ["en", "es", "pt", "fr", "de", "it", "id"]) {
      const text = renderMessage({ channel: "sms", locale, serviceName: "Acme", code: "123456", secondsLeft: 45 });
      expect(countSegments(text).encoding, `${locale}: ${text}`).toBe("gsm7");
    }
  });
});

describe("autofill lines", () => {
  const base = { channel: "sms" as const, locale: "en", serviceName: "Example", code: "123456", secondsLeft: 600 };

  it("ends the SMS with the WebOTP line `@host #code`", () => {
    const text = renderMessage({ ...base, webOtpOrigin: "example.com" });
    expect(text.split("\n")).toEqual([
      "Your Example code is 123456. It expires in 10 minutes. Do not share it.",
      "@example.com #123456",
    ]);
  });

  it("puts the app hash on its own line before the WebOTP line, or last without one", () => {
    expect(renderMessage({ ...base, webOtpOrigin: "example.com", androidAppHash: "FA+9qCX9VSu" }).split("\n")).toEqual([
      "Your Example code is 123456. It expires in 10 minutes. Do not share it.",
      "FA+9qCX9VSu",
      "@example.com #123456",
    ]);
    expect(
      renderMessage({ ...base, androidAppHash: "FA+9qCX9VSu" })
        .split("\n")
        .at(-1),
    ).toBe("FA+9qCX9VSu");
  });

  it("adds no autofill lines to RCS or WhatsApp texts", () => {
    expect(renderMessage({ ...base, channel: "rcs", webOtpOrigin: "example.com", androidAppHash: "FA+9qCX9VSu" })).not.toContain(
      "\n",
    );
  });

  it("trims the service name so that the lines still fit one segment", () => {
    const text = renderMessage({
      ...base,
      locale: "ja",
      serviceName: "ノースウィンド",
      code: CODE,
      webOtpOrigin: "ex.jp",
    });
    expect(countSegments(text).segments).toBe(1);
    expect(text.split("\n").at(-1)).toBe(`@ex.jp #${CODE}`);
  });
});

describe("template overrides", () => {
  const withTemplates = (templates: ServiceSettings["templates"], extra: Partial<ServiceSettings> = {}) => ({
    ...DEFAULT_SETTINGS,
    ...extra,
    templates,
  });

  it("accepts an override with the code placeholder that fits", () => {
    expect(templateProblems(withTemplates({ fr: { sms: "{code} est votre code {service}." } }), "Acme")).toEqual([]);
  });

  it("refuses an override without the code placeholder, naming locale and channel", () => {
    expect(templateProblems(withTemplates({ fr: { sms: "Votre code {service}." } }), "Acme")).toEqual([
      { pointer: "/templates/fr/sms", detail: "the sms template of fr must contain {code}" },
    ]);
  });

  it("refuses a payment override without amount and payee, and unknown placeholders", () => {
    const problems = templateProblems(
      withTemplates({ en: { sms_payment: "Code {code}", rcs: "Code {code} for {user}" } }),
      "Acme",
    );
    expect(problems.map((p) => p.detail)).toEqual([
      "the rcs template of en has unknown placeholders: {user}",
      "the sms_payment template of en must contain {amount} and {payee}",
    ]);
  });

  it("refuses a GSM-7 override over 160 septets with the longest values", () => {
    // 136 septets of text + a 10-character code = 146: fits; with a 15-character name in {service}, 161.
    const text = `${"a".repeat(136)}{code}`;
    expect(templateProblems(withTemplates({ en: { sms: text } }), "Acme")).toEqual([]);
    const over = templateProblems(withTemplates({ en: { sms: `${"a".repeat(136)}{code}{service}` } }), "Fifteen chars!!");
    expect(over).toHaveLength(1);
    expect(over[0]?.pointer).toBe("/templates/en/sms");
    expect(over[0]?.detail).toContain("161 GSM-7 septets");
  });

  it("refuses a UCS-2 override over 70 characters, and counts the WebOTP line", () => {
    const text = "您的{service}验证码是{code}。"; // 7 + 4 + 10 = 21 units with "Acme"
    expect(templateProblems(withTemplates({ zh: { sms: text } }), "Acme")).toEqual([]);
    const longer = `${"码".repeat(49)}{code}{service}`; // 49 + 10 + 4 = 63; with "\n@example.com #0123456789", 88
    expect(templateProblems(withTemplates({ zh: { sms: longer } }), "Acme")).toEqual([]);
    const problems = templateProblems(withTemplates({ zh: { sms: longer } }, { webOtpOrigin: "example.com" }), "Acme");
    expect(problems[0]?.detail).toContain("88 UCS-2 characters");
    expect(problems[0]?.detail).toContain("holds 70");
  });

  it("leaves RCS and WhatsApp overrides out of the SMS segment rule", () => {
    expect(templateProblems(withTemplates({ en: { rcs: `${"a".repeat(400)} {code}` } }), "Acme")).toEqual([]);
  });
});
