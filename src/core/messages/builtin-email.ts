import type { BuiltinLanguage } from "./builtin-templates.js";

/**
 * Verification emails, by language. The subject starts with the code, so notification previews
 * show it and mail clients that offer codes from mail can find it; the body opens with the code on a
 * line of its own. No links: a code email that asks for nothing to be clicked cannot be imitated by
 * a phishing one that does. The HTML part is rendered from the same text (`render.ts`).
 */
export interface BuiltinEmail {
  subject: string;
  code: string;
  payment: string;
}

export const BUILTIN_EMAIL = {
  en: {
    subject: "{code} is your {service} verification code",
    code: "{code}\n\nEnter this code in {service} to confirm it is you. It expires in {minutes}.\n\nIf you did not ask for this code, ignore this email. Never share this code with anyone.",
    payment:
      "{code}\n\nEnter this code to pay {amount} to {payee} with {service}. It expires in {minutes}.\n\nIf you are not making this payment, do not enter the code. Never share this code with anyone.",
  },
  es: {
    subject: "{code} es tu código de verificación de {service}",
    code: "{code}\n\nIntroduce este código en {service} para confirmar que eres tú. Vence en {minutes}.\n\nSi no lo pediste, ignora este correo. No compartas este código con nadie.",
    payment:
      "{code}\n\nIntroduce este código para pagar {amount} a {payee} con {service}. Vence en {minutes}.\n\nSi no estás haciendo este pago, no introduzcas el código. No compartas este código con nadie.",
  },
  pt: {
    subject: "{code} é seu código de verificação {service}",
    code: "{code}\n\nDigite este código no {service} para confirmar que é você. Expira em {minutes}.\n\nSe você não pediu este código, ignore este e-mail. Nunca compartilhe este código.",
    payment:
      "{code}\n\nDigite este código para pagar {amount} a {payee} com {service}. Expira em {minutes}.\n\nSe você não está fazendo este pagamento, não digite o código. Nunca compartilhe este código.",
  },
  fr: {
    subject: "{code} est votre code de vérification {service}",
    code: "{code}\n\nSaisissez ce code dans {service} pour confirmer qu'il s'agit bien de vous. Il expire dans {minutes}.\n\nSi vous n'avez pas demandé ce code, ignorez cet e-mail. Ne partagez jamais ce code.",
    payment:
      "{code}\n\nSaisissez ce code pour payer {amount} à {payee} avec {service}. Il expire dans {minutes}.\n\nSi vous n'effectuez pas ce paiement, ne saisissez pas le code. Ne partagez jamais ce code.",
  },
  de: {
    subject: "{code} ist Ihr {service}-Bestätigungscode",
    code: "{code}\n\nGeben Sie diesen Code bei {service} ein, um zu bestätigen, dass Sie es sind. Er ist {minutes} gültig.\n\nWenn Sie diesen Code nicht angefordert haben, ignorieren Sie diese E-Mail. Geben Sie den Code niemals weiter.",
    payment:
      "{code}\n\nGeben Sie diesen Code ein, um {amount} an {payee} über {service} zu zahlen. Er ist {minutes} gültig.\n\nWenn Sie diese Zahlung nicht veranlasst haben, geben Sie den Code nicht ein. Geben Sie den Code niemals weiter.",
  },
  it: {
    subject: "{code} è il tuo codice di verifica {service}",
    code: "{code}\n\nInserisci questo codice in {service} per confermare che sei tu. Scade tra {minutes}.\n\nSe non hai richiesto questo codice, ignora questa email. Non condividere mai questo codice.",
    payment:
      "{code}\n\nInserisci questo codice per pagare {amount} a {payee} con {service}. Scade tra {minutes}.\n\nSe non stai effettuando questo pagamento, non inserire il codice. Non condividere mai questo codice.",
  },
  id: {
    subject: "{code} adalah kode verifikasi {service} Anda",
    code: "{code}\n\nMasukkan kode ini di {service} untuk memastikan bahwa ini memang Anda. Berlaku {minutes}.\n\nJika Anda tidak meminta kode ini, abaikan email ini. Jangan pernah membagikan kode ini.",
    payment:
      "{code}\n\nMasukkan kode ini untuk membayar {amount} ke {payee} melalui {service}. Berlaku {minutes}.\n\nJika Anda tidak melakukan pembayaran ini, jangan masukkan kode. Jangan pernah membagikan kode ini.",
  },
  hi: {
    subject: "{code} आपका {service} सत्यापन कोड है",
    code: "{code}\n\nयह पुष्टि करने के लिए कि यह आप ही हैं, {service} में यह कोड दर्ज करें। यह {minutes} तक मान्य है।\n\nयदि आपने यह कोड नहीं माँगा था, तो इस ईमेल को अनदेखा करें। यह कोड किसी के साथ साझा न करें।",
    payment:
      "{code}\n\n{service} के माध्यम से {payee} को {amount} का भुगतान करने के लिए यह कोड दर्ज करें। यह {minutes} तक मान्य है।\n\nयदि आप यह भुगतान नहीं कर रहे हैं, तो कोड दर्ज न करें। यह कोड किसी के साथ साझा न करें।",
  },
  ar: {
    subject: "{code} هو رمز التحقق الخاص بك من {service}",
    code: "{code}\n\nأدخل هذا الرمز في {service} لتأكيد هويتك. الصلاحية: {minutes}.\n\nإذا لم تطلب هذا الرمز، فتجاهل هذه الرسالة. لا تشارك هذا الرمز مع أحد.",
    payment:
      "{code}\n\nأدخل هذا الرمز لدفع {amount} إلى {payee} عبر {service}. الصلاحية: {minutes}.\n\nإذا لم تكن تقوم بهذا الدفع، فلا تدخل الرمز. لا تشارك هذا الرمز مع أحد.",
  },
  ru: {
    subject: "{code} — ваш код подтверждения {service}",
    code: "{code}\n\nВведите этот код в {service}, чтобы подтвердить, что это вы. Срок действия: {minutes}.\n\nЕсли вы не запрашивали код, проигнорируйте это письмо. Никому не сообщайте этот код.",
    payment:
      "{code}\n\nВведите этот код, чтобы оплатить {amount} получателю {payee} через {service}. Срок действия: {minutes}.\n\nЕсли вы не совершаете этот платёж, не вводите код. Никому не сообщайте этот код.",
  },
  ja: {
    subject: "{code} は{service}の認証コードです",
    code: "{code}\n\nご本人確認のため、{service}でこのコードを入力してください。有効期限は{minutes}です。\n\nこのコードに心当たりがない場合は、このメールを無視してください。このコードは誰にも教えないでください。",
    payment:
      "{code}\n\n{service}で{payee}への{amount}のお支払いを行うには、このコードを入力してください。有効期限は{minutes}です。\n\nお支払いに心当たりがない場合は、コードを入力しないでください。このコードは誰にも教えないでください。",
  },
  zh: {
    subject: "{code} 是您的{service}验证码",
    code: "{code}\n\n请在{service}中输入此验证码，以确认是您本人操作。验证码{minutes}内有效。\n\n如果您没有请求此验证码，请忽略此邮件。请勿将验证码告诉任何人。",
    payment:
      "{code}\n\n请输入此验证码，通过{service}向{payee}支付{amount}。验证码{minutes}内有效。\n\n如果这不是您本人发起的付款，请勿输入验证码。请勿将验证码告诉任何人。",
  },
} as const satisfies Record<BuiltinLanguage, BuiltinEmail>;
