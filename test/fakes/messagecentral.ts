import { createHmac, randomInt } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "../../src/core/ports.js";

/**
 * A local Message Central: the token endpoint, VerifyNow send (with the custom-SMS form) and validateOtp,
 * with the real query-parameter names and the `{responseCode, message, data}` envelope. Codes are
 * generated here, per verificationId, as the real service does; tests read them from `codeFor`.
 */

export const RESPONSE_NAMES: Record<number, string> = {
  200: "SUCCESS",
  400: "BAD_REQUEST",
  409: "DUPLICATE_RESOURCE",
  500: "SERVER_ERROR",
  501: "INVALID_CUSTOMER_ID",
  505: "INVALID_VERIFICATION_ID",
  506: "REQUEST_ALREADY_EXISTS",
  511: "INVALID_COUNTRY_CODE",
  700: "VERIFICATION_FAILED",
  702: "WRONG_OTP_PROVIDED",
  703: "ALREADY_VERIFIED",
  705: "VERIFICATION_EXPIRED",
  800: "MAXIMUM_LIMIT_REACHED",
};

export interface FakeRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The raw query string, to check its encoding. */
  rawQuery: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

export interface FakeVerification {
  verificationId: string;
  countryCode: string;
  mobileNumber: string;
  flowType: string;
  code: string;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  verified: boolean;
}

export interface FakeSms {
  verificationId: string;
  countryCode: string;
  mobileNumber: string;
  senderId: string;
  text: string;
}

export interface ForcedAnswer {
  /** Defaults to the response code for 4xx/5xx codes, 400 for the 7xx/8xx ones. */
  httpStatus?: number;
  data?: Record<string, unknown>;
  /** Instead of the code's name. */
  message?: string;
  /** Sent as is instead of the JSON envelope (a proxy's error page). */
  rawBody?: string;
}

export interface MessageCentralFakeOptions {
  clock: Clock;
  customerId: string;
  password: string;
  /** How long a VerifyNow code stays valid. @default 300_000 */
  codeTtlMs?: number;
  /** Wrong codes allowed before MAXIMUM_LIMIT_REACHED. @default 3 */
  maxAttempts?: number;
  /** Seconds before another code may be requested for the same number (`data.timeout`). @default 60 */
  resendWaitSeconds?: number;
  /** `exp` of issued tokens, from issue time. @default five years, as observed on real tokens */
  tokenLifetimeSeconds?: number;
}

export interface MessageCentralFake {
  baseUrl: string;
  requests: FakeRequest[];
  verifications: Map<string, FakeVerification>;
  sms: FakeSms[];
  /** The code generated for a verification. */
  codeFor(verificationId: string): string;
  /** The next API call (send or validate) is answered with this response code, after the token check. */
  answerNext(responseCode: number, answer?: ForcedAnswer): void;
  /** The next token request is answered with this HTTP status and body. */
  answerNextToken(httpStatus: number, body: unknown): void;
  /** Every token issued so far stops working (the next API call gets 401). */
  revokeTokens(): void;
  /** While on, every API call gets 401, even with a freshly issued token. */
  refuseAllTokens(on: boolean): void;
  tokenRequests(): FakeRequest[];
  apiRequests(): FakeRequest[];
  close(): Promise<void>;
}

const TOKEN_PATH = "/auth/v1/authentication/token";
const SEND_PATH = "/verification/v3/send";
const VALIDATE_PATH = "/verification/v3/validateOtp";
const SIGNING_KEY = "fake-messagecentral-signing-key";

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** What the fake answers: JSON, or a raw body standing in for a proxy's error page. */
type Reply = { status: number; body: unknown } | { status: number; raw: string };

function json(status: number, body: unknown): Reply {
  return { status, body };
}

