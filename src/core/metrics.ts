import type { ConversionMetrics } from "./conversion.js";
import type { Channel } from "./model.js";
import type { LimitRule } from "./ports.js";

/**
 * What verifyd counts and times, as named events. Label values are bounded sets (channels,
 * providers, reasons, route patterns): never a phone number, a code or an id.
 */
export interface Metrics extends ConversionMetrics {
  verificationStarted(serviceId: string, channel: Channel, country: string | null): void;
  verificationApproved(serviceId: string, channel: Channel, country: string | null): void;
  /** Closed by the expiry sweep, by the channel of the step it was on. */
  verificationExpired(serviceId: string, channel: Channel | null, country: string | null): void;
  /** A finished check: "approved", or the check's reason (wrong_code, expired, …). */
  checked(reason: string): void;
  /** A send result (accepted, retry, rejected, misconfigured) or a receipt status (delivered, failed, …). */
  delivery(provider: string, channel: Channel, outcome: string): void;
  sendLatency(provider: string, seconds: number): void;
  /** From a delivery's creation to its first delivered (or read) receipt. */
  timeToDelivered(provider: string, channel: Channel, seconds: number): void;
  fallback(fromChannel: Channel, toChannel: Channel, reason: string): void;
  rateLimited(rule: LimitRule): void;
  /** A start or send refused by number screening or send velocity, once per reason (`prefix_velocity`, …). */
  abuseBlocked(reason: string): void;
  /** `route` is the matched route pattern, e.g. `/v1/verifications/:id/check`. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  /** A request refused by admission control before any work: `queue_full`, `queue_timeout`, `admission_rate` or `client_closed`. */
  requestShed(reason: string): void;
}

/** Records nothing: the default wherever no metrics are wired. */
export const noopMetrics: Metrics = {
  verificationStarted() {},
  verificationApproved() {},
  verificationExpired() {},
  checked() {},
  delivery() {},
  sendLatency() {},
  timeToDelivered() {},
  fallback() {},
  rateLimited() {},
  abuseBlocked() {},
  conversionGuard() {},
  httpRequest() {},
  requestShed() {},
};
