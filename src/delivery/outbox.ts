import type { Logger } from "pino";
import type { ChannelMemory } from "../core/channel-memory.js";
import type { CodeKit } from "../core/codes.js";
import type { EventSink } from "../core/events.js";
import type { SendLimits } from "../core/guards.js";
import { type Metrics, noopMetrics } from "../core/metrics.js";
import type { StatusUpdate } from "../core/model.js";
import type { Clock, Dispatcher, DispatchOutcome, Ids } from "../core/ports.js";
import type { Sender, SendResult } from "../core/sender.js";
import type { DeliveryJob, DeliveryResult, NewDelivery, SentDelivery } from "../core/store/deliveries.js";
import type { Store } from "../core/store/index.js";
import { createBreakers } from "./breakers.js";
import { createDeliveryEvents } from "./delivery-events.js";
import type { EventsWorker } from "./events-worker.js";
import { render } from "./message.js";

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
  /** Attempts on one provider before the next provider or step takes over. @default 5 */
  maxTriesPerStep?: number;
  /** How many due deliveries one worker pass claims. @default 32 */
  batchSize?: number;
  /** Consecutive transient failures that open a provider's circuit. @default 5 */
  breakerFailures?: number;
  /** How long an open circuit skips its provider before letting one send through. @default 30_000 */
  breakerCooldownMs?: number;
  /** Retention purge, run from the worker pass (it purges at most once an hour itself). */
  retention?: { purgeIfDue(): Promise<unknown> };
  metrics?: Metrics;
  /** Event webhooks: the `delivery.*` events and `verification.expired` are emitted here; the worker pass sends due events. */
  events?: EventSink;
  /** Its hand-off of fresh events (if any) is open while the outbox runs (`start` to `stop`). */
  eventsWorker?: Pick<EventsWorker, "runOnce" | "passLimit"> & { handOff?: EventsWorker["handOff"] };
  /**
   * Limits counted per send (calls per number), so a fallback counts like a first send: `check`
   * may refuse a send as if its provider had rejected it; `sent` counts an accepted one.
   */
  sendLimits?: SendLimits;
  /** Channel memory (`VERIFYD_CHANNEL_MEMORY`): delivered receipts and failures about the recipient are recorded. */
  channelMemory?: ChannelMemory;
}

/** How many batches of due deliveries one worker pass may send back to back. */
const MAX_BATCHES_PER_PASS = 32;

