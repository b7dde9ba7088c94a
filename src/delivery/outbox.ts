import type { Logger } from "pino";
import { minutesLeft, renderCodeMessage } from "../channels/templates.js";
import type { CodeKit } from "../core/codes.js";
import type { Clock, DeliveryJob, DeliveryResult, Dispatcher, Ids, Sender, SendResult, Store } from "../core/ports.js";

export interface OutboxOptions {
  store: Store;
  clock: Clock;
  ids: Ids;
  codes: CodeKit;
  senders: ReadonlyMap<string, Sender>;
  logger: Logger;
  /** How long a claimed delivery stays ours; after a crash it is sent again once this passes. @default 30_000 */
  leaseMs?: number;
  /** How long a start waits for the first provider before answering (the outbox keeps going). @default 2_000 */
  dispatchBudgetMs?: number;
  /** Attempts on one route step before falling back to the next. @default 5 */
  maxTriesPerStep?: number;
  /** How many due deliveries one worker pass claims. @default 32 */
  batchSize?: number;
}

/** 1 s, 2 s, 4 s … capped at 60 s, with ±20 % jitter so retries of a burst spread out. */
export function retryDelayMs(tries: number, random: () => number = Math.random): number {
  const base = Math.min(60_000, 1000 * 2 ** Math.max(0, tries - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export interface Outbox extends Dispatcher {
  /** One worker pass: expire due verifications, claim due deliveries, send them. Returns deliveries handled. */
  runOnce(): Promise<number>;
  start(pollMs?: number): void;
  /** Stops polling and waits up to `graceMs` for sends under way, then aborts them. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The delivery outbox. A start writes its delivery row before any network call; this module
 * claims rows (with a lease, so a crash mid-send only delays the send), renders and sends them,
 * and records the outcome: accepted, retry later, or failed with a fallback to the next route step.
 */
export function createOutbox(options: OutboxOptions): Outbox {
  const { store, clock, ids, codes, senders, logger } = options;
  const leaseMs = options.leaseMs ?? 30_000;
  const budgetMs = options.dispatchBudgetMs ?? 2_000;
  const maxTries = options.maxTriesPerStep ?? 5;
  const batchSize = options.batchSize ?? 32;
  const inFlight = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;
  let passRunning = false;
  const shutdown = new AbortController();

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    promise.finally(() => inFlight.delete(promise)).catch(() => {});
    return promise;
  };

  function decide(job: DeliveryJob, result: SendResult, now: number): DeliveryResult {
    if (result.kind === "accepted") {
      return { deliveryId: job.id, status: "accepted", providerMessageId: result.providerMessageId };
    }
    const error = { errorCode: result.error.code, errorMessage: result.error.message };
    if (result.kind === "retry") {
      const nextTryAt = now + Math.max(result.retryAfterMs ?? 0, retryDelayMs(job.tries));
      if (job.tries < maxTries && nextTryAt < job.expiresAt) {
        return { deliveryId: job.id, status: "queued", nextTryAt, ...error };
      }
    }
    const next = job.route[job.step + 1];
    if (next) {
      const fallback = { id: ids.delivery(), verificationId: job.verificationId, step: job.step + 1, ...next, nextTryAt: now };
      return { deliveryId: job.id, status: "failed", fallback, ...error };
    }
    return { deliveryId: job.id, status: "failed", failVerification: true, ...error };
  }

  async function send(job: DeliveryJob): Promise<SendResult> {
    const sender = senders.get(job.provider);
    if (!sender) return { kind: "misconfigured", error: { code: "provider_not_configured", message: job.provider } };
    const now = clock.now();
    const code = codes.open(job.verificationId, job.sealedCode);
    const message = {
      deliveryId: job.id,
      verificationId: job.verificationId,
      to: job.to,
      channel: job.channel,
      code,
      body: renderCodeMessage({ serviceName: job.serviceName, code, minutesLeft: minutesLeft(job.expiresAt, now) }),
      locale: job.locale ?? "en",
      expiresAt: job.expiresAt,
    };
    try {
      return await sender.send(message, shutdown.signal);
    } catch (err) {
      // An adapter bug or an unexpected throw is treated as transient; the row stays safe in the outbox.
      return { kind: "retry", error: { code: "adapter_error", message: (err as Error).message } };
    }
  }

  /** Sends one claimed job, records the outcome, and chases a fallback step at once. */
  async function deliver(job: DeliveryJob): Promise<void> {
    const result = await send(job);
    const now = clock.now();
    const decision = decide(job, result, now);
    await store.recordDeliveryResult(decision, now);
    const log = {
      delivery_id: job.id,
      verification_id: job.verificationId,
      provider: job.provider,
      channel: job.channel,
      step: job.step,
      try: job.tries,
      outcome: result.kind,
      ...(result.kind === "accepted" ? {} : { error_code: result.error.code }),
    };
    if (result.kind === "accepted") logger.info(log, "delivery accepted");
    else logger.warn(log, decision.status === "queued" ? "delivery will be retried" : "delivery failed");
    if (decision.fallback) await dispatchNow(decision.fallback.id);
  }

  async function dispatchNow(deliveryId: string): Promise<void> {
    const job = await store.claimDelivery(deliveryId, clock.now(), leaseMs);
    if (job) await deliver(job);
  }

  return {
    async dispatch(deliveryId) {
      const work = track(dispatchNow(deliveryId)).catch((err) => {
        logger.error({ err, delivery_id: deliveryId }, "dispatch failed; the outbox worker will retry");
      });
      let timeout: NodeJS.Timeout | undefined;
      const budget = new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, budgetMs);
      });
      await Promise.race([work, budget]);
      clearTimeout(timeout);
    },

    async runOnce() {
      const now = clock.now();
      await store.expireDue(now, 500);
      const jobs = await store.claimDueDeliveries(now, leaseMs, batchSize);
      await Promise.all(jobs.map((job) => track(deliver(job))));
      return jobs.length;
    },

    start(pollMs = 1000) {
      timer = setInterval(() => {
        if (passRunning) return;
        passRunning = true;
        // The whole pass is tracked, so stop() also waits for rows being claimed right now.
        track(this.runOnce())
          .catch((err) => logger.error({ err }, "outbox pass failed"))
          .finally(() => {
            passRunning = false;
          });
      }, pollMs);
      timer.unref();
    },

    async stop(graceMs = 10_000) {
      if (timer) clearInterval(timer);
      // Sends under way get a grace period to finish; then they are aborted and stay in the outbox.
      let grace: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        grace = setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.allSettled([...inFlight]), expired]);
      clearTimeout(grace);
      shutdown.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}
