import { sealedCodeLength } from "../core/codes.js";
import type {
  AbuseBlock,
  AbuseMode,
  AnalyticsDimension,
  Channel,
  ConversionReason,
  ConversionScope,
  Delivery,
  DeliveryStatus,
  EventStatus,
  EventType,
  Factor,
  FactorStatus,
  RouteStep,
  ServiceRecord,
  StoredFactor,
  Verification,
  VerificationStatus,
} from "../core/model.js";
import type { NumberVault } from "../core/number-vault.js";
import type { FunnelRow } from "../core/store/analytics.js";
import type { EventEntry } from "../core/store/events.js";
import type { ServiceEntry, ServiceWebhookPatch } from "../core/store/services.js";
import type { Transaction } from "../core/transaction.js";
import { openNumber, sealedContext } from "./at-rest.js";

/*
 * Row ↔ domain mappings that both stores share. The SQLite and PostgreSQL schemas have the same
 * columns with the same TypeScript types, so one mapping serves both. Each row interface below names
 * only the columns its mapping reads; both schemas' rows must satisfy it, so a column that drifts
 * in either schema is a type error where that store calls the mapping.
 */

export interface VerificationRow {
  id: string;
  serviceId: string;
  toSealed: Buffer | null;
  country: string | null;
  status: string;
  route: RouteStep[];
  currentStep: number;
  sends: number;
  checks: number;
  maxChecks: number;
  maxSends: number;
  clientIp: string | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  lastSentAt: number;
  approvedAt: number | null;
  inboundChannels: Channel[] | null;
  verifiedNumberSealed: Buffer | null;
  locale: string | null;
  amount: string | null;
  payee: string | null;
  test: boolean;
  sealedCode: Buffer | null;
}

/** Routes written before steps had several providers stored `provider`; read them as one-provider steps. */
export function readRoute(route: unknown): RouteStep[] {
  return (route as (RouteStep & { provider?: string })[]).map((s) =>
    s.providers ? s : { channel: s.channel, providers: s.provider ? [s.provider] : [], fallbackAfterMs: null },
  );
}

/** The payment a verification's code is bound to: both columns set, or none. */
export function readTransaction(r: { amount: string | null; payee: string | null }): Transaction | null {
  return r.amount !== null && r.payee !== null ? { amount: r.amount, payee: r.payee } : null;
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
    transaction: readTransaction(r),
    test: r.test,
    codeLength: r.sealedCode ? sealedCodeLength(r.sealedCode) : null,
  };
}

/**
 * The row of a new person-to-application verification (both stores insert it): nothing sent, and
 * the number, when one is expected, kept as a blind index beside its sealed copy.
 */
export function inboundRow(ver: Verification, to: { index: string | null; sealed: Buffer | null }, inboundCodeHash: Buffer) {
  return {
    id: ver.id,
    serviceId: ver.serviceId,
    to: to.index ?? "",
    toSealed: to.sealed,
    country: ver.country,
    status: "pending",
    route: ver.route,
    currentStep: 0,
    sends: 0,
    checks: 0,
    maxChecks: ver.maxChecks,
    maxSends: ver.maxSends,
    clientIp: ver.clientIp,
    createdAt: ver.createdAt,
    updatedAt: ver.updatedAt,
    expiresAt: ver.expiresAt,
    lastSentAt: ver.lastSentAt,
    inboundChannels: ver.inboundChannels ?? ["sms"],
    inboundCodeHash,
  };
}

