import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Metrics } from "../core/metrics.js";
import type { Clock } from "../core/ports.js";
import { type AdmissionControl, holdSlot, type Permit, type Refusal } from "./admission.js";
import { ERROR_TABLE, type ProblemInput, problemBody } from "./problem.js";
import { TWILIO_BASE_PATH } from "./twilio/app.js";
import { twilioErrorFor, twilioErrorJson } from "./twilio/errors.js";

/**
 * Admission control at the front door: in the server's request listener, before the request
 * reaches the HTTP app. A refused request costs what Node's HTTP parser and one write cost, no
 * more: no request object for the app, no routing, no body parsed (none read when the queue is
 * full), no key lookup, no store access, no Error (whose stack trace alone costs more than the
 * rest), no access-log line. That is what lets a server far past its capacity still answer every
 * request quickly.
 *
 * A request takes its slot once its body has arrived (read here, at most the body limit, and handed
 * to the app as `rawBody`, which @hono/node-server reads instead of the stream): a slow upload holds
 * a connection, never a slot, so a few slow clients cannot starve everyone else of slots.
 */

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** What a refused caller is asked to wait before retrying (`Retry-After`). */
export const OVERLOADED_RETRY_AFTER_MS = 1000;

/** How often, at most, a warning sums up the requests refused since the last one. */
const SHED_LOG_EVERY_MS = 10_000;

/**
 * Never refused: probes and scrapes must answer under overload, and provider callbacks finish work
 * already accepted. Matched on the raw path, so a disguised path (percent-encoded, absolute-form)
 * is governed rather than let through.
 */
const UNGOVERNED = new Set(["/healthz", "/readyz", "/metrics"]);
const UNGOVERNED_PREFIX = "/webhooks/";

const pathOf = (url: string): string => {
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
};

const isGoverned = (path: string) => !UNGOVERNED.has(path) && !path.startsWith(UNGOVERNED_PREFIX);

/** The `detail` of a refusal (`overloaded`). */
export function overloadedDetail(reason: Refusal, queueTimeoutMs: number): string {
  if (reason === "queue_timeout") return `no capacity freed up within ${queueTimeoutMs} ms; retry later`;
  if (reason === "admission_rate") return "more requests are arriving than can be served; retry later";
  return "too many requests are in progress; retry later";
}

interface Prepared {
  status: number;
  headers: Record<string, string | number>;
  body: string;
}

/** A problem document, or Twilio's error JSON under `/twilio/v2`, as the app would answer it. */
function prepare(path: string, input: ProblemInput): Prepared {
  const twilio = path.startsWith(`${TWILIO_BASE_PATH}/`) ? twilioErrorFor(input.code, input.detail) : undefined;
  const body = JSON.stringify(twilio ? twilioErrorJson(twilio) : problemBody(input, path));
  const headers: Record<string, string | number> = {
    "content-type": twilio ? "application/json" : "application/problem+json",
    "content-length": Buffer.byteLength(body),
  };
  if (input.retryAfterMs !== undefined) headers["retry-after"] = Math.ceil(input.retryAfterMs / 1000);
  return { status: twilio?.status ?? ERROR_TABLE[input.code].status, headers, body };
}

function answer(res: ServerResponse, path: string, input: ProblemInput): void {
  send(res, prepare(path, input));
}

