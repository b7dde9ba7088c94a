/**
 * A typed client for verifyd's verification API. It has no dependencies and uses only `fetch`,
 * `AbortController`, `setTimeout` and `crypto.randomUUID`, so it runs in Node, Deno, Bun, workers
 * and browsers.
 */
import type { CheckInput, CheckOutcome, ErrorCode, StartInput, Verification } from "./types.js";

export type * from "./types.js";

export interface VerifydClientOptions {
  /** e.g. `https://verifyd.internal:8080` */
  baseUrl: string;
  apiKey: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per try. @default 10_000 */
  timeoutMs?: number;
  /** Tries after the first on a network error, a timeout, or a 429/503/409-in-flight with a short Retry-After. @default 2 */
  retries?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown. @default 5_000 */
  maxRetryDelayMs?: number;
}

export interface CallOptions {
  /** Reused on every try of the call; a random UUID when not given. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** A problem document (RFC 9457) from verifyd, typed. */
export class VerifydError extends Error {
  override name = "VerifydError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly title: string;
  readonly requestId: string | undefined;
  /** Why screening or velocity rules refused (`blocked`, some `rate_limited`). */
  readonly reasons: string[] | undefined;
  /** The rate limit that refused. */
  readonly limit: { rule: string; limit: number; remaining: number; window_s: number } | undefined;
  /** Field errors of an `invalid_request`. */
  readonly errors: { pointer: string; detail: string }[] | undefined;
  /** Seconds from the Retry-After header. */
  readonly retryAfter: number | undefined;
  constructor(
    readonly problem: Record<string, unknown>,
    status: number,
    retryAfter?: number,
  ) {
    super(`${String(problem.code ?? "error")}: ${String(problem.detail ?? "")}`);
    this.code = (problem.code as ErrorCode) ?? "internal_error";
    this.status = status;
    this.detail = String(problem.detail ?? "");
    this.title = String(problem.title ?? "");
    this.requestId = problem.request_id as string | undefined;
    this.reasons = problem.reasons as string[] | undefined;
    this.limit = problem.limit as VerifydError["limit"];
    this.errors = problem.errors as VerifydError["errors"];
    this.retryAfter = retryAfter;
  }
}

/** No answer from verifyd after every try (connection refused or reset, timeout). */
export class VerifydNetworkError extends Error {
  override name = "VerifydNetworkError";
}

const RETRIED_CODES = new Set<string>([
  "rate_limited",
  "service_unavailable",
  "channel_unavailable",
  "idempotency_key_in_flight",
]);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

export class VerifydClient {
  readonly #options: Required<Omit<VerifydClientOptions, "fetch">> & { fetch: typeof fetch };

  constructor(options: VerifydClientOptions) {
    this.#options = {
      timeoutMs: 10_000,
      retries: 2,
      maxRetryDelayMs: 5_000,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    };
  }

  /** Sends a code (or resends the live verification of the number). */
  start(input: StartInput, options?: CallOptions): Promise<Verification> {
    return this.#call("POST", "/v1/verifications", input, options);
  }

  /** Checks a code by verification id, or by phone number (`to`). A retried check spends no attempt. */
  check(input: CheckInput, options?: CallOptions): Promise<CheckOutcome> {
    if ("id" in input) {
      const { id, ...body } = input;
      return this.#call("POST", `/v1/verifications/${encodeURIComponent(id)}/check`, body, options);
    }
    return this.#call("POST", "/v1/verification-checks", input, options);
  }

  resend(id: string, input: { client_ip?: string } = {}, options?: CallOptions): Promise<Verification> {
    return this.#call("POST", `/v1/verifications/${encodeURIComponent(id)}/resend`, input, options);
  }

  cancel(id: string, options?: CallOptions): Promise<Verification> {
    return this.#call("POST", `/v1/verifications/${encodeURIComponent(id)}/cancel`, undefined, options);
  }

  /** With `wait` (seconds, at most 30), a pending verification's answer is held until it changes. */
  get(id: string, options: { wait?: number; signal?: AbortSignal } = {}): Promise<Verification> {
    const query = options.wait ? `?wait=${options.wait}` : "";
    return this.#call("GET", `/v1/verifications/${encodeURIComponent(id)}${query}`, undefined, options);
  }

  async #call<T>(method: "GET" | "POST", path: string, body: unknown, options: CallOptions = {}): Promise<T> {
    const o = this.#options;
    const headers: Record<string, string> = { authorization: `Bearer ${o.apiKey}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    // One key for every try: a retry after a lost answer replays the first outcome instead of repeating it.
    if (method === "POST") headers["idempotency-key"] = options.idempotencyKey ?? crypto.randomUUID();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= o.retries;
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), o.timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
      let response: Response;
      try {
        response = await o.fetch(`${o.baseUrl}${path}`, { method, headers, body: payload, signal });
      } catch (err) {
        clearTimeout(timer);
        if (options.signal?.aborted) throw err;
        if (last) throw new VerifydNetworkError(`verifyd did not answer ${method} ${path}`, { cause: err });
        await sleep(Math.min(o.maxRetryDelayMs, 200 * 2 ** attempt), options.signal);
        continue;
      }
      try {
        const text = await response.text();
        const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        if (response.ok) return parsed as T;
        const retryAfterHeader = response.headers.get("retry-after");
        const retryAfter = retryAfterHeader && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : undefined;
        const error = new VerifydError(parsed, response.status, retryAfter);
        const waitMs = (retryAfter ?? 1) * 1000;
        if (last || !RETRIED_CODES.has(error.code) || waitMs > o.maxRetryDelayMs) throw error;
        await sleep(waitMs, options.signal);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
