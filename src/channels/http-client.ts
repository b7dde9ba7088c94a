import { Agent, type Dispatcher } from "undici";
import type { ProviderError } from "../core/sender.js";

/**
 * The one place provider adapters make HTTP calls: timeout joined with the caller's abort signal,
 * no redirects, body read once. Network failures come back as data, not exceptions.
 *
 * Built on undici's dispatcher (the HTTP engine behind Node's `fetch`) rather than `fetch` or
 * `node:http`: every event webhook and provider send goes through here, and per request `fetch`
 * costs several times the CPU, and `node:http`'s client about twice the CPU and far more garbage
 * (its request, agent queue and header objects), for nothing these calls need.
 */

export interface ProviderRequest {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  /** A string is sent as is; an object as JSON; URLSearchParams as a form. */
  body?: string | URLSearchParams | Record<string, unknown>;
  /** For the whole call: connecting, the answer and its body. */
  timeoutMs: number;
  signal: AbortSignal;
}

/** The answer's headers, looked up case-insensitively; repeated ones come joined with `, `. */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export type ProviderResponse =
  | { kind: "response"; ok: boolean; status: number; headers: ResponseHeaders; text: string; json: unknown }
  /** No HTTP answer at all: the send's outcome is unknown, or it never left. */
  | { kind: "unreachable"; error: ProviderError };

/**
 * Kept-alive connections, up to 64 per origin: a batch of event webhooks (32) or of outbox sends
 * goes out at once, and every connection of it stays open for the next batch rather than being
 * closed and reconnected. Idle connections are closed after 4 s (under the 5 s most servers keep
 * them, so a request is rarely written to a connection the server is closing; a shorter
 * `Keep-Alive: timeout` the server announces wins), and they do not hold the process open. The
 * whole call's deadline is `timeoutMs`, kept here, so undici's own header and body timeouts are off.
 */
const dispatcher = new Agent({
  connections: 64,
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 4_000,
  headersTimeout: 0,
  bodyTimeout: 0,
});

/** Raw header pairs (name, value, name, value…) as undici hands them over, read when asked. */
class RawResponseHeaders implements ResponseHeaders {
  private byName: Map<string, string> | undefined;
  constructor(private readonly raw: readonly Buffer[]) {}
  get(name: string): string | null {
    if (!this.byName) {
      const byName = new Map<string, string>();
      for (let i = 0; i + 1 < this.raw.length; i += 2) {
        const key = (this.raw[i] as Buffer).toString("latin1").toLowerCase();
        const value = (this.raw[i + 1] as Buffer).toString("latin1");
        const earlier = byName.get(key);
        byName.set(key, earlier === undefined ? value : `${earlier}, ${value}`);
      }
      this.byName = byName;
    }
    return this.byName.get(name.toLowerCase()) ?? null;
  }
}

/**
 * One abort listener per caller's signal, however many calls share it (the events worker and the
 * outbox pass one signal to every send of a pass): a listener per call would trip Node's
 * leak warning and make each abort walk them all.
 */
const callsCutByAbort = new WeakMap<AbortSignal, Set<() => void>>();
function onAbort(signal: AbortSignal, cut: () => void): () => void {
  let calls = callsCutByAbort.get(signal);
  if (!calls) {
    const pending = new Set<() => void>();
    calls = pending;
    callsCutByAbort.set(signal, pending);
    signal.addEventListener(
      "abort",
      () => {
        for (const call of pending) call();
        pending.clear();
      },
      { once: true },
    );
  }
  calls.add(cut);
  return () => calls.delete(cut);
}

type Unreachable = Extract<ProviderResponse, { kind: "unreachable" }>;
const unreachable = (code: "aborted" | "timeout" | "network_error", message: string): Unreachable => ({
  kind: "unreachable",
  error: { code, message },
});

function encodeBody(request: ProviderRequest, headers: Record<string, string>): string | undefined {
  if (request.body instanceof URLSearchParams) {
    headers["content-type"] ??= "application/x-www-form-urlencoded";
    return request.body.toString();
  }
  if (typeof request.body === "string") return request.body;
  if (request.body === undefined) return undefined;
  headers["content-type"] ??= "application/json";
  return JSON.stringify(request.body);
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function callProvider(request: ProviderRequest): Promise<ProviderResponse> {
  // Lower-cased, so a caller's `Content-Type` replaces the default rather than going out beside it.
  const headers: Record<string, string> = { "user-agent": "verifyd" };
  for (const name in request.headers) headers[name.toLowerCase()] = request.headers[name] as string;
  const body = encodeBody(request, headers);
  if (request.signal.aborted) return Promise.resolve(unreachable("aborted", "aborted before the request was made"));

  let url: URL;
  try {
    url = new URL(request.url);
  } catch (err) {
    return Promise.resolve(unreachable("network_error", (err as Error).message));
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return Promise.resolve(unreachable("network_error", `unsupported protocol ${url.protocol}`));

  return new Promise<ProviderResponse>((resolve) => {
    // Why the call is being cut short, when it is: decides the error code of the failure it causes.
    let cutShort: "aborted" | "timeout" | null = null;
    let settled = false;
    let status = 0;
    let rawHeaders: readonly Buffer[] = [];
    const chunks: Buffer[] = [];
    let abortRequest: ((err: Error) => void) | undefined;

    const finish = (result: ProviderResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopListening();
      resolve(result);
    };
    // Once the status and headers are in, it is an answer; a body cut off gives the empty text.
    const answer = (text: string) =>
      finish({
        kind: "response",
        ok: status >= 200 && status < 300,
        status,
        headers: new RawResponseHeaders(rawHeaders),
        text,
        json: parseJson(text),
      });
    const cut = (reason: "aborted" | "timeout") => {
      if (settled) return;
      cutShort = reason;
      const error = new Error(reason === "timeout" ? `no answer within ${request.timeoutMs} ms` : "aborted");
      // Aborting destroys the connection, so it is never reused. A request still waiting for a
      // connection is aborted as soon as it gets one (onConnect), before anything is written.
      abortRequest?.(error);
      if (status > 0) answer("");
      else finish(unreachable(reason, error.message));
    };

    const handler: Dispatcher.DispatchHandlers = {
      onConnect(abort) {
        abortRequest = abort;
        if (cutShort) abort(new Error(cutShort));
      },
      onHeaders(statusCode, headers) {
        status = statusCode;
        rawHeaders = headers;
        return true;
      },
      onData(chunk) {
        chunks.push(chunk);
        return true;
      },
      onComplete() {
        answer(chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8"));
      },
      onError(err) {
        if (status > 0) answer("");
        else finish(cutShort ? unreachable(cutShort, err.message) : unreachable("network_error", err.message));
      },
    };

    const timer = setTimeout(() => cut("timeout"), request.timeoutMs);
    const stopListening = onAbort(request.signal, () => cut("aborted"));
    try {
      dispatcher.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: request.method ?? (body === undefined ? "GET" : "POST"),
          headers,
          body,
        },
        handler,
      );
    } catch (err) {
      // A header value that cannot be sent, for one: it never left.
      finish(unreachable("network_error", (err as Error).message));
    }
  });
}

/** `Retry-After` is delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000 || undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) || at <= now ? undefined : at - now;
}
