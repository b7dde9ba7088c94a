import { randomUUID } from "node:crypto";
import { isEmailAddress, maskEmail } from "./email.js";
import type { EventData, EventPayload, EventType, Verification } from "./model.js";
import type { Clock } from "./ports.js";
import type { EventStore } from "./store/events.js";
import type { StoreUnit } from "./store/unit.js";

/** Where the domain reports its outcomes. */
export interface EventSink {
  /** `unit`: the store unit the event is queued in (see core/store/unit.ts); by default, on its own. */
  emit(type: EventType, data: EventData, unit?: StoreUnit): Promise<void>;
}

export const noopEventSink: EventSink = { emit: async () => {} };

/**
 * A destination as logs, events and the dashboard show it: `+14155550100` → `+1415***0100` (the
 * first five and last four characters); `ada@example.com` → `a***@example.com`.
 */
export function maskPhone(phone: string | null | undefined): string | null {
  if (!phone) return null;
  if (isEmailAddress(phone)) return maskEmail(phone);
  if (phone.length <= 9) return `${phone.slice(0, 2)}***${phone.slice(-2)}`;
  return `${phone.slice(0, 5)}***${phone.slice(-4)}`;
}

/** The data every verification event carries. */
export function verificationData(v: Verification, extra: Partial<EventData> = {}): EventData {
  return {
    verification_id: v.id,
    service_id: v.serviceId,
    status: v.status,
    channel: v.route[v.currentStep]?.channel ?? null,
    to_masked: maskPhone(v.to || v.verifiedNumber),
    ...extra,
  };
}

export const newEventId = (): string => `evt_${randomUUID().replaceAll("-", "")}`;

/**
 * Queues events in the store; the events worker sends them. `hasReceiver` says whether a service's
 * events go anywhere (its own URL or the global one): events nobody would receive are not stored.
 */
export function createEventSink(deps: {
  store: EventStore;
  clock: Clock;
  hasReceiver: (serviceId: string, unit?: StoreUnit) => Promise<boolean>;
  ids?: () => string;
}): EventSink {
  const nextId = deps.ids ?? newEventId;
  return {
    async emit(type, data, unit) {
      if (!(await deps.hasReceiver(data.service_id, unit))) return;
      const now = deps.clock.now();
      const payload: EventPayload = { type, timestamp: new Date(now).toISOString(), data };
      await (unit ? unit.join(deps.store) : deps.store).enqueueEvent({
        id: nextId(),
        type,
        serviceId: data.service_id,
        payload: JSON.stringify(payload),
        createdAt: now,
      });
    },
  };
}
