import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import { VerifydError } from "../../core/errors.js";
import type { Metrics } from "../../core/metrics.js";
import type { Clock } from "../../core/ports.js";
import type { AdmissionControl, Refusal } from "../admission.js";
import type { AppEnv } from "../context.js";
import { callerGoneResponse } from "../problem.js";

/** What a refused caller is asked to wait before retrying (`Retry-After`). */
export const OVERLOADED_RETRY_AFTER_MS = 1000;

/** How often, at most, a warning sums up the requests refused since the last one. */
const SHED_LOG_EVERY_MS = 10_000;

/** The error a refused request is answered with, in whichever shape its surface speaks. */
export function overloadedError(reason: Refusal, queueTimeoutMs: number): VerifydError {
  const detail =
    reason === "queue_timeout"
      ? `no capacity freed up within ${queueTimeoutMs} ms; retry later`
      : "too many requests are in progress; retry later";
  return new VerifydError("overloaded", detail, { retryAfterMs: OVERLOADED_RETRY_AFTER_MS });
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
 * Admission control as the first step of a request: nothing (body, API key, store) is touched
 * before a slot is held, and the slot is freed when the answer is ready. A refusal is answered by
 * `refuse` (problem+json, or Twilio's error JSON on that surface); a caller that left while queued
 * gets an empty 499, which nobody reads.
 */
export function admission(
  control: AdmissionControl,
  options: {
    refuse: (c: Context<AppEnv>, err: VerifydError) => Response;
    onShed: (reason: Refusal, control: AdmissionControl) => void;
  },
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let entry = control.admit(c.req.raw.signal);
    if (entry instanceof Promise) entry = await entry;
    if (typeof entry === "string") {
      options.onShed(entry, control);
      if (entry === "client_closed") return callerGoneResponse();
      return options.refuse(c, overloadedError(entry, control.queueTimeoutMs));
    }
    c.set("admission", entry);
    try {
      await next();
    } finally {
      entry.release();
    }
  };
}