/** 1 s, 2 s, 4 s … capped at 60 s, with ±20 % jitter so retries of a burst spread out. */
export function retryDelayMs(tries: number, random: () => number = Math.random): number {
  const base = Math.min(60_000, 1000 * 2 ** Math.max(0, tries - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export interface Outbox extends Dispatcher {
  /** One worker pass: expire verifications, fall over where receipts are overdue, send due deliveries. */
  runOnce(): Promise<number>;
  /** Applies a provider's delivery status (webhook or DLR) and falls over on failure. */
  applyStatus(provider: string, update: StatusUpdate): Promise<SentDelivery | null>;
  start(pollMs?: number): void;
  /** Stops polling and waits up to `graceMs` for sends under way, then aborts them. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The delivery outbox. A start writes its delivery row before any network call; this module
 * claims rows (with a lease, so a crash mid-send only delays the send), renders and sends them,
 * and moves the route on: another provider of the same step when one is misconfigured, exhausted
 * or its circuit is open; the next step on a permanent rejection, a capability miss, a failed
 * receipt, or no receipt within the step's `fallbackAfterMs`.
 */
export function createOutbox(options: OutboxOptions): Outbox {
  const { store, clock, ids, codes, senders, logger } = options;
  const metrics = options.metrics ?? noopMetrics;
  const leaseMs = options.leaseMs ?? 30_000;
  const budgetMs = options.dispatchBudgetMs ?? 2_000;
  const maxTries = options.maxTriesPerStep ?? 5;
  const batchSize = options.batchSize ?? 32;
  const breakers = createBreakers(options.breakerFailures ?? 5, options.breakerCooldownMs ?? 30_000);
  const inFlight = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const shutdown = new AbortController();
  const deliveryEvents = createDeliveryEvents(options.events, logger);

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    promise.finally(() => inFlight.delete(promise)).catch(() => {});
    return promise;
  };

  const deliveryFor = (verificationId: string, step: number, provider: string, route: DeliveryJob["route"]): NewDelivery => ({
    id: ids.delivery(),
    verificationId,
    step,
    channel: route[step]?.channel ?? "sms",
    provider,
    nextTryAt: clock.now(),
  });

  /** The next delivery after `provider` on `step` gave up: its step's next provider, else the next step. */
  function nextAfter(job: Pick<DeliveryJob, "verificationId" | "step" | "provider" | "route">, sameStep: boolean) {
    const providers = job.route[job.step]?.providers ?? [];
    const nextProvider = sameStep ? providers[providers.indexOf(job.provider) + 1] : undefined;
    if (nextProvider) return deliveryFor(job.verificationId, job.step, nextProvider, job.route);
    const nextStep = job.route[job.step + 1];
    const first = nextStep?.providers[0];
    return first ? deliveryFor(job.verificationId, job.step + 1, first, job.route) : undefined;
  }

  function decide(job: DeliveryJob, result: SendResult, now: number): DeliveryResult {
    if (result.kind === "accepted") {
      const step = job.route[job.step];
      const hasNext = job.route.length > job.step + 1;
      const fallbackAt = step?.fallbackAfterMs && hasNext ? now + step.fallbackAfterMs : null;
      return { deliveryId: job.id, status: "accepted", providerMessageId: result.providerMessageId, fallbackAt };
    }
    const error = { errorCode: result.error.code, errorMessage: result.error.message };
    const nextTryAt = now + Math.max(result.kind === "retry" ? (result.retryAfterMs ?? 0) : 0, retryDelayMs(job.tries));
    const retryLater = { deliveryId: job.id, status: "queued" as const, nextTryAt, ...error };
    const canRetry = job.tries < maxTries && nextTryAt < job.expiresAt;
    if (result.kind === "retry" && canRetry) return retryLater;
    // A rejection is about the recipient on this channel: other providers of the step would fail alike.
    const fallback = nextAfter(job, result.kind !== "rejected");
    if (fallback) return { deliveryId: job.id, status: "failed", fallback, ...error };
    // An open circuit with nowhere else to go: wait for it rather than fail the verification.
    if (result.error.code === "circuit_open" && canRetry) return retryLater;
    return { deliveryId: job.id, status: "failed", failVerification: true, ...error };
  }

  async function send(job: DeliveryJob): Promise<SendResult> {
    const sender = senders.get(job.provider);
    if (!sender) return { kind: "misconfigured", error: { code: "provider_not_configured", message: job.provider } };
    // A step the conversion guard withheld at the start: refused like a 403 `blocked`, for the same reasons.
    const withheld = job.route[job.step]?.withheld;
    if (withheld?.length) {
      return { kind: "rejected", error: { code: "blocked", message: `the destination is refused: ${withheld.join(", ")}` } };
    }
    // A rejection: the route moves on to its next step, whose channel may still be allowed.
    const optedOut = job.optedOut ? job.optedOut.has(job.channel) : await store.isOptedOut(job.to, job.channel);
    if (optedOut) {
      return { kind: "rejected", error: { code: "opted_out", message: `the destination opted out of ${job.channel}` } };
    }
    if (sender.capability) {
      const capability = await sender.capability(job.to, job.channel, shutdown.signal).catch(() => "unknown" as const);
      if (capability === "not_capable") {
        return { kind: "rejected", error: { code: "not_capable", message: `${job.to} cannot receive ${job.channel}` } };
      }
    }
    const refused = await options.sendLimits?.check(job);
    if (refused) return refused;
    const message = render(job, job.code ?? codes.open(job.verificationId, job.sealedCode), clock.now());
    return breakers.run(job.provider, async () => {
      const started = performance.now();
      try {
        return await sender.send(message, shutdown.signal);
      } finally {
        metrics.sendLatency(job.provider, (performance.now() - started) / 1000);
      }
    });
  }

  /** Sends one claimed job, records the outcome, and chases a fallback at once. True when the provider accepted it. */
  async function deliver(job: DeliveryJob): Promise<boolean> {
    const result = await send(job);
    const now = clock.now();
    const decision = decide(job, result, now);
    // The outcome, its count and its events are one store unit: one commit round, not one each.
    await store.unit(async (unit) => {
      await unit.join(store).recordDeliveryResult(decision, now);
      if (result.kind === "accepted") {
        await options.sendLimits?.sent(job);
        await deliveryEvents.sent(job, result.providerMessageId ?? null, unit);
      }
      if (decision.fallback)
        await deliveryEvents.fallbackFromJob(job, decision.fallback, decision.errorCode ?? result.kind, unit);
      if (decision.failVerification) await deliveryEvents.failed(job, decision.errorCode ?? null, unit);
    });
    metrics.delivery(job.provider, job.channel, result.kind);
    // A rejection is about this recipient on this channel (no WhatsApp account, not capable, opted out),
    // except a step the conversion guard withheld (`blocked`): that says nothing about the channel.
    if (result.kind === "rejected" && result.error.code !== "blocked")
      await options.channelMemory?.record(job.to, job.channel, "failed");
    if (decision.fallback) metrics.fallback(job.channel, decision.fallback.channel, result.kind);
    if (logger.isLevelEnabled(result.kind === "accepted" ? "info" : "warn")) logDelivery(job, result, decision);
    if (decision.fallback) await dispatchNow(decision.fallback.id);
    return result.kind === "accepted";
  }

  /** The delivery's log line: built only when its level is on, as every send of a busy server passes here. */
  function logDelivery(job: DeliveryJob, result: SendResult, decision: DeliveryResult): void {
    const plan = job.route[job.step]?.plan;
    const log = {
      delivery_id: job.id,
      verification_id: job.verificationId,
      provider: job.provider,
      channel: job.channel,
      step: job.step,
      try: job.tries,
      outcome: result.kind,
      ...(result.kind === "accepted" ? {} : { error_code: result.error.code }),
      ...(decision.fallback ? { fallback_to: `${decision.fallback.step}:${decision.fallback.provider}` } : {}),
      // Why this step is where it is in the route (learned order, channel memory), with the figures used.
      ...(plan ? { route_plan: plan } : {}),
    };
    if (result.kind === "accepted") logger.info(log, "delivery accepted");
    else logger.warn(log, decision.status === "queued" ? "delivery will be retried" : "delivery failed");
  }

  async function dispatchNow(deliveryId: string): Promise<boolean> {
    const job = await store.claimDelivery(deliveryId, clock.now(), leaseMs);
    return job ? deliver(job) : false;
  }

  /** Moves a sent delivery's verification to its next step (failed receipt, or no receipt in time). */
  async function fallOver(sent: SentDelivery, reason: string): Promise<void> {
    if (!sent.onCurrentStep) return;
    const next = nextAfter(sent, false);
    if (!next) {
      // The last step: the verification stays pending (a resend may try again, within its limits),
      // but a failed receipt is said, as an event and a log line, rather than left to the expiry.
      if (reason === "no_delivery_receipt") return;
      await deliveryEvents.undelivered(sent, reason);
      logger.warn(
        { delivery_id: sent.deliveryId, verification_id: sent.verificationId, reason, step: sent.step },
        "the last step was not delivered; the verification stays pending for a resend",
      );
      return;
    }
    if (await store.advanceRoute({ fromDeliveryId: sent.deliveryId, next, reason, now: clock.now() })) {
      // The provider's error code stays out of the label: "failed:30005" counts as "failed".
      metrics.fallback(sent.route[sent.step]?.channel ?? next.channel, next.channel, reason.split(":")[0] ?? reason);
      await deliveryEvents.fallbackFromSent(sent, next, reason);
      logger.warn(
        { delivery_id: sent.deliveryId, verification_id: sent.verificationId, reason, next_step: next.step },
        "falling over",
      );
      await dispatchNow(next.id);
    }
  }

  /** Waits for an inline send at most the dispatch budget; the send itself goes on (tracked) past it. */
  async function withinBudget(deliveryId: string, send: Promise<boolean>): Promise<DispatchOutcome> {
    const work = track(send).then(
      (accepted): DispatchOutcome => (accepted ? "accepted" : "other"),
      (err): DispatchOutcome => {
        logger.error({ err, delivery_id: deliveryId }, "dispatch failed; the outbox worker will retry");
        return "other";
      },
    );
    let timeout: NodeJS.Timeout | undefined;
    const budget = new Promise<DispatchOutcome>((resolve) => {
      timeout = setTimeout(() => resolve("other"), budgetMs);
    });
    const outcome = await Promise.race([work, budget]);
    clearTimeout(timeout);
    return outcome;
  }

  /** One pass; `more`: it stopped at a bound with deliveries or events still due. */
  async function pass(): Promise<{ sent: number; more: boolean }> {
    const now = clock.now();
    for (const expired of await store.expireDue(now, 500)) {
      metrics.verificationExpired(expired.serviceId, expired.route[expired.currentStep]?.channel ?? null, expired.country);
      await deliveryEvents.expired(expired);
    }
    await options.retention?.purgeIfDue();
    const overdue = await store.claimOverdueFallbacks(now, batchSize);
    await Promise.all(overdue.map((sent) => track(fallOver(sent, "no_delivery_receipt"))));
    // Batch after batch while full ones come back (a provider outage piles up retries faster than
    // one batch a poll); bounded, so a pass ends. A failed send is due later, never in this pass.
    let sent = 0;
    let more = false;
    for (let batch = 0; batch < MAX_BATCHES_PER_PASS; batch++) {
      const jobs = await store.claimDueDeliveries(now, leaseMs, batchSize);
      await Promise.all(jobs.map((job) => track(deliver(job))));
      sent += jobs.length;
      more = jobs.length === batchSize;
      if (!more) break;
    }
    if (options.eventsWorker) {
      const events = options.eventsWorker;
      more ||= (await track(events.runOnce())) >= events.passLimit;
    }
    return { sent, more };
  }

  return {
    leaseMs,
    dispatch: (deliveryId) => withinBudget(deliveryId, dispatchNow(deliveryId)),
    dispatchClaimed: (job) => withinBudget(job.id, deliver(job)),

    async applyStatus(provider, update) {
      const sent = await store.recordStatus(provider, update, clock.now());
      if (!sent) {
        logger.info({ provider, provider_message_id: update.providerMessageId }, "status for an unknown message ignored");
        return null;
      }
      const channel = sent.route[sent.step]?.channel;
      if (channel) metrics.delivery(provider, channel, update.status);
      if (channel && sent.deliveredAfterMs !== undefined)
        metrics.timeToDelivered(provider, channel, sent.deliveredAfterMs / 1000);
      if (update.status === "delivered") await deliveryEvents.delivered(sent, update);
      if (channel && (update.status === "delivered" || update.status === "read"))
        await options.channelMemory?.record(sent.to, channel, "delivered");
      if (channel && (update.status === "failed" || update.status === "undelivered"))
        await options.channelMemory?.record(sent.to, channel, "failed");
      if (update.status === "failed" || update.status === "undelivered") {
        await track(fallOver(sent, update.errorCode ? `${update.status}:${update.errorCode}` : update.status));
      }
      return sent;
    },

    async runOnce() {
      return (await pass()).sent;
    },

    start(pollMs = 1000) {
      // The first pass runs at once (what a restart left due goes out without waiting). The next is
      // due `pollMs` after the last one ended, or at once when that one stopped at its bound with
      // more due: the bound keeps a pass short, not the worker's throughput (at one bounded pass a
      // second, event webhooks could not go out faster than 1 024 a second).
      const schedule = (delayMs: number) => {
        if (stopped) return;
        timer = setTimeout(() => {
          // The whole pass is tracked, so stop() also waits for rows being claimed right now.
          track(pass())
            .then(
              ({ more }) => more,
              (err) => {
                logger.error({ err }, "outbox pass failed");
                return false;
              },
            )
            .then((more) => schedule(more ? 0 : pollMs));
        }, delayMs);
        timer.unref();
      };
      if (options.eventsWorker?.handOff) options.eventsWorker.handOff.accepting = true;
      schedule(0);
    },

    async stop(graceMs = 10_000) {
      stopped = true;
      if (timer) clearTimeout(timer);
      // Events queued from now on are claimed by whichever worker runs next; those handed off and
      // not yet sent stay leased to this one and are claimed once their lease runs out.
      if (options.eventsWorker?.handOff) options.eventsWorker.handOff.accepting = false;
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
