import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookRequest } from "../../src/core/sender.js";

/**
 * A local stand-in for the WhatsApp Cloud API (`graph.facebook.com`): checks the Bearer token, the
 * `/{version}/{phone-number-id}/messages` path and the authentication-template JSON the way Graph does,
 * and answers Graph's success and error JSON with Graph's HTTP statuses. It also builds webhooks signed
 * with `X-Hub-Signature-256` as Meta sends them.
 */

export interface FakeMetaOptions {
  accessToken: string;
  phoneNumberId: string;
  apiVersion: string;
  appSecret: string;
  /** The one approved authentication template, in one language. */
  templateName: string;
  templateLanguage: string;
  /** The business number shown in webhook metadata (digits). */
  displayPhoneNumber?: string;
}

export interface FakeMetaRequest {
  method: string;
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

export interface FakeReply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (to provoke client timeouts). */
  delayMs?: number;
}

export interface FakeStatus {
  id: string;
  status: "sent" | "delivered" | "read" | "failed" | "deleted";
  errorCode?: number;
  recipient?: string;
}

export interface FakeInbound {
  id: string;
  /** wa_id digits. */
  from: string;
  type?: "text" | "button" | "image";
  text?: string;
}

export interface FakeMeta {
  /** `http://127.0.0.1:<port>`: what `baseUrl` is in production. */
  baseUrl: string;
  requests: FakeMetaRequest[];
  /** Messages Graph accepted: the wamid answered and the recipient as sent. */
  accepted: Array<{ id: string; to: string }>;
  /** Every later send to `to` (with or without "+") fails with this Graph error code. */
  failFor(to: string, code: number, options?: { status?: number; subcode?: number; message?: string }): void;
  /** The next request gets this raw answer instead (a 5xx from a proxy, a slow answer). */
  replyOnce(reply: FakeReply): void;
  /** A webhook POST as Meta sends it, signed with `secret` (the app secret unless told otherwise). */
  signedWebhook(rawBody: string, secret?: string): WebhookRequest;
  /** The GET handshake Meta makes when the callback URL is saved. */
  handshake(verifyToken: string, challenge: string, mode?: string): WebhookRequest;
  statusBody(statuses: FakeStatus[]): string;
  inboundBody(messages: FakeInbound[]): string;
  close(): Promise<void>;
}

export const WEBHOOK_URL = "https://verifyd.example/webhooks/meta-whatsapp/status";

/** Graph's HTTP status per error code: mostly 400, auth 401, permissions 403, missing template 404. */
function httpStatusFor(code: number): number {
  if (code === 0 || code === 190) return 401;
  if (code === 3 || code === 10 || (code >= 200 && code <= 299)) return 403;
  if (code === 132001) return 404;
  if (code === 1 || code === 2 || code === 131000) return 500;
  return 400;
}

const TITLES: Record<number, string> = {
  190: "Invalid OAuth access token - Cannot parse access token",
  100: "Invalid parameter",
  130429: "Rate limit hit",
  131026: "Message undeliverable",
  131047: "Re-engagement message",
  131056: "(Business Account, Consumer Account) pair rate limit hit",
  132000: "Number of parameters does not match the expected number of params",
  132001: "Template name does not exist in the translation",
};

function graphError(code: number, message?: string, subcode?: number) {
  const title = TITLES[code] ?? "Error";
  return {
    error: {
      message: message ?? (code === 190 ? title : `(#${code}) ${title}`),
      type: code === 100 && subcode === 33 ? "GraphMethodException" : "OAuthException",
      code,
      ...(subcode !== undefined ? { error_subcode: subcode } : {}),
      error_data: { messaging_product: "whatsapp", details: title },
      fbtrace_id: `A${randomBytes(9).toString("base64url")}`,
    },
  };
}

/** Meta serialises webhooks with non-ASCII escaped as \uXXXX; signatures are over exactly these bytes. */
function metaJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

interface Parameter {
  type?: unknown;
  text?: unknown;
}
interface Component {
  type?: unknown;
  sub_type?: unknown;
  index?: unknown;
  parameters?: Parameter[];
}
interface SendBody {
  messaging_product?: unknown;
  recipient_type?: unknown;
  to?: unknown;
  type?: unknown;
  template?: { name?: unknown; language?: { code?: unknown }; components?: Component[] };
}

const oneTextParameter = (c: Component | undefined) =>
  Array.isArray(c?.parameters) &&
  c.parameters.length === 1 &&
  c.parameters[0]?.type === "text" &&
  typeof c.parameters[0].text === "string";

