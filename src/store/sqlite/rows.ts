import type { Channel, Delivery, DeliveryStatus, RouteStep, Verification, VerificationStatus } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import { openNumber, sealedContext } from "../at-rest.js";
import type { deliveries, verifications } from "./schema.js";

/** Row → domain mappings shared by the store's modules. */

export type VerificationRow = typeof verifications.$inferSelect;
export type DeliveryRow = typeof deliveries.$inferSelect;

/** Routes written before steps had several providers stored `provider`; read them as one-provider steps. */
export function readRoute(route: unknown): RouteStep[] {
  return (route as (RouteStep & { provider?: string })[]).map((s) =>
    s.providers ? s : { channel: s.channel, providers: s.provider ? [s.provider] : [], fallbackAfterMs: null },
  );
}

/** Opens the row's sealed numbers: `to_number` and `verified_number` only hold blind indexes. */
export function toVerification(r: VerificationRow, vault: NumberVault): Verification {
  return {
    id: r.id,
    serviceId: r.serviceId,
    to: openNumber(vault, r.toSealed, sealedContext.destination(r.id)) ?? "",
    country: r.country,
    status: r.status as VerificationStatus,
    route: readRoute(r.route),
    currentStep: r.currentStep,
    sends: r.sends,
    checks: r.checks,
    maxChecks: r.maxChecks,
    maxSends: r.maxSends,
    clientIp: r.clientIp,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    expiresAt: r.expiresAt,
    lastSentAt: r.lastSentAt,
    approvedAt: r.approvedAt,
    inboundChannels: r.inboundChannels ?? null,
    verifiedNumber: openNumber(vault, r.verifiedNumberSealed, sealedContext.verifiedNumber(r.id)),
    locale: r.locale,
    transaction: r.amount !== null && r.payee !== null ? { amount: r.amount, payee: r.payee } : null,
    test: r.test,
  };
}

export function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    verificationId: r.verificationId,
    step: r.step,
    channel: r.channel as Channel,
    provider: r.provider,
    status: r.status as DeliveryStatus,
    providerMessageId: r.providerMessageId,
    errorCode: r.errorCode,
    errorMessage: r.errorMessage,
    tries: r.tries,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}
