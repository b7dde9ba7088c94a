import type { Logger } from "pino";
import { callProvider } from "../channels/http-client.js";
import type { EventReceiver, EventReceivers } from "../core/event-receivers.js";
import type { EventHandOff } from "../core/events.js";
import type { Clock } from "../core/ports.js";
import type { DueEvent, EventResult } from "../core/store/events.js";
import type { Store } from "../core/store/index.js";
import { createWebhookSigner, type WebhookSigner } from "./webhook-signer.js";

/**
 * Delays before tries 2…11: exponential back-off (5 s, ×6 then ×2 up to 8 h), 23 h 43 min in all, so an
 * event is given up within a day of its first try. The first try is immediate.
 */
export const EVENT_RETRY_DELAYS_MS = [
  5_000,
  30_000,
  2 * 60_000,
  10 * 60_000,
  30 * 60_000,
  3_600_000,
  2 * 3_600_000,
  4 * 3_600_000,
  8 * 3_600_000,
  8 * 3_600_000,
] as const;
export const EVENT_MAX_TRIES = EVENT_RETRY_DELAYS_MS.length + 1;

/** Batches in flight at once in a pass (each of `batchSize` webhooks, each on its own connection). */
const LANES = 2;

export interface EventsWorkerOptions {
  store: Store;
  clock: Clock;
  receivers: Pick<EventReceivers, "resolve">;
  logger: Logger;
  /** @default 5_000 */
  timeoutMs?: number;
  /** @default 32 */
  batchSize?: number;
  /** How many batches one pass may send back to back. @default 32 */
  maxBatchesPerPass?: number;
  signal?: AbortSignal;
  /**
   * While true (the server is refusing callers for want of capacity), a pass sends one batch and
   * stops: the events wait in the store (they are sent at least once either way) and their CPU goes
   * to answering callers. One batch a pass keeps them moving through a long overload.
   */
  holdBack?: () => boolean;
}

type ReceiverLookup = (serviceId: string | null) => Promise<EventReceiver | null>;

export interface EventsWorker {
  /** Sends due events once each (claimed from the store, and fresh ones handed off); returns how many were tried. */
  runOnce(): Promise<number>;
  /** The most one pass tries: a pass that tried this many stopped with more events due. */
  readonly passLimit: number;
  /**
   * Fresh events handed straight to this worker (see `EventHandOff`), at most `passLimit` waiting at
   * once. Open while `accepting` (the outbox opens it when it starts and closes it when it stops):
   * otherwise every event is queued due and claimed, as by a process that does not send them.
   */
  readonly handOff: EventHandOff & { accepting: boolean };
}

/**
 * Posts queued events to their service's receiver with Standard Webhooks headers. The event id is the
 * `webhook-id` on every try, so the receiver can de-duplicate. 2xx = delivered; 410 = the endpoint is
 * gone (dead at once); anything else (an error status, a timeout, no answer) retries on the schedule,
 * then the event is dead until redelivered through the API.
 */
