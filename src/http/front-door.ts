import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Metrics } from "../core/metrics.js";
import type { Clock } from "../core/ports.js";
import { type AdmissionControl, holdSlot, type Permit, type Refusal } from "./admission.js";
import { problemBody } from "./problem.js";
import { TWILIO_BASE_PATH } from "./twilio/app.js";
import { twilioErrorFor, twilioErrorJson } from "./twilio/errors.js";

/**
 * Admission control at the front door: in the server's request listener, before the request
 * reaches the HTTP app. A refused request costs what Node's HTTP parser and one write cost, no
 * more: no request object for the app, no routing, no body read, no key lookup, no store access,
 * no Error (whose stack trace alone costs more than the rest), no access-log line. That is what
 * lets a server far past its capacity still answer every request quickly.
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
  return reason === "queue_timeout"
    ? `no capacity freed up within ${queueTimeoutMs} ms; retry later`
    : "too many requests are in progress; retry later";
}

/** 503 `overloaded` with Retry-After: problem+json, or Twilio's error JSON under `/twilio/v2`. */
function refuse(res: ServerResponse, path: string, detail: string): void {
  const twilio = path.startsWith(`${TWILIO_BASE_PATH}/`);
  const body = JSON.stringify(
    twilio ? twilioErrorJson(twilioErrorFor("overloaded", detail)) : problemBody({ code: "overloaded", detail }, path),
  );
  res.writeHead(503, {
    "content-type": twilio ? "application/json" : "application/problem+json",
    "retry-after": String(OVERLOADED_RETRY_AFTER_MS / 1000),
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** Aborts when the caller's connection closes before its answer is out (asked for only while queued). */
function callerSignal(res: ServerResponse): AbortSignal {
  const left = new AbortController();
  res.once("close", () => left.abort());
  return left.signal;
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

/**
 * Wraps a server's request listener in admission control. An admitted request holds its slot
 * until its answer is out (or its connection closes); a refused one is answered here. A caller
 * that left while queued gets nothing (its connection is gone).
 */
export function admissionGate(
  control: AdmissionControl,
  onShed: (reason: Refusal, control: AdmissionControl) => void,
): (listener: RequestListener) => RequestListener {
  return (listener) => {
    const enter = (entry: Permit | Refusal, req: IncomingMessage, res: ServerResponse, path: string) => {
      if (typeof entry === "string") {
        onShed(entry, control);
        if (entry !== "client_closed") refuse(res, path, overloadedDetail(entry, control.queueTimeoutMs));
        return;
      }
      holdSlot(req, entry);
      res.once("close", entry.release);
      listener(req, res);
    };
    return (req, res) => {
      const path = pathOf(req.url ?? "/");
      if (!isGoverned(path)) return listener(req, res);
      const entry = control.admit(() => callerSignal(res));
      if (entry instanceof Promise) entry.then((e) => enter(e, req, res, path));
      else enter(entry, req, res, path);
    };
  };
}
