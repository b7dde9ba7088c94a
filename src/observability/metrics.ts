import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
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
    help: "Verifications started (resends excluded), by first channel and destination country.",
    labelNames: ["channel", "country"] as const,
    registers,
  });
  const approved = new Counter({
    name: "verifyd_verifications_approved_total",
    help: "Verifications approved by a correct code, by the channel of their current step.",
    labelNames: ["channel"] as const,
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
  const conversionGuard = new Counter({
    name: "verifyd_conversion_guard_total",
    help: "Conversion guard: blocks opened, sends refused by a block, and sends let through in monitor mode.",
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
  const { queuedDeliveries } = options;
  new Gauge({
    name: "verifyd_outbox_queued",
    help: "Deliveries waiting in the outbox to be sent (first tries and retries).",
    registers,
    async collect() {
      if (queuedDeliveries) this.set(await queuedDeliveries());
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    verificationStarted: (channel, country) => started.inc({ channel, country: country ?? "unknown" }),
    verificationApproved: (channel) => approved.inc({ channel }),
    checked: (reason) => checks.inc({ reason }),
    delivery: (provider, channel, outcome) => deliveries.inc({ provider, channel, outcome }),
    sendLatency: (provider, seconds) => sendDuration.observe({ provider }, seconds),
    fallback: (from, to, reason) => fallbacks.inc({ from, to, reason }),
    rateLimited: (rule) => rateLimited.inc({ rule }),
    conversionGuard: (action, reason) => conversionGuard.inc({ action, reason }),
    httpRequest: (route, method, status, seconds) => httpDuration.observe({ route, method, status: String(status) }, seconds),
  };
}
