/**
 * The built-in message texts, by language. Placeholders: `{service}` (the service's name, trimmed
 * when the SMS would not fit one segment), `{code}`, `{minutes}` (the time left, spelled out in
 * the language: "10 minutes", "10 Minuten", "10分钟"), and for payments `{amount}` and `{payee}`.
 *
 * Latin-script texts are worded to stay within GSM-7 (160 characters a segment): a single
 * character outside it, such as "ó" or "ã", would switch the whole SMS to UCS-2 (70). Spanish says
 * "clave" rather than "código" and Portuguese "use … para confirmar" for that reason. The other
 * scripts are UCS-2 and kept short. SMS, RCS and the WhatsApp body share these sentences.
 */

export interface BuiltinTemplates {
  /** A login or sign-up code. */
  code: string;
  /** A code bound to a payment (PSD2 dynamic linking): amount and payee are shown. */
  payment: string;
}

export const BUILTIN_TEMPLATES = {
  en: {
    code: "Your {service} code is {code}. It expires in {minutes}. Do not share it.",
    payment: "{service}: code {code} to pay {amount} to {payee}. It expires in {minutes}. Do not share it.",
  },
  es: {
    code: "{code} es tu clave de {service}. Vence en {minutes}. No la compartas.",
    payment: "{service}: clave {code} para pagar {amount} a {payee}. Vence en {minutes}. No la compartas.",
  },
  pt: {
    code: "{service}: use {code} para confirmar. Expira em {minutes}. Nunca compartilhe.",
    payment: "{service}: use {code} para pagar {amount} a {payee}. Expira em {minutes}. Nunca compartilhe.",
  },
  fr: {
    code: "Votre code {service} est {code}. Il expire dans {minutes}. Ne le partagez pas.",
    payment: "{service} : code {code} pour payer {amount} à {payee}. Il expire dans {minutes}. Ne le partagez pas.",
  },
  de: {
    code: "Ihr {service}-Code lautet {code}. Er ist {minutes} gültig. Geben Sie ihn nicht weiter.",
    payment: "{service}: Code {code} für die Zahlung von {amount} an {payee}. {minutes} gültig. Nicht weitergeben.",
  },
  it: {
    code: "Il tuo codice {service} è {code}. Scade tra {minutes}. Non condividerlo.",
    payment: "{service}: codice {code} per pagare {amount} a {payee}. Scade tra {minutes}. Non condividerlo.",
  },
  id: {
    code: "Kode {service} Anda adalah {code}. Berlaku {minutes}. Jangan bagikan kode ini kepada siapa pun.",
    payment: "{service}: kode {code} untuk membayar {amount} ke {payee}. Berlaku {minutes}. Jangan bagikan kode ini.",
  },
  hi: {
    code: "आपका {service} कोड {code} है। यह {minutes} तक मान्य है। इसे साझा न करें।",
    payment: "{service}: {payee} को {amount} भुगतान हेतु कोड {code}। साझा न करें।",
  },
  ar: {
    code: "رمز {service}: {code}. الصلاحية: {minutes}. لا تشاركه مع أحد.",
    payment: "{service}: الرمز {code} لدفع {amount} إلى {payee}. لا تشاركه.",
  },
  ru: {
    code: "Код {service}: {code}. Срок действия: {minutes}. Никому не сообщайте.",
    payment: "{service}: код {code} для оплаты {amount} ({payee}). Никому не сообщайте.",
  },
  ja: {
    code: "{service}の認証コードは{code}です。有効期限は{minutes}です。他人に教えないでください。",
    payment: "{service}: {payee}への{amount}の支払いコードは{code}です。他人に教えないでください。",
  },
  zh: {
    code: "您的{service}验证码是{code}，{minutes}内有效。请勿告诉他人。",
    payment: "{service}：向{payee}支付{amount}的验证码为{code}。请勿告诉他人。",
  },
} as const satisfies Record<string, BuiltinTemplates>;

export type BuiltinLanguage = keyof typeof BUILTIN_TEMPLATES;

export const BUILTIN_LANGUAGES = Object.keys(BUILTIN_TEMPLATES) as BuiltinLanguage[];

export function isBuiltinLanguage(language: string): language is BuiltinLanguage {
  return Object.hasOwn(BUILTIN_TEMPLATES, language);
}
