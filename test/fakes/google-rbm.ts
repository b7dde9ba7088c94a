import { createHmac, type KeyObject, randomUUID, verify } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "../../src/core/ports.js";
import type { WebhookRequest } from "../../src/core/sender.js";

/**
 * A local stand-in for Google's OAuth2 token endpoint and the RBM API (agentMessages.create,
 * getCapabilities), checking requests the way Google does: JWT bearer assertions verified against
 * the service account's public key, bearer tokens that expire on the test's clock, Google's
 * `{"error":{code,message,status}}` answers.
 */

export const RBM_SCOPE = "https://www.googleapis.com/auth/rcsbusinessmessaging";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PHONE_PATH = /^\/v1\/phones\/([^/]+)\/(agentMessages|capabilities)$/;

export interface FakeRbmRequest {
  method: string;
  /** Path with the query string, as received. */
  path: string;
  pathname: string;
  query: Record<string, string>;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
  /** For token requests: the decoded assertion. */
  jwt?: { header: Record<string, unknown>; claims: Record<string, unknown> };
}

export type FakeRbmTarget = "token" | "send" | "capability";

export interface FakeRbmReply {
  status: number;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FakeRbm {
  /** `http://127.0.0.1:<port>`: use as `baseUrl`. */
  baseUrl: string;
  /** Use as the service account's `tokenUri`. */
  tokenUri: string;
  requests: FakeRbmRequest[];
  tokenRequests(): FakeRbmRequest[];
  sendRequests(): FakeRbmRequest[];
  capabilityRequests(): FakeRbmRequest[];
  /** Numbers reachable over RBM; everything else answers 404 NOT_FOUND. */
  capable: Set<string>;
  /** Every access token issued, oldest first. */
  issued: string[];
  /** Makes every token issued so far unacceptable (as after a key rotation), so the API answers 401. */
  revokeTokens(): void;
  /** Queues one answer for the next request to `target` (after the bearer token was checked). */
  failNext(target: FakeRbmTarget, reply: FakeRbmReply): void;
  /** Token answers wait until the returned function is called. */
  holdTokens(): () => void;
  close(): Promise<void>;
}

export interface FakeRbmOptions {
  clock: Clock;
  /** The service account's public key: assertions must verify against it. */
  publicKey: KeyObject;
  clientEmail: string;
  agentId: string;
  capable?: Iterable<string>;
  /** `expires_in` of issued tokens. @default 3599 */
  tokenLifetimeS?: number;
}

/** Google's error model. */
export function googleErrorBody(code: number, status: string, message: string) {
  return { error: { code, message, status } };
}

const UNAUTHENTICATED = googleErrorBody(
  401,
  "UNAUTHENTICATED",
  "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
);
const NOT_FOUND = googleErrorBody(404, "NOT_FOUND", "Requested entity was not found.");

export async function startFakeRbm(options: FakeRbmOptions): Promise<FakeRbm> {
  const { clock } = options;
  const requests: FakeRbmRequest[] = [];
  const scripted: Record<FakeRbmTarget, FakeRbmReply[]> = { token: [], send: [], capability: [] };
  const tokens = new Map<string, { expiresAt: number; revoked: boolean }>();
  const issued: string[] = [];
  const capable = new Set(options.capable ?? []);
  let gate: Promise<void> | null = null;
  let baseUrl = "";

  const reply = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers });
    res.end(JSON.stringify(body));
  };
  const oauthError = (res: ServerResponse, status: number, error: string, description: string) =>
    reply(res, status, { error, error_description: description });
  const invalid = (res: ServerResponse, message: string) => reply(res, 400, googleErrorBody(400, "INVALID_ARGUMENT", message));

  const token = async (req: FakeRbmRequest, res: ServerResponse) => {
    if (gate) await gate;
    const next = scripted.token.shift();
    if (next) return reply(res, next.status, next.body ?? {}, next.headers);
    if (req.method !== "POST") return reply(res, 405, {});
    if (!req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")) {
      return oauthError(res, 400, "invalid_request", "Bad Request");
    }
    const form = new URLSearchParams(req.body);
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return oauthError(res, 400, "unsupported_grant_type", `Invalid grant_type: ${form.get("grant_type")}`);
    }
    const parts = (form.get("assertion") ?? "").split(".");
    if (parts.length !== 3) return oauthError(res, 400, "invalid_grant", "Invalid JWT: not a JWS");
    const [h, c, s] = parts as [string, string, string];
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
      claims = JSON.parse(Buffer.from(c, "base64url").toString("utf8"));
    } catch {
      return oauthError(res, 400, "invalid_grant", "Invalid JWT: malformed");
    }
    req.jwt = { header, claims };
    if (header.alg !== "RS256") return oauthError(res, 400, "invalid_grant", "Invalid JWT: unsupported alg");
    if (!verify("sha256", Buffer.from(`${h}.${c}`), options.publicKey, Buffer.from(s, "base64url"))) {
      return oauthError(res, 400, "invalid_grant", "Invalid JWT Signature.");
    }
    if (claims.iss !== options.clientEmail) return oauthError(res, 400, "invalid_grant", "Invalid grant: account not found");
    if (claims.aud !== `${baseUrl}/token`) return oauthError(res, 400, "invalid_grant", "Invalid JWT: audience");
    if (claims.scope !== RBM_SCOPE) return oauthError(res, 400, "invalid_scope", "Invalid OAuth scope.");
    const now = Math.floor(clock.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== "number" || typeof exp !== "number" || Math.abs(iat - now) > 300 || exp <= iat || exp - iat > 3600) {
      return oauthError(
        res,
        400,
        "invalid_grant",
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
      );
    }
    const lifetimeS = options.tokenLifetimeS ?? 3599;
    const accessToken = `ya29.fake-${issued.length + 1}-${randomUUID()}`;
    issued.push(accessToken);
    tokens.set(accessToken, { expiresAt: clock.now() + lifetimeS * 1000, revoked: false });
    reply(res, 200, { access_token: accessToken, expires_in: lifetimeS, token_type: "Bearer" });
  };

  const api = (req: FakeRbmRequest, res: ServerResponse) => {
    const match = PHONE_PATH.exec(req.pathname);
    if (!match) return reply(res, 404, NOT_FOUND);
    const phone = decodeURIComponent(match[1] ?? "");
    const target: FakeRbmTarget = match[2] === "agentMessages" ? "send" : "capability";

    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const known = bearer ? tokens.get(bearer) : undefined;
    if (!known || known.revoked || clock.now() >= known.expiresAt) {
      return reply(res, 401, UNAUTHENTICATED, { "www-authenticate": 'Bearer realm="https://accounts.google.com/"' });
    }
    const next = scripted[target].shift();
    if (next) return reply(res, next.status, next.body ?? {}, next.headers);

    if (!/^\+[1-9]\d{1,14}$/.test(phone)) return invalid(res, "Invalid phone number.");
    if (req.query.agentId !== options.agentId) {
      return reply(res, 403, googleErrorBody(403, "PERMISSION_DENIED", "The caller does not have permission"));
    }
    if (target === "capability") {
      if (req.method !== "GET") return reply(res, 404, NOT_FOUND);
      if (!UUID.test(req.query.requestId ?? "")) return invalid(res, "requestId must be a UUID.");
      if (!capable.has(phone)) return reply(res, 404, NOT_FOUND);
      return reply(res, 200, { features: ["RICHCARD_STANDALONE", "RICHCARD_CAROUSEL", "ACTION_OPEN_URL"] });
    }

    if (req.method !== "POST") return reply(res, 404, NOT_FOUND);
    if (!UUID.test(req.query.messageId ?? "")) return invalid(res, "messageId must be a UUID.");
    if (!req.headers["content-type"]?.startsWith("application/json")) return invalid(res, "Invalid JSON payload.");
    let body: { contentMessage?: { text?: unknown }; ttl?: unknown; expireTime?: unknown; messageTrafficType?: unknown };
    try {
      body = JSON.parse(req.body);
    } catch {
      return invalid(res, "Invalid JSON payload received.");
    }
    if (typeof body.contentMessage?.text !== "string" || body.contentMessage.text === "") {
      return invalid(res, "Invalid value at 'agent_message.content_message'.");
    }
    if (body.ttl !== undefined && (typeof body.ttl !== "string" || !/^\d+(\.\d{1,9})?s$/.test(body.ttl))) {
      return invalid(res, "Invalid value at 'agent_message.ttl' (type.googleapis.com/google.protobuf.Duration).");
    }
    if (body.ttl !== undefined && body.expireTime !== undefined) return invalid(res, "Only one of ttl and expireTime.");
    if (!capable.has(phone)) return reply(res, 404, NOT_FOUND);
    reply(res, 200, {
      name: `phones/${phone}/agentMessages/${req.query.messageId}`,
      sendTime: new Date(clock.now()).toISOString(),
      contentMessage: body.contentMessage,
      ...(body.messageTrafficType ? { messageTrafficType: body.messageTrafficType } : {}),
    });
  };

  const server = createServer((incoming: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const url = new URL(incoming.url ?? "/", baseUrl);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(incoming.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
      }
      const req: FakeRbmRequest = {
        method: incoming.method ?? "",
        path: incoming.url ?? "",
        pathname: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(req);
      if (url.pathname === "/token") void token(req, res);
      else api(req, res);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    tokenUri: `${baseUrl}/token`,
    requests,
    tokenRequests: () => requests.filter((r) => r.pathname === "/token"),
    sendRequests: () => requests.filter((r) => r.pathname.endsWith("/agentMessages")),
    capabilityRequests: () => requests.filter((r) => r.pathname.endsWith("/capabilities")),
    capable,
    issued,
    revokeTokens() {
      for (const entry of tokens.values()) entry.revoked = true;
    },
    failNext(target, answer) {
      scripted[target].push(answer);
    },
    holdTokens() {
      let release = () => {};
      gate = new Promise<void>((resolve) => {
        release = () => {
          gate = null;
          resolve();
        };
      });
      return release;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A webhook as Google's push delivers it: the event JSON base64-encoded in `message.data`, signed with
 * base64 HMAC-SHA512(clientToken, decoded data). `signature: null` leaves the header out.
 */
export function signedRbmWebhook(
  clientToken: string,
  payload: Record<string, unknown>,
  options: { signature?: string | null } = {},
): WebhookRequest {
  const data = Buffer.from(JSON.stringify(payload));
  const signature =
    options.signature === undefined ? createHmac("sha512", clientToken).update(data).digest("base64") : options.signature;
  const envelope = {
    message: {
      data: data.toString("base64"),
      messageId: String(Math.floor(Math.random() * 1e16)),
      publishTime: new Date().toISOString(),
      attributes: { product: "RBM" },
    },
    subscription: "projects/rbm-partner/subscriptions/rbm-webhook",
  };
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signature !== null) headers["x-goog-signature"] = signature;
  return {
    method: "POST",
    url: "https://verifyd.example.com/webhooks/google-rbm/status",
    headers,
    rawBody: JSON.stringify(envelope),
  };
}

/** The console's webhook set-up call: unsigned, echoing the client token with a secret to return. */
export function rbmHandshake(clientToken: string, secret: string): WebhookRequest {
  return {
    method: "POST",
    url: "https://verifyd.example.com/webhooks/google-rbm/status",
    headers: { "content-type": "application/json" },
    rawBody: JSON.stringify({ clientToken, secret }),
  };
}
