import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import type { ProviderError } from "../core/sender.js";

/**
 * The one place provider adapters make HTTP calls: timeout joined with the caller's abort signal,
 * no redirects, body read once. Network failures come back as data, not exceptions.
 *
 * Built on `node:http` rather than `fetch`: every event webhook and provider send goes through here,
 * and fetch costs several times the CPU per request for nothing these calls need.
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
 * Kept-alive connections, one pool per protocol, up to 64 per host: a batch of event webhooks (32) or
 * of outbox sends goes out at once, and every socket of it stays open for the next batch rather than
 * being closed and reconnected. Idle sockets are closed after 4 s (under the 5 s most servers keep
 * them, so a request is rarely written to a socket the server is closing; a shorter `Keep-Alive:
 * timeout` the server announces wins), and they do not hold the process open.
 */
const agentOptions = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64, timeout: 4_000 } as const;
const agents = { "http:": new http.Agent(agentOptions), "https:": new https.Agent(agentOptions) };

class NodeResponseHeaders implements ResponseHeaders {
  constructor(private readonly headers: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const value = this.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(", ") : value;
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
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  if (request.signal.aborted) return Promise.resolve(unreachable("aborted", "aborted before the request was made"));

  let url: URL;
  try {
    url = new URL(request.url);
  } catch (err) {
    return Promise.resolve(unreachable("network_error", (err as Error).message));
  }
  const protocol = url.protocol === "https:" ? https : url.protocol === "http:" ? http : null;
  if (!protocol) return Promise.resolve(unreachable("network_error", `unsupported protocol ${url.protocol}`));

  return new Promise<ProviderResponse>((resolve) => {
    // Why the call is being cut short, when it is: decides the error code of the failure it causes.
    let cutShort: "aborted" | "timeout" | null = null;
    let settled = false;
    let response: IncomingMessage | undefined;

    const finish = (result: ProviderResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopListening();
      resolve(result);
    };
    const cut = (reason: "aborted" | "timeout") => {
      if (settled) return;
      cutShort = reason;
      const error = new Error(reason === "timeout" ? `no answer within ${request.timeoutMs} ms` : "aborted");
      // Destroying the request also destroys the answer being read, so its socket is never reused.
      req.destroy(error);
      response?.destroy(error);
    };
    const onAnswer = (res: IncomingMessage) => {
      response = res;
      const chunks: Buffer[] = [];
      // Once the status and headers are in, it is an answer; a body cut off gives the empty text.
      const answer = (text: string) =>
        finish({
          kind: "response",
          ok: res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300,
          status: res.statusCode ?? 0,
          headers: new NodeResponseHeaders(res.headers),
          text,
          json: parseJson(text),
        });
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => answer(Buffer.concat(chunks).toString("utf8")));
      res.on("error", () => answer(""));
      res.on("close", () => {
        if (!res.complete) answer("");
      });
    };

    let req: http.ClientRequest;
    try {
      const method = request.method ?? (body === undefined ? "GET" : "POST");
      req = protocol.request(url, { method, headers, agent: agents[url.protocol as keyof typeof agents] }, onAnswer);
    } catch (err) {
      // A header value that cannot be sent, for one: it never left.
      resolve(unreachable("network_error", (err as Error).message));
      return;
    }
    const timer = setTimeout(() => cut("timeout"), request.timeoutMs);
    const stopListening = onAbort(request.signal, () => cut("aborted"));
    req.on("error", (err) => {
      if (response) return; // the answer's own handlers settle it
      finish(cutShort ? unreachable(cutShort, err.message) : unreachable("network_error", err.message));
    });
    req.end(body);
  });
}

/** `Retry-After` is delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000 || undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) || at <= now ? undefined : at - now;
}
