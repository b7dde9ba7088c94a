import type { Logger } from "pino";
import { Webhook } from "standardwebhooks";
import { callProvider } from "../channels/http-client.js";
import type { DueEvent } from "../core/events.js";
import type { Clock, Store } from "../core/ports.js";

/** Delays before tries 2…8 (the Standard Webhooks schedule); the first try is immediate. */
export const EVENT_RETRY_DELAYS_MS = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
] as const;
export const EVENT_MAX_TRIES = EVENT_RETRY_DELAYS_MS.length + 1;

export interface EventsWorkerOptions {
  store: Store;
  clock: Clock;
  url: string;
  /** `whsec_…`; without it events go unsigned (development only). */
  secret: string | undefined;
  logger: Logger;
  /** @default 5_000 */
  timeoutMs?: number;
  /** @default 32 */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface EventsWorker {
  /** Sends due events once each; returns how many were tried. */
  runOnce(): Promise<number>;
}

/**
 * Posts queued events to the integrator with Standard Webhooks headers. The event id is the
 * `webhook-id` on every try, so the receiver can de-duplicate. 2xx = delivered; 410 = the endpoint
 * is gone (no more tries); anything else retries on the schedule, then the event is failed.
 */
export function createEventsWorker(options: EventsWorkerOptions): EventsWorker {
  const { store, clock, url, logger } = options;
  const signer = options.secret ? new Webhook(options.secret) : undefined;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const batchSize = options.batchSize ?? 32;
  const signal = options.signal ?? new AbortController().signal;

  async function send(event: DueEvent): Promise<void> {
    const sentAt = new Date(clock.now());
    const headers: Record<string, string> = { "content-type": "application/json", "webhook-id": event.id };
    headers["webhook-timestamp"] = String(Math.floor(sentAt.getTime() / 1000));
    if (signer) headers["webhook-signature"] = signer.sign(event.id, sentAt, event.payload);
    const response = await callProvider({ url, headers, body: event.payload, timeoutMs, signal });
    const tries = event.tries + 1;
    const now = clock.now();
    const fields = { event_id: event.id, type: event.type, tries };
    if (response.kind === "response" && response.ok) {
      await store.recordEventResult({ id: event.id, status: "delivered", tries }, now);
      return;
    }
    const error = response.kind === "response" ? `http_${response.status}` : response.error.code;
    if ((response.kind === "response" && response.status === 410) || tries >= EVENT_MAX_TRIES) {
      logger.warn({ ...fields, error }, "event webhook failed; no more tries");
      await store.recordEventResult({ id: event.id, status: "failed", tries }, now);
      return;
    }
    const delay = EVENT_RETRY_DELAYS_MS[tries - 1] ?? 10 * 3_600_000;
    logger.info({ ...fields, error }, "event webhook not accepted; will retry");
    await store.recordEventResult({ id: event.id, status: "pending", tries, nextTryAt: now + delay }, now);
  }

  return {
    async runOnce() {
      // The lease outlives a send, so a slow receiver is not sent the same event twice by the next pass.
      const due = await store.claimDueEvents(clock.now(), batchSize, 2 * timeoutMs + 1_000);
      await Promise.all(
        due.map((event) => send(event).catch((err) => logger.error({ err, event_id: event.id }, "event webhook send failed"))),
      );
      return due.length;
    },
  };
}
