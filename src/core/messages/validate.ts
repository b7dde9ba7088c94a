import { ALPHABETS, type ServiceSettings, TEMPLATE_SLOTS } from "../service-settings.js";
import { LONGEST_AMOUNT, MAX_PAYEE_LENGTH } from "../transaction.js";
import { autofillLines, fill, PLACEHOLDERS, timeLeftText } from "./render.js";
import { countSegments } from "./segments.js";

/** One problem of a service's settings, as a JSON Pointer into the request and a sentence. */
export interface SettingsProblem {
  pointer: string;
  detail: string;
}

const LONGEST_CODE = "0".repeat(10);
/** `{minutes}` says 1…119 seconds, or 2…10 minutes (the longest TTL), as `timeLeftText` words them. */
const SECONDS_LEFT = [...Array.from({ length: 119 }, (_, i) => i + 1), ...Array.from({ length: 9 }, (_, i) => (i + 2) * 60)];

/**
 * Checks template overrides against the rest of the settings and the service name. Each override
 * must hold `{code}` (payment ones also `{amount}` and `{payee}`) and no unknown placeholder, and
 * an SMS override must fit one segment when filled with the longest values: a 10-character code,
 * the longest `{minutes}`, the longest amount and a 20-character payee, with the service's name and
 * its app-hash and WebOTP lines.
 */
export function templateProblems(settings: ServiceSettings, serviceName: string): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  for (const [locale, slots] of Object.entries(settings.templates)) {
    for (const slot of TEMPLATE_SLOTS) {
      const text = slots[slot];
      if (text === undefined) continue;
      const pointer = `/templates/${locale}/${slot}`;
      const where = `the ${slot} template of ${locale}`;
      const unknown = [...text.matchAll(/\{([^{}]*)\}/g)]
        .map((m) => m[1] ?? "")
        .filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
      if (unknown.length > 0) {
        problems.push({ pointer, detail: `${where} has unknown placeholders: ${unknown.map((n) => `{${n}}`).join(", ")}` });
        continue;
      }
      const required = slot.endsWith("_payment") ? ["{code}", "{amount}", "{payee}"] : ["{code}"];
      const missing = required.filter((p) => !text.includes(p));
      if (missing.length > 0) {
        problems.push({ pointer, detail: `${where} must contain ${missing.join(" and ")}` });
        continue;
      }
      if (slot === "email_subject" && /[\p{Cc}]/u.test(text)) {
        problems.push({ pointer, detail: `${where} must be one line, without control characters` });
        continue;
      }
      if (!slot.startsWith("sms")) continue;
      const worst = longestSms(text, locale, serviceName, settings);
      const count = countSegments(worst);
      if (count.segments > 1) {
        const unit = count.encoding === "gsm7" ? "GSM-7 septets" : "UCS-2 characters";
        problems.push({
          pointer,
          detail: `${where} takes ${count.units} ${unit} with the longest values (a 10-character code, the longest amount and payee, the autofill lines); one SMS segment holds ${count.singleSegmentLimit}`,
        });
      }
    }
  }
  return problems;
}

/** The SMS with the longest values, the one whose segments are counted. */
function longestSms(template: string, locale: string, serviceName: string, settings: ServiceSettings): string {
  const minutes = SECONDS_LEFT.map((s) => timeLeftText(locale, s)).reduce((a, b) =>
    countSegments(b).units > countSegments(a).units ? b : a,
  );
  const body = fill(template, {
    service: serviceName,
    code: LONGEST_CODE,
    minutes,
    amount: LONGEST_AMOUNT,
    payee: "X".repeat(MAX_PAYEE_LENGTH),
  });
  return [body, ...autofillLines(LONGEST_CODE, settings.webOtpOrigin, settings.androidAppHash)].join("\n");
}

/** Fixed codes of test numbers must be 4–10 characters of the service's alphabet. */
export function testNumberProblems(settings: ServiceSettings): SettingsProblem[] {
  const alphabet = ALPHABETS[settings.alphabet];
  const problems: SettingsProblem[] = [];
  for (const [number, code] of Object.entries(settings.testNumbers)) {
    if (code.length < 4 || code.length > 10 || [...code].some((c) => !alphabet.includes(c))) {
      problems.push({
        pointer: `/test_numbers/${number}`,
        detail: `the code of ${number} must be 4–10 characters of the ${settings.alphabet} alphabet`,
      });
    }
  }
  return problems;
}
