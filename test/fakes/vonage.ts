import { createHash, createHmac, type KeyObject, randomUUID, verify } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookRequest } from "../../src/core/sender.js";
import { callInvalidity, createVonageCalls, type VonageCall, type VonageCallOutcome } from "./vonage-calls.js";

/**
 * A local stand-in for the Vonage Messages API (`POST /v1/messages`): it authenticates requests the way
 * Vonage does (RS256 application JWT checked against the application's public key, or Basic
 * api_key:api_secret), validates the JSON body, answers 202 `{"message_uuid"}` or RFC 7807 problems, and
 * builds webhooks signed like Vonage's (HS256 JWT with `payload_hash`).
 */

export type FakeAuth =
  | { kind: "jwt"; header: Record<string, unknown>; claims: Record<string, unknown> }
  | { kind: "basic"; apiKey: string }
  | null;

export interface FakeVonageRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The verified credentials, or null when the request was refused as unauthenticated. */
  auth: FakeAuth;
}

export interface Problem {
  type: string;
  title: string;
  detail?: string;
  instance?: string;
  [extra: string]: unknown;
}

export interface FakeVonageOptions {
  /** Application credentials the fake accepts (the public half of the application key). */
  application?: { id: string; publicKey: KeyObject };
  /** Account credentials the fake accepts over Basic auth. */
  account?: { apiKey: string; apiSecret: string };
  /** Current time (epoch ms) for JWT expiry checks and webhook `iat`. */
  now: () => number;
}

export interface FakeVonage {
  /** `http://127.0.0.1:<port>`: the sender's `baseUrl`. */
  baseUrl: string;
  requests: FakeVonageRequest[];
  /** The JSON bodies of the accepted sends, in order. */
  sent: Array<Record<string, unknown>>;
  /** The `message_uuid` answered for each accepted send, in order. */
  answered: string[];
  /** Calls placed through the Voice API (`/v1/calls`), with their NCCO. */
  calls: VonageCall[];
  /** The event bodies of a call ending as `outcome`, in Vonage's order, to sign with `webhook`. */
  callEvents(uuid: string, outcome: VonageCallOutcome): Record<string, unknown>[];
  /** Answers the next request with this status and problem (after authentication, like Vonage). */
  failNext(status: number, problem: Problem, headers?: Record<string, string>): void;
  /** Builds a webhook request as Vonage would POST it, signed with `secret`. */
  webhook(body: unknown, sign: WebhookSigning): WebhookRequest;
  close(): Promise<void>;
}

export interface WebhookSigning {
  secret: string;
  /** Seconds since the epoch; defaults to `now()`. */
  iat?: number;
  exp?: number;
  /** Overrides the claim (a hash of some other body). */
  payloadHash?: string;
  /** Leaves the claim out. */
  omitPayloadHash?: boolean;
  alg?: string;
  /** The exact raw body to send, when it should differ from the signed one (tampering). */
  rawBody?: string;
}

const PROBLEM_BASE = "https://developer.vonage.com/api-errors";

