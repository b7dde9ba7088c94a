import type { Clock } from "../core/ports.js";
import type { ProviderError } from "../core/sender.js";
import { callProvider } from "./http-client.js";

/**
 * Message Central's token handling and its one way of calling the API: every parameter in the query
 * string, an empty body, and the token in an `authToken` header (not `Authorization: Bearer`).
 */

export interface MessageCentralAuthSettings {
  customerId: string;
  /** The account password: the token endpoint wants it base64-encoded as `key`. */
  password: string;
  email?: string | undefined;
  /** The account's country calling code, passed to the token endpoint as `country`. */
  country: string;
  baseUrl: string;
  timeoutMs: number;
  tokenTtlMs: number;
}

/** The envelope every VerifyNow endpoint answers with: `{responseCode, message, data}`. */
export interface Envelope {
  /** `null` when the body was not the documented JSON (a proxy's error page, an empty body). */
  responseCode: number | null;
  message: string;
  data: Record<string, unknown>;
}

export type ApiResult =
  | { kind: "response"; status: number; envelope: Envelope }
  /** No usable answer: unreachable, or no valid token. `retry` when trying later can help. */
  | { kind: "failed"; error: ProviderError; retry: boolean };

export type QueryParams = Record<string, string | undefined>;

export interface MessageCentralClient {
  call(method: "GET" | "POST", path: string, params: QueryParams, signal: AbortSignal): Promise<ApiResult>;
}

const TOKEN_PATH = "/auth/v1/authentication/token";
/** Stop using a token this long before the expiry its JWT claims, so it never expires in flight. */
const EXPIRY_MARGIN_MS = 60_000;

/** encodeURIComponent rather than URLSearchParams: `%20`, not `+`, is unambiguous in any server's query parser. */
export function buildUrl(baseUrl: string, path: string, params: QueryParams): string {
  const query = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join("&");
  return `${baseUrl.replace(/\/+$/, "")}${path}${query ? `?${query}` : ""}`;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function parseEnvelope(json: unknown): Envelope {
  const body = record(json);
  const code = Number(body?.responseCode);
  return {
    responseCode: body?.responseCode !== undefined && Number.isInteger(code) ? code : null,
    message: typeof body?.message === "string" ? body.message : "",
    data: record(body?.data) ?? {},
  };
}

/** The `exp` claim of a JWT (epoch ms), read without verifying: it only shortens our cache. */
function jwtExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const exp = record(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")))?.exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

type TokenResult = { kind: "token"; token: string } | Extract<ApiResult, { kind: "failed" }>;

export function createMessageCentralClient(settings: MessageCentralAuthSettings, clock: Clock): MessageCentralClient {
  let cached: { token: string; expiresAt: number } | null = null;
  // One token request at a time: a burst of sends after start-up shares it. If the caller that started it
  // is aborted (shutdown), the others get the same `aborted` failure and retry later, which is harmless.
  let inFlight: Promise<TokenResult> | null = null;

  async function requestToken(signal: AbortSignal): Promise<TokenResult> {
    const url = buildUrl(settings.baseUrl, TOKEN_PATH, {
      customerId: settings.customerId,
      key: Buffer.from(settings.password, "utf8").toString("base64"),
      scope: "NEW",
      country: settings.country,
      email: settings.email,
    });
    const response = await callProvider({ url, headers: { accept: "*/*" }, timeoutMs: settings.timeoutMs, signal });
    if (response.kind === "unreachable") return { kind: "failed", error: response.error, retry: true };
    const body = record(response.json);
    const token = body?.token;
    if (response.ok && typeof token === "string" && token !== "") {
      const now = clock.now();
      const claimed = jwtExpiry(token);
      const expiresAt = Math.min(now + settings.tokenTtlMs, claimed === undefined ? Infinity : claimed - EXPIRY_MARGIN_MS);
      cached = { token, expiresAt };
      return { kind: "token", token };
    }
    // The failure shape is undocumented: keep whatever code the body carries, else the HTTP status.
    const providerCode = body?.responseCode ?? body?.status;
    const code = typeof providerCode === "number" && providerCode !== 200 ? String(providerCode) : `http_${response.status}`;
    const error = { code, message: "token request refused" };
    // Only an overloaded or failing server is worth asking again; anything else means wrong credentials.
    return { kind: "failed", error, retry: response.status >= 500 || response.status === 429 };
  }

  function token(signal: AbortSignal): Promise<TokenResult> {
    if (cached && clock.now() < cached.expiresAt) return Promise.resolve({ kind: "token", token: cached.token });
    inFlight ??= requestToken(signal).finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  return {
    async call(method, path, params, signal) {
      // A 401 with a cached token most likely means it was revoked or expired early: fetch one fresh token
      // and try once more. A 401 with a fresh token is a configuration problem, not worth repeating.
      for (let attempt = 0; ; attempt++) {
        const auth = await token(signal);
        if (auth.kind === "failed") return auth;
        const response = await callProvider({
          method,
          url: buildUrl(settings.baseUrl, path, params),
          headers: { accept: "*/*", authToken: auth.token },
          timeoutMs: settings.timeoutMs,
          signal,
        });
        if (response.kind === "unreachable") return { kind: "failed", error: response.error, retry: true };
        const envelope = parseEnvelope(response.json);
        if (response.status !== 401 && envelope.responseCode !== 401) {
          return { kind: "response", status: response.status, envelope };
        }
        if (cached?.token === auth.token) cached = null;
        if (attempt > 0) return { kind: "failed", error: { code: "http_401", message: "authToken refused" }, retry: false };
      }
    },
  };
}
