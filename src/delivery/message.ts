import { renderEmail } from "../core/messages/email.js";
import { renderMessage, secondsLeft } from "../core/messages/render.js";
import type { OutboundMessage } from "../core/sender.js";
import type { DeliveryJob } from "../core/store/deliveries.js";

/** The message of a claimed job: its text in the verification's language; for an email, subject and HTML too. */
export function render(job: DeliveryJob, code: string, now: number): OutboundMessage {
  const locale = job.locale ?? "en";
  const input = {
    locale,
    serviceName: job.serviceName,
    code,
    secondsLeft: secondsLeft(job.expiresAt, now),
    transaction: job.transaction,
    overrides: job.settings.templates,
    webOtpOrigin: job.settings.webOtpOrigin,
    androidAppHash: job.settings.androidAppHash,
  };
  const base = {
    deliveryId: job.id,
    verificationId: job.verificationId,
    to: job.to,
    channel: job.channel,
    code,
    locale,
    expiresAt: job.expiresAt,
    openUrl: job.settings.webOtpOrigin ? `https://${job.settings.webOtpOrigin}` : null,
  };
  if (job.channel !== "email") return { ...base, body: renderMessage({ ...input, channel: job.channel }) };
  const { subject, text, html } = renderEmail(input);
  return { ...base, body: text, email: { subject, html, from: job.settings.emailFrom } };
}