export const problems = {
  unauthorized: {
    type: `${PROBLEM_BASE}#unauthorized`,
    title: "Unauthorized",
    detail: "You did not provide correct credentials.",
  },
  invalidParams: (detail: string): Problem => ({
    type: `${PROBLEM_BASE}/messages#1150`,
    title: "Invalid params",
    detail,
  }),
} satisfies Record<string, Problem | ((detail: string) => Problem)>;

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function decode(segment: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(segment, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function authenticate(authorization: string | undefined, options: FakeVonageOptions): FakeAuth {
  const bearer = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
  if (bearer && options.application) {
    const [h = "", p = "", s = ""] = bearer.split(".");
    const header = decode(h);
    const claims = decode(p);
    if (!header || !claims || header.alg !== "RS256") return null;
    if (!verify("sha256", Buffer.from(`${h}.${p}`), options.application.publicKey, Buffer.from(s, "base64url"))) return null;
    const nowS = options.now() / 1000;
    if (claims.application_id !== options.application.id) return null;
    if (typeof claims.iat !== "number" || typeof claims.jti !== "string" || typeof claims.exp !== "number") return null;
    if (claims.exp <= nowS || claims.iat > nowS + 60) return null;
    return { kind: "jwt", header, claims };
  }
  const basic = /^Basic (\S+)$/.exec(authorization ?? "")?.[1];
  if (basic && options.account) {
    const [key, ...rest] = Buffer.from(basic, "base64").toString("utf8").split(":");
    if (key === options.account.apiKey && rest.join(":") === options.account.apiSecret) return { kind: "basic", apiKey: key };
  }
  return null;
}

/** What `/v1/messages` refuses with 422 before accepting, as a short reason (undefined = valid). */
function invalidity(body: Record<string, unknown>): string | undefined {
  if (typeof body.to !== "string" || !/^[1-9]\d{6,14}$/.test(body.to)) return "The `to` parameter is invalid.";
  if (typeof body.from !== "string" || body.from === "") return "The `from` parameter is missing.";
  if (!["sms", "whatsapp", "rcs", "mms", "messenger", "viber_service"].includes(String(body.channel))) {
    return "The `channel` parameter is invalid.";
  }
  if (body.message_type === "text") {
    if (typeof body.text !== "string" || body.text === "") return "The `text` parameter is missing.";
  } else if (body.message_type === "custom") {
    if (body.channel !== "whatsapp" && body.channel !== "rcs") return "`custom` is not available on this channel.";
    if (body.custom === null || typeof body.custom !== "object") return "The `custom` parameter is missing.";
  } else {
    return "The `message_type` parameter is invalid.";
  }
  if (body.ttl !== undefined && (!Number.isInteger(body.ttl) || (body.ttl as number) <= 0))
    return "The `ttl` parameter is invalid.";
  return undefined;
}

export async function startFakeVonage(options: FakeVonageOptions): Promise<FakeVonage> {
  const requests: FakeVonageRequest[] = [];
  const sent: Array<Record<string, unknown>> = [];
  const answered: string[] = [];
  const queued: Array<{ status: number; problem: Problem; headers: Record<string, string> }> = [];
  const voice = createVonageCalls();

  const problem = (res: ServerResponse, status: number, body: Problem, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/problem+json", ...headers });
    res.end(JSON.stringify({ instance: randomUUID(), ...body }));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers = flatten(req.headers);
      const body = Buffer.concat(chunks).toString("utf8");
      const auth = authenticate(headers.authorization, options);
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers, body, auth });
      if (req.url !== "/v1/messages" && req.url !== "/v1/calls") {
        return problem(res, 404, { type: `${PROBLEM_BASE}#not-found`, title: "Not Found" });
      }
      if (req.method !== "POST") {
        return problem(res, 405, { type: `${PROBLEM_BASE}#method-not-allowed`, title: "Method Not Allowed" });
      }
      if (!auth) return problem(res, 401, problems.unauthorized);
      const failure = queued.shift();
      if (failure) return problem(res, failure.status, failure.problem, failure.headers);
      if (!headers["content-type"]?.startsWith("application/json")) {
        return problem(res, 415, { type: `${PROBLEM_BASE}#unsupported-media-type`, title: "Unsupported Media Type" });
      }
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return problem(res, 400, { type: `${PROBLEM_BASE}#invalid-json`, title: "Invalid JSON" });
      }
      if (req.url === "/v1/calls") {
        // The Voice API takes application JWTs only.
        if (auth.kind !== "jwt") return problem(res, 401, problems.unauthorized);
        const why =
          json !== null && typeof json === "object" ? callInvalidity(json as Record<string, unknown>) : "Not an object.";
        if (why) return problem(res, 400, { type: `${PROBLEM_BASE}#validation`, title: "Bad Request", detail: why });
        res.writeHead(201, { "content-type": "application/json" });
        return res.end(JSON.stringify(voice.place(json as Record<string, unknown>)));
      }
      const reason = json !== null && typeof json === "object" ? invalidity(json as Record<string, unknown>) : "Not an object.";
      if (reason) return problem(res, 422, problems.invalidParams(reason));
      sent.push(json as Record<string, unknown>);
      const messageUuid = randomUUID();
      answered.push(messageUuid);
      res.writeHead(202, { "content-type": "application/json" });
      res.end(JSON.stringify({ message_uuid: messageUuid }));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    sent,
    answered,
    calls: voice.calls,
    callEvents: voice.events,
    failNext(status, body, headers = {}) {
      queued.push({ status, problem: body, headers });
    },
    webhook(body, signing) {
      const signed = typeof body === "string" ? body : JSON.stringify(body);
      const claims: Record<string, unknown> = {
        iat: signing.iat ?? Math.floor(options.now() / 1000),
        jti: randomUUID(),
        iss: "Vonage",
        api_key: options.account?.apiKey ?? "a1b2c3d4",
        application_id: options.application?.id ?? "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
      };
      if (!signing.omitPayloadHash) {
        claims.payload_hash = signing.payloadHash ?? createHash("sha256").update(signed).digest("hex");
      }
      if (signing.exp !== undefined) claims.exp = signing.exp;
      const input = `${b64url({ alg: signing.alg ?? "HS256", typ: "JWT" })}.${b64url(claims)}`;
      const signature = createHmac("sha256", signing.secret).update(input).digest("base64url");
      return {
        method: "POST",
        url: "https://verifyd.example.com/webhooks/vonage/status",
        headers: { authorization: `Bearer ${input}.${signature}`, "content-type": "application/json" },
        rawBody: signing.rawBody ?? signed,
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Messages API v1 status callback as Vonage posts it. */
export function statusEvent(
  messageUuid: string,
  status: "submitted" | "delivered" | "read" | "rejected" | "undeliverable",
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    message_uuid: messageUuid,
    to: "14155550142",
    from: "Acme",
    timestamp: "2026-01-15T12:00:05.000Z",
    status,
    channel: "sms",
    client_ref: "dlv_0192aaaabbbbccccddddeeeeffff0001",
    usage: { currency: "EUR", price: "0.0333" },
    ...extra,
  };
}

/** The `error` object of a rejected/undeliverable status callback for a Messages API error code. */
export function statusError(code: number, detail: string): Record<string, unknown> {
  return { type: `${PROBLEM_BASE}/messages#${code}`, title: code, detail, instance: randomUUID() };
}
