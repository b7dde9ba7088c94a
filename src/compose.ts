import type { Logger } from "pino";
import { ensureDefaultService, ensureDevAdminKey, resolveSecret } from "./bootstrap.js";
import { ADAPTER_TYPES } from "./channels/adapter-types.js";
import { buildSenders, checkRouteChannels, type LazyAdapterType } from "./channels/registry.js";
import type { Config } from "./config/env.js";
import { createAdminService } from "./core/admin.js";
import { createAnalyticsService } from "./core/analytics.js";
import { createChannelMemory } from "./core/channel-memory.js";
import { createCodeKit } from "./core/codes.js";
import { createConversionGuard } from "./core/conversion.js";
import { createEventLog } from "./core/event-log.js";
import { createEventReceivers } from "./core/event-receivers.js";
import { createEventSink } from "./core/events.js";
import { createFactorService } from "./core/factors.js";
import { createSendLimits } from "./core/guards.js";
import { createInboundService } from "./core/inbound.js";
import type { InboundMessage } from "./core/model.js";
import { createChangeNotifier } from "./core/notifier.js";
import { createOptOutService } from "./core/opt-outs.js";
import type { Clock, Ids } from "./core/ports.js";
import { priceFingerprint } from "./core/prices.js";
import { providersReadiness } from "./core/readiness.js";
import { createRetentionService } from "./core/retention.js";
import { createRoutePlanner } from "./core/route-planner.js";
import type { Sender } from "./core/sender.js";
import { createTotpSealer } from "./core/totp.js";
import { createVerificationService } from "./core/verification/index.js";
import { createDelegatedCodes } from "./delivery/delegated.js";
import { createEventsWorker } from "./delivery/events-worker.js";
import { createOutbox, type Outbox } from "./delivery/outbox.js";
import { createAdmissionControl } from "./http/admission.js";
import { createApp } from "./http/app.js";
import { admissionGate, type RequestListener, shedRecorder } from "./http/front-door.js";
import { createAuthenticator } from "./http/middleware/auth.js";
import type { ProblemInput } from "./http/problem.js";
import { failingReadiness } from "./http/routes/health.js";
import { createLogger } from "./observability/logger.js";
import { createPromMetrics } from "./observability/metrics.js";
import { refusalLog } from "./observability/refusal-log.js";
import { systemClock, uuidIds } from "./runtime.js";
import { openBackends } from "./store/backends.js";
import { VERSION } from "./version.js";

export interface RuntimeOptions {
  logger?: Logger;
  clock?: Clock;
  ids?: Ids;
  /** Extra or replacement senders by provider name (tests plug capturing senders in here). */
  senders?: Sender[];
  /** More adapter types for the config file's providers (tests register fakes here). */
  adapterTypes?: Record<string, LazyAdapterType>;
  /** Uniform in [0, 1) for learned routes' exploration (a seeded source in tests and the traffic model). */
  random?: () => number;
}

export interface Runtime {
  app: ReturnType<typeof createApp>;
  /** Wraps the server's request listener in admission control (returns it as it is when that is off). */
  admit(listener: RequestListener): RequestListener;
  outbox: Outbox;
  logger: Logger;
  /**
   * In development without `VERIFYD_ADMIN_KEY`, creates the one-time admin key (null when one exists).
   * Called once the server listens: a start that fails before that must not use up the key unseen.
   */
  createDevAdminKey(): Promise<string | null>;
  /** What `/readyz` checks: `null` when ready, else the problem it answers (the probe port's thread serves it). */
  readiness(): Promise<ProblemInput | null>;
  /** Stops the worker (sends under way get `graceMs`), closes adapters and the store. */
  close(graceMs?: number): Promise<void>;
}

