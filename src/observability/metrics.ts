import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { FunnelGroup } from "../core/analytics.js";
import type { Metrics } from "../core/metrics.js";

export interface PromMetrics extends Metrics {
  readonly registry: Registry;
  /** `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  /** The exposition text of every metric, collected now. */
  render(): Promise<string>;
}

export interface PromMetricsOptions {
  /** Deliveries waiting in the outbox, read on each scrape. */
  queuedDeliveries?: () => Promise<number>;
  /** Event webhooks waiting to be sent, read on each scrape. */
  pendingEvents?: () => Promise<number>;
  /** Requests being worked on and waiting for a slot (admission control), read on each scrape. */
  admission?: () => { inFlight: number; queued: number };
  /**
   * Cost analytics over the trailing window (`VERIFYD_COST_METRICS_WINDOW`), grouped by country,
   * channel and provider, read on each scrape; absent without a price table.
   */
  costs?: () => Promise<FunnelGroup[]>;
  /** Node.js process metrics (CPU, memory, event loop, GC). @default true */
  processMetrics?: boolean;
}

/** Prometheus metrics on a registry of their own (never prom-client's global one). */
export function createPromMetrics(options: PromMetricsOptions = {}): PromMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const started = new Counter({
    name: "verifyd_verifications_started_total",
    help: "Verifications started (resends excluded), by service, first channel and destination country.",
    labelNames: ["service", "channel", "country"] as const,
    registers,
  });
  const approved = new Counter({
    name: "verifyd_verifications_approved_total",
    help: "Verifications approved by a correct code, by service, the channel of their current step and country.",
    labelNames: ["service", "channel", "country"] as const,
    registers,
  });
  const expired = new Counter({
    name: "verifyd_verifications_expired_total",
    help: "Verifications closed by the expiry sweep, by service, the channel of their current step and country.",
    labelNames: ["service", "channel", "country"] as const,
    registers,
  });
  const checks = new Counter({
    name: "verifyd_verification_checks_total",
    help: 'Code checks by result: "approved" or the reason the check failed.',
    labelNames: ["reason"] as const,
    registers,
  });
  const deliveries = new Counter({
    name: "verifyd_deliveries_total",
    help: "Send results (accepted, retry, rejected, misconfigured) and delivery receipts (sent, delivered, read, undelivered, failed).",
    labelNames: ["provider", "channel", "outcome"] as const,
    registers,
  });
  const sendDuration = new Histogram({
    name: "verifyd_send_duration_seconds",
    help: "Time a provider took to answer one send.",
    labelNames: ["provider"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const timeToDelivered = new Histogram({
    name: "verifyd_time_to_delivered_seconds",
    help: "From a delivery's creation to its first delivered (or read) receipt.",
    labelNames: ["provider", "channel"] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
    registers,
  });
  const fallbacks = new Counter({
    name: "verifyd_fallbacks_total",
    help: "Moves to another provider or route step, by channels and reason.",
    labelNames: ["from", "to", "reason"] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: "verifyd_rate_limited_total",
    help: "Requests refused by a rate limit, by rule.",
    labelNames: ["rule"] as const,
    registers,
  });
  const abuseBlocked = new Counter({
    name: "verifyd_abuse_blocked_total",
    help: "Starts and sends refused by number screening or send velocity (403 blocked), once per rule.",
    labelNames: ["rule"] as const,
    registers,
  });
  const conversionGuard = new Counter({
    name: "verifyd_conversion_guard_total",
    help: "Conversion guard: blocks opened; sends refused (by a block, or past a key's unanswered sends), withheld from every channel but WhatsApp, let through in monitor mode, or passed as their number approved a code before.",
    labelNames: ["action", "reason"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "verifyd_http_request_duration_seconds",
    help: "HTTP requests by matched route pattern, method and status.",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const shed = new Counter({
    name: "verifyd_requests_shed_total",
    help: "Requests refused by admission control before any work (503 overloaded), by reason: queue_full, queue_timeout, admission_rate, client_closed.",
    labelNames: ["reason"] as const,
    registers,
  });
  const shedBy: Partial<Record<string, ReturnType<typeof shed.labels>>> = {};
  const { queuedDeliveries, pendingEvents, admission } = options;
  new Gauge({
    name: "verifyd_requests_in_flight",
    help: "API requests being worked on (admission control's slots in use).",
    registers,
    collect() {
      if (admission) this.set(admission().inFlight);
    },
  });
  new Gauge({
    name: "verifyd_requests_queued",
    help: "API requests waiting for an admission control slot.",
    registers,
    collect() {
      if (admission) this.set(admission().queued);
    },
  });
  new Gauge({
    name: "verifyd_events_pending",
    help: "Event webhooks waiting in the outbox to be sent (first tries and retries).",
    registers,
    async collect() {
      if (pendingEvents) this.set(await pendingEvents());
    },
  });
  new Gauge({
    name: "verifyd_outbox_queued",
    help: "Deliveries waiting in the outbox to be sent (first tries and retries).",
    registers,
    async collect() {
      if (queuedDeliveries) this.set(await queuedDeliveries());
    },
  });

  if (options.costs) costGauges(options.costs, registers);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    verificationStarted: (service, channel, country) => started.inc({ service, channel, country: country ?? "unknown" }),
    verificationApproved: (service, channel, country) => approved.inc({ service, channel, country: country ?? "unknown" }),
    verificationExpired: (service, channel, country) =>
      expired.inc({ service, channel: channel ?? "none", country: country ?? "unknown" }),
    checked: (reason) => checks.inc({ reason }),
    delivery: (provider, channel, outcome) => deliveries.inc({ provider, channel, outcome }),
    sendLatency: (provider, seconds) => sendDuration.observe({ provider }, seconds),
    timeToDelivered: (provider, channel, seconds) => timeToDelivered.observe({ provider, channel }, seconds),
    fallback: (from, to, reason) => fallbacks.inc({ from, to, reason }),
    rateLimited: (rule) => rateLimited.inc({ rule }),
    abuseBlocked: (rule) => abuseBlocked.inc({ rule }),
    conversionGuard: (action, reason) => conversionGuard.inc({ action, reason }),
    httpRequest: (route, method, status, seconds) => httpDuration.observe({ route, method, status: String(status) }, seconds),
    // A child per reason, resolved once: under overload this runs for every refused request.
    requestShed: (reason) => {
      let child = shedBy[reason];
      if (!child) {
        child = shed.labels({ reason });
        shedBy[reason] = child;
      }
      child.inc();
    },
  };
}

/**
 * Gauges of cost per successful verification, by country, channel and provider (those of the step a
 * verification ended on, as in the analytics API), over the trailing window; one database read per
 * scrape, shared by the gauges. Labels are bounded by the configured countries, channels and providers.
 */
function costGauges(read: () => Promise<FunnelGroup[]>, registers: Registry[]) {
  const labelNames = ["country", "channel", "provider", "currency"] as const;
  let pending: Promise<FunnelGroup[]> | null = null;
  // One read per scrape: the first gauge collected starts it, the others await the same promise.
  const groups = () => {
    pending ??= read().finally(() => {
      setImmediate(() => {
        pending = null;
      });
    });
    return pending;
  };
  const gauge = (spec: { name: string; help: string; value: (g: FunnelGroup) => number | null }) =>
    new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        for (const g of await groups()) {
          const v = spec.value(g);
          if (v === null) continue;
          const { country = "unknown", channel = "unknown", provider = "none" } = g.key;
          this.set({ country, channel, provider, currency: g.currency ?? "" }, v);
        }
      },
    });
  gauge({
    name: "verifyd_cost_per_approval",
    help: "Cost of one approved verification over the cost window, in the price table's currency.",
    value: (g) => g.costPerApproval,
  });
  gauge({
    name: "verifyd_cost",
    help: "What the messages of the window's verifications cost, in the price table's currency.",
    value: (g) => g.cost,
  });
  gauge({
    name: "verifyd_billable_messages_per_approval",
    help: "Billable messages per approved verification over the cost window.",
    value: (g) => g.billableMessagesPerApproval,
  });
  gauge({
    name: "verifyd_window_conversion",
    help: "Approved / requested verifications over the cost window.",
    value: (g) => g.conversion,
  });
  gauge({ name: "verifyd_window_approvals", help: "Approved verifications over the cost window.", value: (g) => g.approved });
}
