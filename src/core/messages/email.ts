import type { MessageInput } from "./render.js";
import { fill, renderMessage, templateFor, timeLeftText } from "./render.js";

/** A verification email: its subject and the same text as plain text and as HTML. */
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);

/** Right-to-left scripts get `dir="rtl"`, so the paragraphs read from the right edge. */
const RTL = new Set(["ar", "he", "fa", "ur"]);

/**
 * The HTML part: each paragraph of the text, escaped (a service name or payee holds no markup), the
 * paragraph that is only the code set large and spaced so it reads at a glance. No links, images or
 * tracking: nothing in a code email needs fetching.
 */
function toHtml(text: string, code: string, locale: string): string {
  const paragraphs = text.split(/\n{2,}/).map((paragraph) => {
    if (paragraph.trim() === code) {
      return `<p style="font-size:28px;font-weight:bold;letter-spacing:6px;font-family:monospace">${escapeHtml(code)}</p>`;
    }
    return `<p>${escapeHtml(paragraph).replace(/\n/g, "<br>")}</p>`;
  });
  const dir = RTL.has(locale.split("-")[0] ?? "") ? ' dir="rtl"' : "";
  return `<!doctype html><html lang="${escapeHtml(locale)}"${dir}><head><meta charset="utf-8"></head><body style="font-family:sans-serif;font-size:16px">${paragraphs.join("")}</body></html>`;
}

/**
 * Renders an email from the `email_subject` and `email` (or `email_payment`) slots. The subject is
 * one line whatever an override or a service name holds: a line break there would start a header.
 */
export function renderEmail(input: Omit<MessageInput, "channel">): EmailContent {
  const text = renderMessage({ ...input, channel: "email" });
  const subject = fill(templateFor(input.locale, "email_subject", input.overrides), {
    service: input.serviceName,
    code: input.code,
    minutes: timeLeftText(input.locale, input.secondsLeft),
    amount: input.transaction?.amount ?? "",
    payee: input.transaction?.payee ?? "",
  })
    .replace(/\p{Cc}+/gu, " ")
    .trim();
  return { subject, text, html: toHtml(text, input.code, input.locale) };
}