export function createEventsWorker(options: EventsWorkerOptions): EventsWorker {
  const { store, clock, receivers, logger } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const batchSize = options.batchSize ?? 32;
  const maxBatchesPerPass = options.maxBatchesPerPass ?? 32;
  const signal = options.signal ?? new AbortController().signal;
  const leaseMs = 2 * timeoutMs + 1_000;
  const handOff = freshEvents(batchSize * maxBatchesPerPass, leaseMs, timeoutMs);
  const signers = new Map<string, WebhookSigner>();
  const signerFor = (secret: string) => {
    const known = signers.get(secret);
    if (known) return known;
    const signer = createWebhookSigner(secret);
    signers.set(secret, signer);
    return signer;
  };

  async function tryOnce(event: DueEvent, receiverOf: ReceiverLookup): Promise<string | null> {
    const receiver = await receiverOf(event.serviceId);
    // Kept on the schedule rather than dropped: a URL configured meanwhile still gets the event.
    if (!receiver) return "no_receiver";
    const sentAt = new Date(clock.now());
    const headers: Record<string, string> = { "content-type": "application/json", "webhook-id": event.id };
    headers["webhook-timestamp"] = String(Math.floor(sentAt.getTime() / 1000));
    if (receiver.secret) headers["webhook-signature"] = signerFor(receiver.secret).sign(event.id, sentAt, event.payload);
    const response = await callProvider({ url: receiver.url, headers, body: event.payload, timeoutMs, signal });
    if (response.kind === "response") return response.ok ? null : `http_${response.status}`;
    return response.error.code;
  }

  /** One try of the event, and what to record of it. */
  async function send(event: DueEvent, receiverOf: ReceiverLookup): Promise<EventResult> {
    const error = await tryOnce(event, receiverOf);
    const tries = event.tries + 1;
    const now = clock.now();
    const fields = { event_id: event.id, type: event.type, service_id: event.serviceId, tries };
    if (error === null) return { id: event.id, status: "delivered", tries, lastError: null };
    if (error === "http_410" || tries >= EVENT_MAX_TRIES) {
      logger.warn({ ...fields, error }, "event webhook dead; no more tries until redelivered");
      return { id: event.id, status: "dead", tries, lastError: error };
    }
    const delay = EVENT_RETRY_DELAYS_MS[tries - 1] ?? 8 * 3_600_000;
    logger.info({ ...fields, error }, "event webhook not accepted; will retry");
    return { id: event.id, status: "pending", tries, nextTryAt: now + delay, lastError: error };
  }

  /** Sends a claimed batch, then records every result in one store call. */
  async function sendBatch(due: DueEvent[]): Promise<void> {
    // A batch is mostly one service's events: its receiver (a store read and a secret to open) is
    // looked up once per batch. Per batch, not longer, so a receiver changed through the API applies
    // from the next batch on, on every instance.
    const receiverLookups = new Map<string | null, Promise<EventReceiver | null>>();
    const receiverOf: ReceiverLookup = (serviceId) => {
      let lookup = receiverLookups.get(serviceId);
      if (!lookup) {
        lookup = receivers.resolve(serviceId);
        receiverLookups.set(serviceId, lookup);
      }
      return lookup;
    };
    const results = await Promise.all(
      due.map((event) =>
        send(event, receiverOf).catch((err) => {
          // Not recorded: the event stays leased and is tried again once the lease runs out.
          logger.error({ err, event_id: event.id }, "event webhook send failed");
          return null;
        }),
      ),
    );
    // Recorded after the whole batch: a crash before this line re-sends the batch when its lease
    // runs out (at least once; the receiver de-duplicates on `webhook-id`).
    const recorded = results.filter((r): r is EventResult => r !== null);
    if (recorded.length > 0) await store.recordEventResults(recorded, clock.now());
  }

  return {
    passLimit: batchSize * maxBatchesPerPass,
    handOff,
    async runOnce() {
      // Batch after batch while full ones come back, so the worker keeps up with more than one batch
      // of events per poll; bounded, so one pass cannot run for ever behind a busy service. Two
      // batches are in flight at once: with one, a pass went no faster than 32 events per receiver
      // round trip (about 1 000 a second to a receiver answering in 30 ms).
      let sent = 0;
      let batches = 0;
      let drained = false;
      let storeDrained = false;
      /**
       * Due events claimed from the store, topped up with fresh ones. While the store has due events
       * (retries, events queued by another process or before a restart) they get at least half of
       * each batch, so a steady stream of fresh events cannot starve them.
       */
      const nextBatch = async (): Promise<DueEvent[]> => {
        const now = clock.now();
        const share = storeDrained ? 0 : batchSize - Math.min(handOff.waiting(now), batchSize >> 1);
        // The lease outlives a send, so a slow receiver is not sent the same event twice by the next pass.
        const claimed = share > 0 ? await store.claimDueEvents(now, share, leaseMs) : [];
        if (claimed.length < share) storeDrained = true;
        return claimed.concat(handOff.take(clock.now(), batchSize - claimed.length));
      };
      const lane = async () => {
        while (!drained && batches < maxBatchesPerPass && !signal.aborted) {
          if (batches > 0 && options.holdBack?.()) return;
          batches++;
          const due = await nextBatch();
          if (due.length < batchSize) drained = true;
          await sendBatch(due);
          sent += due.length;
        }
      };
      await Promise.all(Array.from({ length: LANES }, lane));
      return sent;
    },
  };
}

/**
 * The fresh events handed to the worker, oldest first. An event still waiting when less than a
 * send's time is left of its lease is dropped here: the store's claim sends it once the lease runs
 * out, so it is never sent twice at once.
 */
function freshEvents(capacity: number, leaseMs: number, timeoutMs: number) {
  let queue: { event: DueEvent; leaseUntil: number }[] = [];
  let reserved = 0;
  let accepting = false;
  const dropStale = (now: number) => {
    const first = queue.findIndex((f) => f.leaseUntil - now > timeoutMs + 1_000);
    if (first !== 0) queue = first < 0 ? [] : queue.slice(first);
  };
  return {
    get accepting() {
      return accepting;
    },
    set accepting(open: boolean) {
      accepting = open;
    },
    reserve(now: number): number | null {
      if (!accepting || reserved + queue.length >= capacity) return null;
      reserved++;
      return now + leaseMs;
    },
    give(event: DueEvent, leaseUntil: number) {
      reserved--;
      queue.push({ event, leaseUntil });
    },
    release() {
      reserved--;
    },
    /** How many wait to be sent. */
    waiting(now: number): number {
      dropStale(now);
      return queue.length;
    },
    /** Up to `limit` of them, to send now. */
    take(now: number, limit: number): DueEvent[] {
      dropStale(now);
      if (limit <= 0 || queue.length === 0) return [];
      return queue.splice(0, limit).map((f) => f.event);
    },
  };
}