function send(res: ServerResponse, { status, headers, body }: Prepared): void {
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * The refusals' answers, built once per path and reason: far past capacity most requests are
 * refused, and the same few paths (a start, a check) are refused thousands of times a second.
 * Bounded, as paths carry ids: once full, other paths' answers are built each time.
 */
const REFUSALS_KEPT = 256;
function refusalAnswers(queueTimeoutMs: number) {
  const kept = new Map<string, Prepared>();
  return (path: string, reason: Refusal): Prepared => {
    const key = `${reason} ${path}`;
    const known = kept.get(key);
    if (known) return known;
    const detail = overloadedDetail(reason, queueTimeoutMs);
    const prepared = prepare(path, { code: "overloaded", detail, retryAfterMs: OVERLOADED_RETRY_AFTER_MS });
    if (kept.size < REFUSALS_KEPT) kept.set(key, prepared);
    return prepared;
  };
}

/** Aborts when the caller's connection closes before its answer is out (asked for only while queued). */
function callerSignal(res: ServerResponse): AbortSignal {
  const left = new AbortController();
  res.once("close", () => left.abort());
  return left.signal;
}

type Body = Buffer | undefined | "too_large" | "gone";

/**
 * Reads the request's body, at most `maxBytes`; `undefined` for a method without one. A body
 * declared larger is not read at all.
 */
function readBody(req: IncomingMessage, maxBytes: number, done: (body: Body) => void): void {
  if (req.method === "GET" || req.method === "HEAD") {
    done(undefined);
    return;
  }
  const declared = req.headers["content-length"];
  if (declared !== undefined && req.headers["transfer-encoding"] === undefined && Number(declared) > maxBytes) {
    done("too_large");
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const finish = (body: Body) => {
    req.off("data", onData);
    req.off("end", onEnd);
    req.off("error", onGone);
    req.off("close", onGone);
    done(body);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
    else {
      finish("too_large");
      req.resume(); // the rest is read and dropped
    }
  };
  const onEnd = () => finish(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  const onGone = () => finish("gone");
  req.on("data", onData);
  req.on("end", onEnd);
  req.on("error", onGone);
  req.on("close", onGone);
}

/**
 * Counts refusals in the metrics and sums them up in one warning at most every 10 s: under
 * overload a line per refused request would cost more than the refusal itself.
 */
export function shedRecorder(metrics: Metrics, logger: Logger, clock: Clock) {
  const since = new Map<Refusal, number>();
  let lastLog = Number.NEGATIVE_INFINITY;
  return (reason: Refusal, control: AdmissionControl) => {
    metrics.requestShed(reason);
    since.set(reason, (since.get(reason) ?? 0) + 1);
    const now = clock.now();
    if (now - lastLog < SHED_LOG_EVERY_MS) return;
    lastLog = now;
    logger.warn(
      { refused: Object.fromEntries(since), in_flight: control.inFlight, queued: control.queued },
      "overloaded: refusing requests",
    );
    since.clear();
  };
}

export interface AdmissionGateOptions {
  onShed: (reason: Refusal, control: AdmissionControl) => void;
  /** Told (at info level) of a caller that hung up before its body arrived, as the app tells of one. */
  logger: Logger;
  /** The body limit (`VERIFYD_MAX_BODY_BYTES`): a larger body is refused here, 413, as the app would. */
  maxBodyBytes: number;
}

/**
 * Wraps a server's request listener in admission control. An admitted request holds its slot
 * until its answer is out (or its connection closes, or the app gives the slot back early); a
 * refused one is answered here. A caller that left while queued gets nothing (its connection is gone).
 */
export function admissionGate(
  control: AdmissionControl,
  { onShed, logger, maxBodyBytes }: AdmissionGateOptions,
): (listener: RequestListener) => RequestListener {
  const refusal = refusalAnswers(control.queueTimeoutMs);
  const refuse = (res: ServerResponse, path: string, reason: Refusal) => {
    control.noteRefusal(reason);
    onShed(reason, control);
    if (reason === "client_closed") return;
    send(res, refusal(path, reason));
  };
  return (listener) => {
    const enter = (entry: Permit | Refusal, req: IncomingMessage, res: ServerResponse, path: string) => {
      if (typeof entry === "string") return refuse(res, path, entry);
      holdSlot(req, entry);
      res.once("close", entry.release);
      listener(req, res);
    };
    return (req, res) => {
      const path = pathOf(req.url ?? "/");
      if (!isGoverned(path)) return listener(req, res);
      const early = control.refusing();
      if (early) return refuse(res, path, early);
      readBody(req, maxBodyBytes, (body) => {
        if (body === "gone") {
          logger.info({ method: req.method, path }, "client closed the connection before its request was read");
          return;
        }
        if (body === "too_large") {
          const detail = `bodies are limited to ${maxBodyBytes} bytes`;
          return answer(res, path, { code: "payload_too_large", detail });
        }
        if (body) (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
        const entry = control.admit(() => callerSignal(res));
        if (entry instanceof Promise) entry.then((e) => enter(e, req, res, path));
        else enter(entry, req, res, path);
      });
    };
  };
}
