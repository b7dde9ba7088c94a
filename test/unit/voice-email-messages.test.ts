import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { speechFor } from "../../src/channels/voice-speech.js";
import { spokenCode } from "../../src/core/messages/builtin-spoken.js";
import { BUILTIN_LANGUAGES } from "../../src/core/messages/builtin-templates.js";
import { renderEmail } from "../../src/core/messages/email.js";
import { renderMessage } from "../../src/core/messages/render.js";
import { templateProblems } from "../../src/core/messages/validate.js";
import { DEFAULT_SETTINGS } from "../../src/core/service-settings.js";

const input = { serviceName: "Acme", code: "482913", secondsLeft: 600 };
const payment = { ...input, transaction: { amount: "EUR 12.50", payee: "ACME" } };

describe("spoken and email texts", () => {
  it("spells a code one character at a time, in groups of three, with each script's pauses", () => {
    expect(spokenCode("482913", "en")).toBe("4, 8, 2. 9, 1, 3");
    expect(spokenCode("48291", "fr")).toBe("4, 8, 2. 9, 1");
    expect(spokenCode("A7K", "en")).toBe("A, 7, K");
    expect(spokenCode("482913", "ja")).toBe("4、8、2。9、1、3");
    expect(spokenCode("482913", "zh")).toBe("4，8，2。9，1，3");
  });

  it.each(BUILTIN_LANGUAGES)("%s: the call says the code spelled out, never whole, and warns not to share it", (locale) => {
    for (const values of [input, payment]) {
      const text = renderMessage({ channel: "voice", locale, ...values });
      expect(text).not.toContain("482913");
      expect(text.replace(/\D/g, "")).toContain("482913");
      expect(text).toContain("Acme");
    }
    expect(renderMessage({ channel: "voice", locale, ...payment })).toContain("EUR 12.50");
  });

  it.each(BUILTIN_LANGUAGES)(
    "%s: the email's subject starts with the code; its text opens with it; its HTML has no links",
    (locale) => {
      for (const values of [input, payment]) {
        const email = renderEmail({ locale, ...values });
        expect(email.subject.startsWith("482913 ")).toBe(true);
        expect(email.subject).toContain("Acme");
        expect(email.text.split("\n")[0]).toBe("482913");
        expect(email.text).toContain("Acme");
        expect(email.html).toContain(">482913</p>");
        expect(email.html).not.toMatch(/<a\s|<img|<script|https?:/i);
      }
      expect(renderEmail({ locale, ...payment }).text).toContain("EUR 12.50");
    },
  );

  it("writes Arabic emails right to left and escapes what a service name holds", () => {
    expect(renderEmail({ locale: "ar", ...input }).html).toContain('lang="ar" dir="rtl"');
    const html = renderEmail({ locale: "en", ...input, serviceName: "<b>Acme</b> & Co" }).html;
    expect(html).toContain("&lt;b&gt;Acme&lt;/b&gt; &amp; Co");
    expect(html).not.toContain("<b>");
  });

  it("takes a service's voice, email and subject overrides, and keeps the subject one line", () => {
    const overrides = {
      en: { voice: "Acme here. Code {code}.", email: "{code}\n\nHi from {service}.", email_subject: "{code} for {service}" },
    };
    expect(renderMessage({ channel: "voice", locale: "en", ...input, overrides })).toBe("Acme here. Code 4, 8, 2. 9, 1, 3.");
    const email = renderEmail({ locale: "en-GB", ...input, overrides, serviceName: "Acme\r\nBcc: x@example.com" });
    expect(email.subject).toBe("482913 for Acme Bcc: x@example.com");
    expect(email.text).toBe("482913\n\nHi from Acme\r\nBcc: x@example.com.");
  });

  it("checks voice and email overrides: the code is required, and a subject is one line", () => {
    const problems = templateProblems(
      { ...DEFAULT_SETTINGS, templates: { en: { voice: "Hello", email_subject: "{code}\nBcc: x", email: "{code}" } } },
      "Acme",
    );
    expect(problems.map((p) => p.pointer)).toEqual(["/templates/en/voice", "/templates/en/email_subject"]);
  });
});

describe("the voice of each language, per provider", () => {
  /** The table of docs/providers.md (Voice calls): locale → Twilio language and voice, Vonage language. */
  const documented = new Map(
    [
      ...readFileSync(new URL("../../docs/providers.md", import.meta.url), "utf8").matchAll(
        /^ {2}\| `([a-z]{2})` \| `([^`]+)`, `([^`]+)` \| `([^`]+)` \|$/gm,
      ),
    ].map((m) => [m[1], { twilio: { language: m[2], voice: m[3] }, vonage: m[4] }]),
  );

  it.each(BUILTIN_LANGUAGES)("%s is spoken by its own voice on Twilio and Vonage, as documented", (locale) => {
    const row = documented.get(locale);
    expect(row, `docs/providers.md has no voice row for ${locale}`).toBeDefined();
    expect(speechFor(locale, "twilio")).toMatchObject(row?.twilio ?? {});
    expect(speechFor(locale, "vonage").language).toBe(row?.vonage);
    if (locale !== "en") expect(speechFor(locale, "twilio").voice).not.toBe(speechFor("en", "twilio").voice);
  });

  it("a region picks its own voice, an override wins, and a locale without one is spoken in English", () => {
    expect(speechFor("pt-PT", "twilio")).toMatchObject({ language: "pt-PT", voice: "Polly.Ines-Neural" });
    expect(speechFor("de-AT", "vonage").language).toBe("de-DE");
    expect(speechFor("en", "twilio", { en: { language: "en-GB", voice: "Polly.Amy" } })).toMatchObject({ voice: "Polly.Amy" });
    expect(speechFor("en-AU", "vonage", { en: { language: "en-GB", style: 2 } })).toEqual({
      language: "en-GB",
      voice: "",
      style: 2,
    });
    expect(speechFor("nl", "twilio")).toEqual(speechFor("en", "twilio"));
  });
});
