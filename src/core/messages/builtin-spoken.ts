import type { BuiltinLanguage, BuiltinTemplates } from "./builtin-templates.js";

/**
 * What a verification call says, by language: one sentence, which the provider adapter speaks
 * several times with pauses between. `{code}` is filled in digit by digit (`spokenCode`), so a
 * text-to-speech engine reads "4, 8, 2. 9, 1, 3" rather than "four hundred eighty-two thousand…".
 * Calls have no segment limit, so these use each language's own words ("código", not "clave"), and
 * they warn against sharing the code: callers who ask for it are the usual way codes are stolen.
 */
export const BUILTIN_SPOKEN = {
  en: {
    code: "Your {service} verification code is: {code}. Do not share it.",
    payment: "Your {service} code to pay {amount} to {payee} is: {code}. Do not share it.",
  },
  es: {
    code: "Tu código de verificación de {service} es: {code}. No lo compartas.",
    payment: "Tu código de {service} para pagar {amount} a {payee} es: {code}. No lo compartas.",
  },
  pt: {
    code: "Seu código de verificação {service} é: {code}. Não o compartilhe.",
    payment: "Seu código {service} para pagar {amount} a {payee} é: {code}. Não o compartilhe.",
  },
  fr: {
    code: "Votre code de vérification {service} est : {code}. Ne le partagez pas.",
    payment: "Votre code {service} pour payer {amount} à {payee} est : {code}. Ne le partagez pas.",
  },
  de: {
    code: "Ihr {service}-Bestätigungscode lautet: {code}. Geben Sie ihn nicht weiter.",
    payment: "Ihr {service}-Code für die Zahlung von {amount} an {payee} lautet: {code}. Geben Sie ihn nicht weiter.",
  },
  it: {
    code: "Il tuo codice di verifica {service} è: {code}. Non condividerlo.",
    payment: "Il tuo codice {service} per pagare {amount} a {payee} è: {code}. Non condividerlo.",
  },
  id: {
    code: "Kode verifikasi {service} Anda adalah: {code}. Jangan bagikan kode ini.",
    payment: "Kode {service} Anda untuk membayar {amount} ke {payee} adalah: {code}. Jangan bagikan kode ini.",
  },
  hi: {
    code: "आपका {service} सत्यापन कोड है: {code}। इसे किसी के साथ साझा न करें।",
    payment: "{payee} को {amount} के भुगतान के लिए आपका {service} कोड है: {code}। इसे किसी के साथ साझा न करें।",
  },
  ar: {
    code: "رمز التحقق الخاص بك من {service} هو: {code}. لا تشاركه مع أحد.",
    payment: "رمز {service} لدفع {amount} إلى {payee} هو: {code}. لا تشاركه مع أحد.",
  },
  ru: {
    code: "Ваш код подтверждения {service}: {code}. Никому не сообщайте его.",
    payment: "Ваш код {service} для оплаты {amount} получателю {payee}: {code}. Никому не сообщайте его.",
  },
  ja: {
    code: "{service}の認証コードは、{code}、です。他人に教えないでください。",
    payment: "{payee}への{amount}のお支払いの{service}認証コードは、{code}、です。他人に教えないでください。",
  },
  zh: {
    code: "您的{service}验证码是：{code}。请勿告诉他人。",
    payment: "您向{payee}支付{amount}的{service}验证码是：{code}。请勿告诉他人。",
  },
} as const satisfies Record<BuiltinLanguage, BuiltinTemplates>;

/** Between characters of a code, and between its groups of three, as each script writes a spoken pause. */
const SEPARATORS: Partial<Record<string, { char: string; group: string }>> = {
  ja: { char: "、", group: "。" },
  zh: { char: "，", group: "。" },
  ar: { char: "، ", group: ". " },
};

/**
 * A code as it is to be read out, one character at a time, in groups of three:
 * @example spokenCode("482913", "en") // "4, 8, 2. 9, 1, 3"
 */
export function spokenCode(code: string, language: string): string {
  const { char, group } = SEPARATORS[language] ?? { char: ", ", group: ". " };
  const groups: string[] = [];
  for (let i = 0; i < code.length; i += 3) groups.push([...code.slice(i, i + 3)].join(char));
  return groups.join(group);
}
