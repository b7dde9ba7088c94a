import type { Channel, Delivery, RouteStep, StatusUpdate, Verification } from "../model.js";
import type { ServiceSettings } from "../service-settings.js";
import type { Transaction } from "../transaction.js";

export interface NewDelivery {
  id: string;
  verificationId: string;
  step: number;
  channel: Channel;
  provider: string;
  nextTryAt: number;
  /**
   * Set on a start's first delivery, which is sent at once: the row is written already claimed (sending,
   * first try, leased until then), so the inline send needs no claim of its own. Should the process die
   * before the send is recorded, the worker sends it once the lease runs out, as after any claim.
   */
  leaseUntil?: number;
}

/** A claimed delivery with everything the outbox needs to render and send it. */
export interface DeliveryJob {
  id: string;
  verificationId: string;
  serviceId: string;
  serviceName: string;
  to: string;
  step: number;
  channel: Channel;
  provider: string;
  tries: number;
  route: RouteStep[];
  sealedCode: Buffer;
  /**
   * The code itself, only on the job a start builds for its inline send (it holds the code it has
   * just sealed, so the send need not open the sealed copy again). Never stored, logged or read back.
   */
  code?: string;
  /**
   * The channels the destination had opted out of when the start's store unit screened it, only on
   * the job a start builds for its inline send: the send need not read them again. Without it, the
   * send reads the destination's opt-out for its channel.
   */
  optedOut?: ReadonlySet<Channel>;
  expiresAt: number;
  locale: string | null;
  transaction: Transaction | null;
  /** The service's settings at claim time (templates, autofill lines). */
  settings: ServiceSettings;
}

/**
 * The one way a DeliveryJob is put together, from the delivery, its verification and its service:
 * the start (which writes the first delivery already claimed) and both stores' claims use it.
 */
export function deliveryJob(parts: {
  delivery: { id: string; step: number; channel: Channel; provider: string; tries: number };
  verification: Pick<Verification, "id" | "serviceId" | "to" | "route" | "expiresAt"> & {
    locale?: string | null;
    transaction?: Transaction | null;
  };
  service: { name: string; settings: ServiceSettings };
  sealedCode: Buffer;
  code?: string;
  optedOut?: ReadonlySet<Channel> | undefined;
}): DeliveryJob {
  const { delivery: d, verification: v, service } = parts;
  return {
    id: d.id,
    verificationId: v.id,
    serviceId: v.serviceId,
    serviceName: service.name,
    to: v.to,
    step: d.step,
    channel: d.channel,
    provider: d.provider,
    tries: d.tries,
    route: v.route,
    sealedCode: parts.sealedCode,
    ...(parts.code === undefined ? {} : { code: parts.code }),
    ...(parts.optedOut === undefined ? {} : { optedOut: parts.optedOut }),
    expiresAt: v.expiresAt,
    locale: v.locale ?? null,
    transaction: v.transaction ?? null,
    settings: service.settings,
  };
}

/** A sent delivery located by its provider message id, with what a fallback decision needs. */
export interface SentDelivery {
  deliveryId: string;
  verificationId: string;
  /** The verification's service and destination, for its event webhooks. */
  serviceId: string;
  to: string;
  step: number;
  provider: string;
  route: RouteStep[];
  /** The verification is pending, unexpired and still on this delivery's step. */
  onCurrentStep: boolean;
  /** Set by `recordStatus` when this receipt first confirmed delivery: ms since the delivery was created. */
  deliveredAfterMs?: number;
}

/** What happened to a delivery attempt, decided by the outbox and applied atomically by the store. */
export interface DeliveryResult {
  deliveryId: string;
  status: "accepted" | "queued" | "failed";
  /** For `accepted`: when to fall over if no delivery receipt has arrived by then. */
  fallbackAt?: number | null;
  providerMessageId?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  /** For `queued`: when to try again. */
  nextTryAt?: number;
  /** For `failed`: the next delivery (another provider of the step, or the next step), inserted in the same transaction. */
  fallback?: NewDelivery;
  /** For `failed` with no fallback: the verification becomes `failed`. */
  failVerification?: boolean;
}

/** The delivery outbox: claims, results, receipts and fallbacks; each operation is atomic. */
export interface DeliveryStore {
  /** Claims one delivery for sending (queued, or sending with an expired lease). */
  claimDelivery(id: string, now: number, leaseMs: number): Promise<DeliveryJob | null>;
  /** Claims due deliveries for the background worker. */
  claimDueDeliveries(now: number, leaseMs: number, limit: number): Promise<DeliveryJob[]>;
  recordDeliveryResult(result: DeliveryResult, now: number): Promise<void>;
  /**
   * Applies a provider status (webhook, DLR) to the delivery with that message id. Never
   * downgrades (delivered stays delivered). Returns the delivery, or null when unknown.
   */
  recordStatus(provider: string, update: StatusUpdate, now: number): Promise<SentDelivery | null>;
  /** Claims accepted deliveries whose fallback time passed without a delivery receipt (clears the timer). */
  claimOverdueFallbacks(now: number, limit: number): Promise<SentDelivery[]>;
  /**
   * Moves a verification to `next` (another step), if it is still pending and on `from`'s step.
   * Records `reason` on `from`. Returns false when the route moved on or the verification closed.
   */
  advanceRoute(input: { fromDeliveryId: string; next: NewDelivery; reason: string; now: number }): Promise<boolean>;
  listDeliveries(verificationId: string): Promise<Delivery[]>;
  /** Deliveries waiting to be sent (first tries and retries), for the outbox depth gauge. */
  countQueuedDeliveries(): Promise<number>;
}
