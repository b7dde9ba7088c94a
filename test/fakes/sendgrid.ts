import { generateKeyPairSync, randomBytes, randomUUID, sign } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookRequest } from "../../src/core/sender.js";

/**
 * A local stand-in for SendGrid v3 Mail Send: Bearer API key, the JSON body validated as SendGrid
 * does (one personalization, a valid `to`, `from`, a subject, `text/plain` first), 202 with
 * `X-Message-Id`, and its error JSON `{"errors":[{message, field, help}]}`. It signs Event Webhook
 * batches with a P-256 key of its own, as the Signed Event Webhook does.
 */

export interface SentMail {
  messageId: string;
  body: Record<string, unknown>;
}

export interface FakeSendgrid {
  baseUrl: string;
  apiKey: string;
  /** The signed webhook's verification key, base64 DER, as SendGrid's settings page shows it. */
  publicKey: string;
  requests: { method: string; path: string; headers: Record<string, string>; body: string }[];
  sent: SentMail[];
  failNext(status: number, errors: { message: string; field?: string | null }[], headers?: Record<string, string>): void;
  /**
   * A signed Event Webhook POST carrying these events (each about a message this fake accepted),
   * body as SendGrid sends it: a JSON array ending in CRLF.
   */
  events(
    events: { messageId: string; event: string; extra?: Record<string, unknown> }[],
    options?: { timestamp?: number; tamper?: boolean },
  ): WebhookRequest;
  close(): Promise<void>;
}

const ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Why Mail Send refuses a body with 400, as its error entries (empty: valid). */
function invalidity(body: Record<string, unknown>): { message: string; field: string }[] {
  const errors: { message: string; field: string }[] = [];
  const p = Array.isArray(body.personalizations) ? (body.personalizations[0] as Record<string, unknown>) : undefined;
  const to = Array.isArray(p?.to) ? (p?.to[0] as Record<string, unknown> | undefined) : undefined;
  if (!p) errors.push({ message: "The personalizations field is required.", field: "personalizations" });
  else if (typeof to?.email !== "string" || !ADDRESS.test(to.email) || to.email.startsWith("invalid@")) {
    errors.push({ message: `Does not contain a valid address: ${String(to?.email)}`, field: "personalizations.0.to.0.email" });
  }
  const from = body.from as Record<string, unknown> | undefined;
  if (typeof from?.email !== "string" || !ADDRESS.test(from.email)) {
    errors.push({ message: "The from object must be provided for every email send.", field: "from" });
  }
  if (typeof body.subject !== "string" || body.subject === "")
    errors.push({ message: "The subject is required.", field: "subject" });
  const content = body.content as { type?: string; value?: string }[] | undefined;
  if (!Array.isArray(content) || content.length === 0) errors.push({ message: "Content is required.", field: "content" });
  else if (content[0]?.type !== "text/plain") {
    errors.push({ message: "The text/plain content type must be first.", field: "content.0.type" });
  }
  return errors;
}

export async function startFakeSendgrid(options: { now: () => number }): Promise<FakeSendgrid> {
  const apiKey = `SG.${randomBytes(11).toString("base64url")}.${randomBytes(32).toString("base64url")}`;
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const requests: FakeSendgrid["requests"] = [];
  const sent: SentMail[] = [];
  const queued: { status: number; errors: { message: string; field?: string | null }[]; headers: Record<string, string> }[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers, body });
      const reply = (status: number, json?: unknown, extra: Record<string, string> = {}) => {
        res.writeHead(status, { ...(json ? { "content-type": "application/json" } : {}), ...extra });
        res.end(json ? JSON.stringify(json) : "");
      };
      const errorsJson = (errors: { message: string; field?: string | null }[]) => ({
        errors: errors.map((e) => ({ message: e.message, field: e.field ?? null, help: null })),
      });
      if (req.method !== "POST" || req.url !== "/v3/mail/send") return reply(404, errorsJson([{ message: "not found" }]));
      if (headers.authorization !== `Bearer ${apiKey}`) {
        return reply(401, errorsJson([{ message: "The provided authorization grant is invalid, expired, or revoked" }]));
      }
      const failure = queued.shift();
      if (failure) return reply(failure.status, errorsJson(failure.errors), failure.headers);
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return reply(400, errorsJson([{ message: "Bad Request", field: null }]));
      }
      const problems = invalidity(json);
      if (problems.length > 0) return reply(400, errorsJson(problems));
      const messageId = randomBytes(16).toString("base64url").slice(0, 22);
      sent.push({ messageId, body: json });
      reply(202, undefined, { "x-message-id": messageId });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey,
    publicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
    requests,
    sent,
    failNext(status, errors, headers = {}) {
      queued.push({ status, errors, headers });
    },
    events(list, opts = {}) {
      const timestamp = String(opts.timestamp ?? Math.floor(options.now() / 1000));
      const body = `${JSON.stringify(
        list.map(({ messageId, event, extra }) => {
          const mail = sent.find((m) => m.messageId === messageId);
          const personalization = (mail?.body.personalizations as Record<string, unknown>[] | undefined)?.[0];
          const to = (personalization?.to as { email: string }[] | undefined)?.[0]?.email ?? "unknown@example.com";
          return {
            email: to,
            timestamp: Number(timestamp) - 2,
            "smtp-id": `<${messageId}@geopod-ismtpd-3>`,
            event,
            sg_event_id: randomUUID().replaceAll("-", ""),
            sg_message_id: `${messageId}.filterdrecv-5645d9c87f-6r2ch-1-63E3B1E5-44.0`,
            ...((personalization?.custom_args as Record<string, string> | undefined) ?? {}),
            ...extra,
          };
        }),
      )}\r\n`;
      const signature = sign("sha256", Buffer.from(timestamp + body), privateKey).toString("base64");
      return {
        method: "POST",
        url: "https://verify.example.com/webhooks/sendgrid/status",
        headers: {
          "content-type": "application/json",
          "user-agent": "SendGrid Event API",
          "x-twilio-email-event-webhook-signature": signature,
          "x-twilio-email-event-webhook-timestamp": timestamp,
        },
        rawBody: opts.tamper ? body.replace(`"event":"`, `"event":"x`) : body,
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