export interface DeliveryRow {
  id: string;
  verificationId: string;
  step: number;
  channel: string;
  provider: string;
  status: string;
  providerMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  tries: number;
  createdAt: number;
  updatedAt: number;
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

export interface ServiceRow {
  id: string;
  name: string;
  policy: Record<string, unknown>;
  route: RouteStep[];
  countryRoutes: Record<string, RouteStep[]>;
  settings: Record<string, unknown>;
  createdAt: number;
  webhookUrl: string | null;
  webhookSecretSealed: Buffer | null;
}

/** A services row as the domain reads it. */
export const toServiceRecord = (r: ServiceRow): ServiceRecord => ({
  id: r.id,
  name: r.name,
  policy: r.policy as ServiceRecord["policy"],
  route: readRoute(r.route),
  countryRoutes: r.countryRoutes,
  settings: r.settings as ServiceRecord["settings"],
});

/** A services row as the admin API lists it. */
export const toServiceEntry = (r: ServiceRow): ServiceEntry => ({
  ...toServiceRecord(r),
  createdAt: r.createdAt,
  webhook: { url: r.webhookUrl, secretSet: r.webhookSecretSealed !== null },
});

/** Only the fields the patch names: `null` clears, absent leaves as is. */
export const webhookColumns = (patch: ServiceWebhookPatch | undefined) => ({
  ...(patch?.url !== undefined ? { webhookUrl: patch.url } : {}),
  ...(patch?.sealedSecret !== undefined ? { webhookSecretSealed: patch.sealedSecret } : {}),
});

export interface EventRow {
  id: string;
  type: string;
  serviceId: string | null;
  status: string;
  tries: number;
  lastError: string | null;
  nextTryAt: number | null;
  createdAt: number;
  updatedAt: number;
  payload: string;
}

/** An event row as the log lists it, its payload opened. */
export const toEventEntry = (vault: NumberVault, r: EventRow): EventEntry => ({
  id: r.id,
  type: r.type as EventType,
  serviceId: r.serviceId,
  status: r.status as EventStatus,
  tries: r.tries,
  lastError: r.lastError,
  nextTryAt: r.nextTryAt,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  payload: vault.openText(r.payload, sealedContext.eventPayload(r.id)),
});

export interface FactorRow {
  id: string;
  serviceId: string;
  entityId: string;
  label: string | null;
  digits: number;
  period: number;
  status: string;
  lastStep: number | null;
  failedAttempts: number;
  lockedUntil: number | null;
  createdAt: number;
  updatedAt: number;
  sealedSecret: Buffer;
}

export function toStoredFactor(r: FactorRow): StoredFactor {
  return {
    id: r.id,
    serviceId: r.serviceId,
    entityId: r.entityId,
    label: r.label,
    digits: r.digits as StoredFactor["digits"],
    period: r.period as StoredFactor["period"],
    status: r.status as FactorStatus,
    lastStep: r.lastStep,
    failedAttempts: r.failedAttempts,
    lockedUntil: r.lockedUntil,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    sealedSecret: r.sealedSecret,
  };
}

/** What leaves an accept or a failure: the factor without its sealed secret. */
export function toFactor(r: FactorRow): Factor {
  const { sealedSecret: _sealed, ...factor } = toStoredFactor(r);
  return factor;
}

export interface BlockRow {
  id: string;
  scope: string;
  key: string;
  keySealed: string | null;
  reason: string;
  sends: number;
  approvals: number;
  mode: string;
  createdAt: number;
  expiresAt: number;
  liftedAt: number | null;
}

/** A block row as the guard sees it: a prefix's key opened from its sealed copy. */
export const toBlock = (vault: NumberVault, r: BlockRow): AbuseBlock => ({
  id: r.id,
  scope: r.scope as ConversionScope,
  key: r.keySealed ? vault.openText(r.keySealed, sealedContext.abuseBlockKey(r.id)) : r.key,
  reason: r.reason as ConversionReason,
  sends: r.sends,
  approvals: r.approvals,
  mode: r.mode as AbuseMode,
  createdAt: r.createdAt,
  expiresAt: r.expiresAt,
  liftedAt: r.liftedAt,
});

/** A row of either store's funnel query: `k_<dimension>` keys and the counts, named alike in both dialects. */
export type FunnelSqlRow = Record<string, string | number | null>;

/** A row of the funnel query as the API reports it (PostgreSQL's counts arrive as text). */
export const toFunnelRow = (groupBy: readonly AnalyticsDimension[], r: FunnelSqlRow): FunnelRow => ({
  key: Object.fromEntries(groupBy.map((dim) => [dim, String(r[`k_${dim}`])])),
  requested: Number(r.requested),
  sent: Number(r.sent),
  delivered: Number(r.delivered),
  checked: Number(r.checked),
  approved: Number(r.approved),
  messagesSent: Number(r.messages_sent),
  medianApproveMs: r.median_ms === null ? null : Number(r.median_ms),
});