function write(res: ServerResponse, reply: Reply): void {
  const isRaw = "raw" in reply;
  res.writeHead(reply.status, { "content-type": isRaw ? "text/html" : "application/json" });
  res.end(isRaw ? reply.raw : JSON.stringify(reply.body));
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export async function startMessageCentralFake(options: MessageCentralFakeOptions): Promise<MessageCentralFake> {
  const { clock } = options;
  const codeTtlMs = options.codeTtlMs ?? 300_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const resendWaitSeconds = options.resendWaitSeconds ?? 60;
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 5 * 365 * 86_400;

  const requests: FakeRequest[] = [];
  const verifications = new Map<string, FakeVerification>();
  const sms: FakeSms[] = [];
  const forced: Array<{ responseCode: number } & ForcedAnswer> = [];
  const forcedToken: Array<{ httpStatus: number; body: unknown }> = [];
  const tokens = new Set<string>();
  let refuseAll = false;
  let nextId = 12072243;
  let tokenSerial = 0;

  const envelope = (httpStatus: number, responseCode: number, data: unknown): Reply =>
    json(httpStatus, { responseCode, message: RESPONSE_NAMES[responseCode] ?? "ERROR", data });

  const sendData = (verificationId: string, mobileNumber: string, timeout: number) => ({
    verificationId,
    mobileNumber,
    responseCode: "200",
    errorMessage: null,
    timeout: String(timeout),
    smsCLI: null,
    transactionId: `tx-${verificationId}`,
  });

  // Real tokens are HS512 JWTs whose subject is the customer id.
  function issueToken(): string {
    const iat = Math.floor(clock.now() / 1000);
    const unsigned = `${base64url({ alg: "HS512" })}.${base64url({ sub: options.customerId, iat, exp: iat + tokenLifetimeSeconds, n: ++tokenSerial })}`;
    const token = `${unsigned}.${createHmac("sha512", SIGNING_KEY).update(unsigned).digest("base64url")}`;
    tokens.add(token);
    return token;
  }

  function handleToken(req: FakeRequest): Reply {
    const next = forcedToken.shift();
    if (next) return json(next.httpStatus, next.body);
    const { customerId, key, scope, country } = req.query;
    if (req.method !== "GET" || scope !== "NEW" || !country) return json(400, { status: 400, message: "BAD_REQUEST" });
    if (customerId !== options.customerId) return json(400, { responseCode: 501, message: "INVALID_CUSTOMER_ID" });
    if (key !== Buffer.from(options.password).toString("base64")) return json(401, { status: 401, message: "Unauthorized" });
    return json(200, { status: 200, token: issueToken() });
  }

  function handleSend(req: FakeRequest): Reply {
    const q = req.query;
    if (req.method !== "POST" || req.body !== "") return envelope(400, 400, null);
    if (q.customerId !== options.customerId) return envelope(400, 501, null);
    if (!/^\d{1,4}$/.test(q.countryCode ?? "")) return envelope(400, 511, null);
    if (!/^\d{4,14}$/.test(q.mobileNumber ?? "") || !["SMS", "WHATSAPP", "RCS"].includes(q.flowType ?? "")) {
      return envelope(400, 400, null);
    }
    const countryCode = q.countryCode as string;
    const mobileNumber = q.mobileNumber as string;
    if (q.type !== undefined || q.message !== undefined) {
      // The custom-SMS form: our own text from an approved sender, nothing to validate later.
      if (q.type !== "SMS" || q.flowType !== "SMS" || !q.senderId || !q.message) return envelope(400, 400, null);
      const verificationId = String(nextId++);
      sms.push({ verificationId, countryCode, mobileNumber, senderId: q.senderId, text: q.message });
      return envelope(200, 200, sendData(verificationId, mobileNumber, 0));
    }
    const otpLength = q.otpLength === undefined ? 4 : Number(q.otpLength);
    if (!Number.isInteger(otpLength) || otpLength < 4 || otpLength > 8) return envelope(400, 400, null);
    const now = clock.now();
    for (const v of verifications.values()) {
      const waitMs = v.createdAt + resendWaitSeconds * 1000 - now;
      if (v.countryCode === countryCode && v.mobileNumber === mobileNumber && !v.verified && waitMs > 0) {
        return envelope(400, 506, { timeout: String(Math.ceil(waitMs / 1000)) });
      }
    }
    const verificationId = String(nextId++);
    const code = Array.from({ length: otpLength }, () => randomInt(10)).join("");
    verifications.set(verificationId, {
      verificationId,
      countryCode,
      mobileNumber,
      flowType: q.flowType as string,
      code,
      createdAt: now,
      expiresAt: now + codeTtlMs,
      attempts: 0,
      verified: false,
    });
    return envelope(200, 200, sendData(verificationId, mobileNumber, resendWaitSeconds));
  }

  function handleValidate(req: FakeRequest): Reply {
    const { verificationId, code, customerId } = req.query;
    if (req.method !== "GET" || !verificationId || !code) return envelope(400, 400, null);
    if (customerId !== undefined && customerId !== options.customerId) return envelope(400, 501, null);
    const v = verifications.get(verificationId);
    if (!v) return envelope(400, 505, null);
    const data = (status: string, responseCode: number) => ({
      verificationId,
      mobileNumber: v.mobileNumber,
      verificationStatus: status,
      responseCode: String(responseCode),
      errorMessage: responseCode === 200 ? null : RESPONSE_NAMES[responseCode],
      transactionId: `tx-${verificationId}`,
    });
    if (v.verified) return envelope(400, 703, data("VERIFICATION_COMPLETED", 703));
    if (clock.now() >= v.expiresAt) return envelope(400, 705, data("VERIFICATION_EXPIRED", 705));
    if (v.attempts >= maxAttempts) return envelope(400, 800, data("VERIFICATION_FAILED", 800));
    if (code !== v.code) {
      v.attempts++;
      return envelope(400, 702, data("VERIFICATION_FAILED", 702));
    }
    v.verified = true;
    return envelope(200, 200, data("VERIFICATION_COMPLETED", 200));
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const recorded: FakeRequest = {
        method: req.method ?? "",
        path: url.pathname,
        rawQuery: url.search.slice(1),
        query: Object.fromEntries(url.searchParams),
        headers: flatten(req.headers),
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      write(res, route(recorded));
    });
  });

  function route(req: FakeRequest): Reply {
    if (req.path === TOKEN_PATH) return handleToken(req);
    if (req.path !== SEND_PATH && req.path !== VALIDATE_PATH) return json(404, { status: 404 });
    // The token goes in an `authToken` header (Node lower-cases names); the auth failure shape is undocumented.
    const token = req.headers.authtoken;
    if (refuseAll || !token || !tokens.has(token)) return envelope(401, 401, null);
    const answer = forced.shift();
    if (answer) {
      const status = answer.httpStatus ?? (answer.responseCode < 600 ? answer.responseCode : 400);
      if (answer.rawBody !== undefined) return { status, raw: answer.rawBody };
      const message = answer.message ?? RESPONSE_NAMES[answer.responseCode] ?? "ERROR";
      return json(status, { responseCode: answer.responseCode, message, data: answer.data ?? null });
    }
    return req.path === SEND_PATH ? handleSend(req) : handleValidate(req);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    verifications,
    sms,
    codeFor(verificationId) {
      const v = verifications.get(verificationId);
      if (!v) throw new Error(`no verification ${verificationId}`);
      return v.code;
    },
    answerNext(responseCode, answer = {}) {
      forced.push({ responseCode, ...answer });
    },
    answerNextToken(httpStatus, body) {
      forcedToken.push({ httpStatus, body });
    },
    revokeTokens() {
      tokens.clear();
    },
    refuseAllTokens(on) {
      refuseAll = on;
    },
    tokenRequests: () => requests.filter((r) => r.path === TOKEN_PATH),
    apiRequests: () => requests.filter((r) => r.path !== TOKEN_PATH),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
