import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { z } from "zod";
import type { OutboundMessage, ProviderError, Sender, SendResult } from "../core/sender.js";
import { emailAddress, redactEmail } from "./email-parts.js";

/**
 * Email over SMTP (any relay or mailbox provider), through nodemailer: STARTTLS required unless
 * the port speaks TLS from the first byte, certificates checked, connections pooled. SMTP has no
 * delivery receipts: a message the relay accepted (250 to DATA) stays `accepted`; a refusal is
 * classified by its reply code (4xx try again, 5xx not this address) or, without one, by
 * nodemailer's error code.
 */

export const smtpConfigSchema = z
  .strictObject({
    host: z.string().min(1),
    /** 587 (submission, STARTTLS) by default; 465 with `secure`. */
    port: z.number().int().min(1).max(65535).optional(),
    /** TLS from the first byte (port 465); else STARTTLS. */
    secure: z.boolean().default(false),
    /** Refuse to send without STARTTLS. Only a relay on the same host may do without. @default true */
    requireTls: z.boolean().default(true),
    user: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** The default `From` (`Acme <no-reply@auth.acme.com>`); a service's `email_from` replaces it. */
    from: emailAddress,
    /** The name this host gives in EHLO; some receivers frown on an IP literal. */
    ehloName: z.string().min(1).optional(),
    /** Extra certificate authorities (PEM) to trust, for a relay with a private CA. */
    ca: z.string().min(1).optional(),
    /** For connecting, the greeting and each reply. @default 10000 */
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .refine((c) => (c.user === undefined) === (c.password === undefined), {
    message: "user and password go together",
    path: ["password"],
  });

export type SmtpConfig = z.infer<typeof smtpConfigSchema>;

/** nodemailer's error codes that say our configuration is wrong, not the network or the recipient. */
const CONFIG_ERRORS = new Set(["EAUTH", "ENOAUTH", "EOAUTH2", "ETLS", "EREQUIRETLS", "ECONFIG", "EPROXY"]);

type SmtpError = Error & { code?: string; responseCode?: number; command?: string };

/** A refusal as a send result: the reply code first (RFC 5321 §4.2.1), then nodemailer's code. */
export function classifySmtpError(err: SmtpError, redact: (text: string) => string): SendResult {
  const reply = err.responseCode;
  const code = reply ? `smtp_${reply}` : (err.code ?? "smtp_error").toLowerCase();
  const error: ProviderError = { code, message: redact(err.message).slice(0, 200) };
  // A certificate the client cannot trust fails the TLS handshake, whichever code nodemailer gives it.
  const certificate = /certificate|self[- ]signed|unable to verify/i.test(err.message);
  if (reply && reply >= 400 && reply < 500) return { kind: "retry", error };
  if (certificate || CONFIG_ERRORS.has(err.code ?? "")) return { kind: "misconfigured", error };
  if (reply && reply >= 500) {
    // Refused before the envelope (greeting, STARTTLS, AUTH) or at MAIL FROM: about us. At RCPT or DATA: this address or message.
    const aboutThisMail = err.command === "RCPT TO" || err.command === "DATA" || err.command === "API";
    return { kind: aboutThisMail || !err.command ? "rejected" : "misconfigured", error };
  }
  // An envelope refused before anything was sent (`command: API`) is an address nodemailer cannot use.
  if (err.code === "EENVELOPE") return { kind: "rejected", error };
  return { kind: "retry", error };
}

export interface SmtpDeps {
  name?: string;
}

export function createSmtpSender(config: SmtpConfig, deps: SmtpDeps = {}): Sender & { close(): void } {
  const options: SMTPTransport.Options = {
    host: config.host,
    port: config.port ?? (config.secure ? 465 : 587),
    secure: config.secure,
    requireTLS: !config.secure && config.requireTls,
    ignoreTLS: false,
    auth: config.user ? { user: config.user, pass: config.password } : undefined,
    name: config.ehloName,
    tls: { rejectUnauthorized: true, minVersion: "TLSv1.2", ...(config.ca ? { ca: config.ca } : {}) },
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    dnsTimeout: config.timeoutMs,
    // Message bodies hold codes: nodemailer logs nothing.
    logger: false,
    debug: false,
  };
  // A pool keeps connections (and their TLS sessions) open between codes.
  const transport = nodemailer.createTransport({ ...options, pool: true, maxConnections: 5 } as SMTPTransport.Options);

  return {
    provider: deps.name ?? "smtp",
    channels: ["email"],

    async send(message: OutboundMessage, signal: AbortSignal): Promise<SendResult> {
      if (message.channel !== "email" || !message.email) {
        return { kind: "misconfigured", error: { code: "unsupported_channel", message: `SMTP cannot send ${message.channel}` } };
      }
      const redact = (text: string) => redactEmail(text, message.to, message.code);
      const mail = transport.sendMail({
        from: message.email.from ?? config.from,
        to: message.to,
        subject: message.email.subject,
        text: message.body,
        html: message.email.html,
        // A code is not a reply to anything; automatic responders should stay quiet (RFC 3834).
        headers: { "Auto-Submitted": "auto-generated" },
        // The content is ours, but never let a path or URL in it be read as an attachment.
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      // nodemailer takes no abort signal; on shutdown the send is left to finish and reported as unfinished.
      const aborted = new Promise<SendResult>((resolve) => {
        const abort = () => resolve({ kind: "retry", error: { code: "aborted", message: "shutting down" } });
        if (signal.aborted) abort();
        else signal.addEventListener("abort", abort, { once: true });
      });
      const sent = mail.then(
        (info): SendResult => {
          if (info.rejected.length > 0 || info.accepted.length === 0) {
            return {
              kind: "rejected",
              error: { code: "smtp_rejected", message: redact(String(info.response ?? "")).slice(0, 200) },
            };
          }
          return { kind: "accepted", providerMessageId: info.messageId ?? null };
        },
        (err: SmtpError) => classifySmtpError(err, redact),
      );
      return Promise.race([sent, aborted]);
    },

    close() {
      transport.close();
    },
  };
}