export async function startFakeMeta(options: FakeMetaOptions): Promise<FakeMeta> {
  const requests: FakeMetaRequest[] = [];
  const accepted: Array<{ id: string; to: string }> = [];
  const failures = new Map<string, { code: number; status?: number; subcode?: number; message?: string }>();
  const queue: FakeReply[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const display = options.displayPhoneNumber ?? "15550783881";

  /** Graph's verdict on one request: [HTTP status, JSON body]. */
  function answer(req: FakeMetaRequest): [number, unknown] {
    if (req.headers.authorization !== `Bearer ${options.accessToken}`) return [401, graphError(190)];
    const expectedPath = `/${options.apiVersion}/${options.phoneNumberId}/messages`;
    if (req.method !== "POST" || req.path !== expectedPath) {
      const id = req.path.split("/")[2] ?? "";
      const message = `Unsupported ${req.method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`;
      return [400, graphError(100, message, 33)];
    }
    if (!req.headers["content-type"]?.startsWith("application/json")) {
      return [400, graphError(100, "(#100) The parameter messaging_product is required.")];
    }
    let body: SendBody;
    try {
      body = JSON.parse(req.body) as SendBody;
    } catch {
      return [400, graphError(100, "(#100) The parameter messaging_product is required.")];
    }
    if (body.messaging_product !== "whatsapp") return [400, graphError(100, "(#100) Param messaging_product must be whatsapp")];
    if (body.recipient_type !== undefined && body.recipient_type !== "individual") return [400, graphError(100)];
    if (typeof body.to !== "string" || !/^\+?\d{7,15}$/.test(body.to))
      return [400, graphError(100, "(#100) Invalid parameter to")];
    if (body.type !== "template") return [400, graphError(100, "(#100) Param type must be template")];
    const template = body.template;
    if (template?.name !== options.templateName || template.language?.code !== options.templateLanguage) {
      return [404, graphError(132001, undefined, 2494073)];
    }
    const components = Array.isArray(template.components) ? template.components : [];
    const bodyPart = components.find((c) => c.type === "body");
    const button = components.find((c) => c.type === "button");
    const shapeOk =
      components.length === 2 &&
      oneTextParameter(bodyPart) &&
      oneTextParameter(button) &&
      button?.sub_type === "url" &&
      button.index === "0";
    if (!shapeOk) return [400, graphError(132000)];
    const code = bodyPart?.parameters?.[0]?.text as string;
    if (code.length > 15 || button?.parameters?.[0]?.text !== code) return [400, graphError(132012)];

    const digits = body.to.replace(/^\+/, "");
    const failure = failures.get(digits);
    if (failure)
      return [failure.status ?? httpStatusFor(failure.code), graphError(failure.code, failure.message, failure.subcode)];
    const id = `wamid.${Buffer.from(`${digits}:${randomBytes(12).toString("hex")}`).toString("base64")}`;
    accepted.push({ id, to: body.to });
    return [
      200,
      {
        messaging_product: "whatsapp",
        contacts: [{ input: body.to, wa_id: digits }],
        messages: [{ id, message_status: "accepted" }],
      },
    ];
  }

  const reply = (res: ServerResponse, r: FakeReply) => {
    if (res.destroyed) return; // the client gave up (timeout test)
    res.writeHead(r.status, { "content-type": "text/plain", ...r.headers });
    res.end(r.body ?? "");
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request: FakeMetaRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: flatten(req.headers),
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(request);
      const queued = queue.shift();
      if (!queued) {
        const [status, json] = answer(request);
        return reply(res, { status, body: JSON.stringify(json), headers: { "content-type": "application/json; charset=UTF-8" } });
      }
      if (!queued.delayMs) return reply(res, queued);
      const timer = setTimeout(() => {
        timers.delete(timer);
        reply(res, queued);
      }, queued.delayMs);
      timers.add(timer);
      res.on("close", () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const envelope = (value: Record<string, unknown>) =>
    metaJson({
      object: "whatsapp_business_account",
      entry: [
        {
          id: "102290129340398",
          changes: [
            {
              field: "messages",
              value: {
                messaging_product: "whatsapp",
                metadata: { display_phone_number: display, phone_number_id: options.phoneNumberId },
                ...value,
              },
            },
          ],
        },
      ],
    });

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    accepted,
    failFor(to, code, more = {}) {
      failures.set(to.replace(/^\+/, ""), { code, ...more });
    },
    replyOnce(r) {
      queue.push(r);
    },
    signedWebhook(rawBody, secret = options.appSecret) {
      const signature = createHmac("sha256", secret).update(rawBody, "utf8").digest("hex");
      return {
        method: "POST",
        url: WEBHOOK_URL,
        headers: { "content-type": "application/json", "x-hub-signature-256": `sha256=${signature}` },
        rawBody,
      };
    },
    handshake(verifyToken, challenge, mode = "subscribe") {
      const query = new URLSearchParams({ "hub.mode": mode, "hub.challenge": challenge, "hub.verify_token": verifyToken });
      return { method: "GET", url: `${WEBHOOK_URL}?${query}`, headers: {}, rawBody: "" };
    },
    statusBody(statuses) {
      return envelope({
        statuses: statuses.map((s) => ({
          id: s.id,
          status: s.status,
          timestamp: "1750263773",
          recipient_id: s.recipient ?? "14155550100",
          ...(s.status === "failed" && s.errorCode !== undefined
            ? {
                errors: [
                  {
                    code: s.errorCode,
                    title: TITLES[s.errorCode] ?? "Error",
                    message: TITLES[s.errorCode] ?? "Error",
                    error_data: { details: "Message failed to send." },
                  },
                ],
              }
            : {}),
          ...(s.status === "sent" ? { pricing: { billable: true, pricing_model: "PMP", category: "authentication" } } : {}),
        })),
      });
    },
    inboundBody(messages) {
      return envelope({
        contacts: messages.map((m) => ({ profile: { name: "Zoë Ångström" }, wa_id: m.from })),
        messages: messages.map((m) => {
          const type = m.type ?? "text";
          const content =
            type === "text"
              ? { text: { body: m.text ?? "" } }
              : type === "button"
                ? { button: { payload: "DID_NOT_REQUEST_CODE", text: m.text ?? "I didn't request a code" } }
                : { image: { id: "1479537139650973", mime_type: "image/jpeg" } };
          return { from: m.from, id: m.id, timestamp: "1750263800", type, ...content };
        }),
      });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