/** The one composition root: real adapters wired from the configuration. No sockets are opened here. */
export async function buildRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidIds;

  const secret = resolveSecret(config);
  const codes = createCodeKit(secret);
  // Phone numbers are stored as blind indexes beside sealed copies (docs/security.md, Data at rest).
  // A serving process checkpoints SQLite's WAL off the request path (store/sqlite/checkpointer.ts).
  const backends = await openBackends(config, config.limits, clock.now(), {
    checkpoint: config.sqliteCheckpoint,
    onBackgroundFailure: (what, err) => logger.error({ err }, `${what} failed; checkpoints run inline from now on`),
  });
  const { store, limiter } = backends;
  const admission = config.admission.maxInFlight > 0 ? createAdmissionControl({ ...config.admission, clock }) : undefined;
  // The configured price table becomes a new version only when it changed: old attempts keep their prices.
  if (config.prices) await store.registerPriceTable(config.prices, priceFingerprint(config.prices), clock.now());
  const analytics = createAnalyticsService({ store, clock, currency: config.prices?.currency ?? null });
  const metrics = createPromMetrics({
    costs: config.prices
      ? async () => {
          const to = clock.now();
          const { groups } = await analytics.funnel({ from: to - config.costMetricsWindowMs, to, groupBy: COST_KEYS });
          return groups;
        }
      : undefined,
    queuedDeliveries: () => store.countQueuedDeliveries(),
    pendingEvents: () => store.countPendingEvents(),
    admission: admission && (() => admission),
  });

  await ensureDefaultService(store, config, clock);

  // Event webhooks to the integrator (each service's own receiver, else the global one): queued with
  // the outcome, sent by the outbox's worker pass.
  const receivers = createEventReceivers({ store, secret, fallback: config.events, clock });
  // While the front door refuses callers, webhooks wait (one batch a pass): their CPU answers callers.
  const holdBack = admission && (() => admission.shedding());
  const eventsWorker = createEventsWorker({ store, clock, receivers, logger, holdBack });
  const events = createEventSink({
    store,
    clock,
    hasReceiver: receivers.hasReceiver,
    ids: () => ids.event(),
    handOff: eventsWorker.handOff,
  });
  // Receipts that arrive on an adapter's own connection (SMPP) reach the outbox once it exists.
  const statusSink = lateBound<StatusSink>("the outbox is not running yet");
  const notifier = createChangeNotifier();
  const inbound = createInboundService({
    store,
    clock,
    ids,
    codes,
    limiter,
    notifier,
    logger,
    events,
    available: [...new Set(config.inboundNumbers.map((n) => n.channel))],
  });
  const optOuts = createOptOutService({ store, clock, logger });
  // Every adapter (webhooks, SMPP) delivers verified user messages here: a STOP/START keyword
  // records or lifts an opt-out; any other message may carry a code that approves a verification.
  const onInbound = async (provider: string, message: InboundMessage) => {
    logger.info(
      { provider, channel: message.channel, provider_message_id: message.providerMessageId },
      "inbound message received",
    );
    if (await optOuts.receive(provider, message)) return;
    await inbound.receive(provider, message);
  };
  const built = await buildSenders(
    config,
    { ...ADAPTER_TYPES, ...options.adapterTypes },
    {
      clock,
      publicUrl: config.publicUrl,
      onStatus: async (provider, update) => {
        await statusSink.get().applyStatus(provider, update); // before the outbox runs, the adapter has the receipt sent again
      },
      onInbound,
      onWarning: (provider, message) => logger.warn({ provider }, message),
    },
  );
  const senders = new Map<string, Sender>();
  for (const sender of [...built, ...(options.senders ?? [])]) senders.set(sender.provider, sender);
  try {
    // A step whose provider cannot send its channel would fail every send: refused before anything starts.
    checkRouteChannels(config, senders);
  } catch (err) {
    for (const sender of built) await sender.close?.();
    await backends.close();
    throw err;
  }

  // The lease must outlive the slowest send, or a slow send would be claimed and sent twice.
  const timeouts = Object.values(config.providers).map((p) => Number(p.timeoutMs ?? 5_000));
  if (config.httpChannel.url) timeouts.push(config.httpChannel.timeoutMs);
  const leaseMs = Math.max(config.deliveryLeaseMs, 2 * Math.max(0, ...timeouts));
  const retention = createRetentionService({ store, clock, retentionMs: config.retentionMs, logger });
  const outbox = createOutbox({
    store,
    clock,
    ids,
    codes,
    senders,
    logger,
    leaseMs,
    dispatchBudgetMs: config.dispatchBudgetMs,
    breakerFailures: config.breaker.failures,
    breakerCooldownMs: config.breaker.cooldownMs,
    metrics,
    retention,
    events,
    eventsWorker,
    sendLimits: createSendLimits(limiter),
    channelMemory:
      config.routing.memoryMs > 0 ? createChannelMemory({ store, clock, memoryMs: config.routing.memoryMs }) : undefined,
  });
  statusSink.bind(outbox);
  const delegated = createDelegatedCodes(store, senders);
  // Refusals of the abuse rules, summed up in a warning every 10 s (each is counted in the metrics).
  const refusals = refusalLog(logger, clock);
  const conversion = createConversionGuard({
    store: backends.conversion,
    clock,
    settings: config.conversion,
    mode: config.screening.mode,
    allowNumbers: config.screening.allowNumbers,
    prefixDigits: config.screening.prefixDigits,
    logger,
    refusals,
    metrics,
  });
  // Learned route order (a service's route_mode) and channel memory: both off unless configured.
  const routePlanner = createRoutePlanner({
    store,
    clock,
    random: options.random ?? Math.random,
    currency: config.prices?.currency ?? null,
    memoryMs: config.routing.memoryMs,
    learning: {
      windowMs: config.routing.learnWindowMs,
      minTries: config.routing.learnMinTries,
      explore: config.routing.explore,
    },
    logger,
  });
  const verifications = createVerificationService({
    store,
    clock,
    ids,
    codes,
    limiter,
    dispatcher: outbox,
    delegated,
    notifier,
    metrics,
    events,
    screening: { rules: config.screening, logger, refusals },
    conversion,
    routePlanner,
  });
  const factors = createFactorService({ store, clock, ids, sealer: createTotpSealer(secret) });
  const authenticate = createAuthenticator({ store, clock, defaults: config.defaults, adminKey: config.adminKey });
  const admin = createAdminService({
    store,
    clock,
    ids,
    defaults: config.defaults,
    sealWebhookSecret: receivers.seal,
    webhookChanged: receivers.forget,
    providers: new Map([...senders].map(([name, sender]) => [name, sender.channels])),
  });
  const readinessProbes = [() => providersReadiness(store, new Set(senders.keys()))];
  const app = createApp({
    admin,
    events: createEventLog({ store, clock }),
    verifications,
    factors,
    authenticate,
    limiter,
    store,
    clock,
    logger,
    trustProxyHops: config.trustProxyHops,
    maxBodyBytes: config.maxBodyBytes,
    version: VERSION,
    inbound,
    conversion,
    optOuts,
    retention,
    analytics,
    inboundNumbers: config.inboundNumbers,
    notifier,
    metrics,
    metricsEndpoint: { render: metrics.render, contentType: metrics.contentType, token: config.metricsToken },
    readinessProbes,
    webhooks: {
      senders,
      applyStatus: (p, u) => outbox.applyStatus(p, u),
      onInbound,
      publicUrl: config.publicUrl,
      logger,
    },
  });

  return {
    app,
    outbox,
    logger,
    admit: admission
      ? admissionGate(admission, { onShed: shedRecorder(metrics, logger, clock), logger, maxBodyBytes: config.maxBodyBytes })
      : (listener) => listener,
    readiness: () => failingReadiness({ store, probes: readinessProbes }),
    createDevAdminKey: () => ensureDevAdminKey(store, config, clock, ids),
    async close(graceMs?: number) {
      refusals.flush();
      await outbox.stop(graceMs);
      for (const sender of built) await sender.close?.();
      await backends.close();
    },
  };
}

/** The keys `/metrics` reports cost per approval by. */
const COST_KEYS = ["country", "channel", "provider"] as const;

/** Where delivery receipts go: the outbox, once it runs. */
type StatusSink = Pick<Outbox, "applyStatus">;

/**
 * A port whose implementation is built after its first users: the adapters need a receipt sink
 * before the outbox that receives receipts exists (the outbox needs their senders). Used before
 * `bind`, `get` throws `unbound`.
 */
function lateBound<T>(unbound: string) {
  let target: T | undefined;
  return {
    bind(value: T): void {
      target = value;
    },
    get(): T {
      if (target === undefined) throw new Error(unbound);
      return target;
    },
  };
}
