import type { Logger } from "pino";
import { type EventSink, maskPhone, verificationData } from "../core/events.js";
import type { EventData, EventType, StatusUpdate, Verification } from "../core/model.js";
import type { DeliveryJob, NewDelivery, SentDelivery } from "../core/store/deliveries.js";
import type { StoreUnit } from "../core/store/unit.js";

/**
 * The outbox's event webhooks. Queueing an event never fails a delivery: a store error is logged.
 * Each delivery event names its `delivery_id`, so a receiver can tell a repeated receipt apart.
 */
export function createDeliveryEvents(events: EventSink | undefined, logger: Logger) {
  const emit = async (type: EventType, data: EventData, unit?: StoreUnit) => {
    await events
      ?.emit(type, data, unit)
      .catch((err) => logger.error({ err, verification_id: data.verification_id, type }, "could not queue an event"));
  };
  const ofJob = (job: DeliveryJob, status: string): EventData => ({
    verification_id: job.verificationId,
    service_id: job.serviceId,
    status,
    channel: job.channel,
    to_masked: maskPhone(job.to),
    delivery_id: job.id,
    provider: job.provider,
  });
  const ofSent = (sent: SentDelivery, status: string): EventData => ({
    verification_id: sent.verificationId,
    service_id: sent.serviceId,
    status,
    channel: sent.route[sent.step]?.channel ?? null,
    to_masked: maskPhone(sent.to),
    delivery_id: sent.deliveryId,
    provider: sent.provider,
  });
  const fallbackData = (next: NewDelivery, reason: string) => ({
    to_channel: next.channel,
    to_provider: next.provider,
    to_step: next.step,
    next_delivery_id: next.id,
    reason,
  });

  return {
    /** The provider accepted the message. */
    sent: (job: DeliveryJob, providerMessageId: string | null, unit?: StoreUnit) =>
      emit("delivery.sent", { ...ofJob(job, "sent"), provider_message_id: providerMessageId }, unit),
    /** A `delivered` receipt arrived. */
    delivered: (sent: SentDelivery, update: StatusUpdate) =>
      emit("delivery.delivered", { ...ofSent(sent, "delivered"), provider_message_id: update.providerMessageId }),
    /** Nowhere left to go: the verification failed. */
    failed: (job: DeliveryJob, errorCode: string | null, unit?: StoreUnit) =>
      emit("delivery.failed", { ...ofJob(job, "failed"), error_code: errorCode }, unit),
    /** The route moved on from a failed send to another provider or step. */
    fallbackFromJob: (job: DeliveryJob, next: NewDelivery, reason: string, unit?: StoreUnit) =>
      emit("delivery.fallback", { ...ofJob(job, "failed"), ...fallbackData(next, reason) }, unit),
    /** The route moved on after a failed receipt or none in time. */
    fallbackFromSent: (sent: SentDelivery, next: NewDelivery, reason: string) =>
      emit("delivery.fallback", {
        // No receipt in time leaves the delivery sent; a failed receipt is its status ("failed:30005" → failed).
        ...ofSent(sent, reason === "no_delivery_receipt" ? "sent" : (reason.split(":")[0] ?? reason)),
        ...fallbackData(next, reason),
      }),
    /**
     * The last step's message was reported not delivered (a failed receipt: a busy or unanswered call,
     * a bounced email, an undelivered SMS). Nothing is left to fall back to, and the verification stays
     * `pending`: a resend may try again, or the integrator may offer another channel.
     */
    undelivered: (sent: SentDelivery, reason: string) => {
      const [status, ...code] = reason.split(":");
      return emit("delivery.undelivered", {
        ...ofSent(sent, status ?? reason),
        error_code: code.length > 0 ? code.join(":") : null,
        verification_status: "pending",
      });
    },
    expired: (v: Verification) => emit("verification.expired", verificationData(v)),
  };
}
