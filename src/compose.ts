import type { Logger } from "pino";
import { ensureDefaultService, ensureDevAdminKey, resolveSecret } from "./bootstrap.js";
import { ADAPTER_TYPES } from "./channels/adapter-types.js";
import { type AdapterType, buildSenders } from "./channels/registry.js";
import type { Config } from "./config/env.js";
import { createAdminService } from "./core/admin.js";
import { createCodeKit } from "./core/codes.js";
import { createEventSink } from "./core/events.js";
import { createFactorService } from "./core/factors.js";
import { createInboundService } from "./core/inbound.js";
import { createChangeNotifier } from "./core/notifier.js";
import { createOptOutService } from "./core/opt-outs.js";
import type { Clock, Ids, InboundMessage, Sender } from "./core/ports.js";
import { createRetentionService } from "./core/retention.js";
import { createTotpSealer } from "./core/totp.js";
import { createVerificationService } from "./core/verification.js";
import { createDelegatedCodes } from "./delivery/delegated.js";
import { createEventsWorker } from "./delivery/events-worker.js";
import { createOutbox, type Outbox } from "./delivery/outbox.js";
import { createApp } from "./http/app.js";
import { createAuthenticator } from "./http/middleware/auth.js";
import { limitSettings } from "./limits/limiter.js";
import { createLogger } from "./observability/logger.js";
import { createPromMetrics } from "./observability/metrics.js";
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
  adapterTypes?: Record<string, AdapterType>;
  /** Called once with a freshly created development admin key. */
  onAdminKeyCreated?: (key: string) => void;
}

export interface Runtime {
  app: ReturnType<typeof createApp>;
  outbox: Outbox;
  logger: Logger;
  close(): Promise<void>;
}

/** The one composition root: real adapters wired from the configuration. No sockets are opened here. */
export async function buildRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidIds;

  const backends = await openBackends(config, limitSettings(config.limits));
  const { store, limiter } = backends;
  const metrics = createPromMetrics({ queuedDeliveries: () => store.countQueuedDeliveries() });
  const secret = resolveSecret(config);
  const codes = createCodeKit(secret);

  await ensureDefaultService(store, config, clock);
  const devKey = await ensureDevAdminKey(store, config, clock, ids);
  if (devKey) options.onAdminKeyCreated?.(devKey);

  // Event webhooks to the integrator: queued with the outcome, sent by the outbox's worker pass.
  const eventsUrl = config.events.url;
  const events = eventsUrl ? createEventSink({ store, clock }) : undefined;
  const eventsWorker = eventsUrl
    ? createEventsWorker({ store, clock, url: eventsUrl, secret: config.events.secret, logger })
    : undefined;
  // Receipts that arrive on an adapter's own connection (SMPP) reach the outbox once it exists.
  let outbox: Outbox | undefined;
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
  const built = buildSenders(
    config,
    { ...ADAPTER_TYPES, ...options.adapterTypes },
    {
      clock,
      publicUrl: config.publicUrl,
      onStatus: async (provider, update) => {
        if (!outbox) throw new Error("the outbox is not running yet"); // the adapter has the receipt sent again
        await outbox.applyStatus(provider, update);
      },
      onInbound,
    },
  );
  const senders = new Map<string, Sender>();
  for (const sender of [...built, ...(options.senders ?? [])]) senders.set(sender.provider, sender);

  // The lease must outlive the slowest send, or a slow send would be claimed and sent twice.
  const timeouts = Object.values(config.providers).map((p) => Number(p.timeoutMs ?? 5_000));
  if (config.httpChannel.url) timeouts.push(config.httpChannel.timeoutMs);
  const leaseMs = Math.max(config.deliveryLeaseMs, 2 * Math.max(0, ...timeouts));
  const retention = createRetentionService({ store, clock, retentionMs: config.retentionMs, logger });
  outbox = createOutbox({
    store,
    clock,
    ids,
    codes,
    senders,
    logger,
    leaseMs,
    dispatchBudgetMs: config.dispatchBudgetMs,
    metrics,
    retention,
    events,
    eventsWorker,
  });
  const delegated = createDelegatedCodes(store, senders);
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
    screening: { rules: config.screening, logger },
  });
  const factors = createFactorService({ store, clock, ids, sealer: createTotpSealer(secret) });
  const authenticate = createAuthenticator({ store, clock, defaults: config.defaults, adminKey: config.adminKey });
  const admin = createAdminService({ store, clock, ids, defaults: config.defaults });
  const app = createApp({
    admin,
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
    optOuts,
    retention,
    inboundNumbers: config.inboundNumbers,
    notifier,
    metrics,
    metricsEndpoint: { render: metrics.render, contentType: metrics.contentType, token: config.metricsToken },
    webhooks: {
      senders,
      applyStatus: (p, u) => (outbox as Outbox).applyStatus(p, u),
      onInbound,
      publicUrl: config.publicUrl,
      logger,
    },
  });

  return {
    app,
    outbox: outbox as Outbox,
    logger,
    async close() {
      await (outbox as Outbox).stop();
      for (const sender of built) await sender.close?.();
      await backends.close();
    },
  };
}
