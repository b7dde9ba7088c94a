import type { ProviderError } from "../core/ports.js";

/**
 * The one place provider adapters make HTTP calls: timeout joined with the caller's abort signal,
 * no redirects, body read once. Network failures come back as data, not exceptions.
 */

export interface ProviderRequest {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  /** A string is sent as is; an object as JSON; URLSearchParams as a form. */
  body?: string | URLSearchParams | Record<string, unknown>;
  timeoutMs: number;
  signal: AbortSignal;
}

export type ProviderResponse =
  | { kind: "response"; ok: boolean; status: number; headers: Headers; text: string; json: unknown }
  /** No HTTP answer at all: the send's outcome is unknown, or it never left. */
  | { kind: "unreachable"; error: ProviderError };

export async function callProvider(request: ProviderRequest): Promise<ProviderResponse> {
  const headers: Record<string, string> = { "user-agent": "verifyd", ...request.headers };
  let body: string | undefined;
  if (request.body instanceof URLSearchParams) {
    body = request.body.toString();
    headers["content-type"] ??= "application/x-www-form-urlencoded";
  } else if (typeof request.body === "string") {
    body = request.body;
  } else if (request.body !== undefined) {
    body = JSON.stringify(request.body);
    headers["content-type"] ??= "application/json";
  }
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.any([request.signal, AbortSignal.timeout(request.timeoutMs)]),
    });
  } catch (err) {
    const name = (err as Error).name;
    const code = request.signal.aborted
      ? "aborted"
      : name === "TimeoutError" || name === "AbortError"
        ? "timeout"
        : "network_error";
    return { kind: "unreachable", error: { code, message: (err as Error).message } };
  }
  const text = await response.text().catch(() => "");
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { kind: "response", ok: response.ok, status: response.status, headers: response.headers, text, json };
}

/** `Retry-After` is delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000 || undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) || at <= now ? undefined : at - now;
}
