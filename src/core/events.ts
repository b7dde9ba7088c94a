import { randomUUID } from "node:crypto";
import { isEmailAddress, maskEmail } from "./email.js";
import type { EventData, EventPayload, EventType, Verification } from "./model.js";
import type { Clock } from "./ports.js";
import type { DueEvent, EventStore } from "./store/events.js";
import type { StoreUnit } from "./store/unit.js";

/** Where the domain reports its outcomes. */
export interface EventSink {
  /** `unit`: the store unit the event is queued in (see core/store/unit.ts); by default, on its own. */
  emit(type: EventType, data: EventData, unit?: StoreUnit): Promise<void>;
}

export const noopEventSink: EventSink = { emit: async () => {} };

/**
 * Where fresh events go straight to the events worker of this process: queued already leased to it,
 * they are sent without a claim (a read and a write of the row, and opening its sealed payload). A
 * crash before the send leaves them to the claim of any worker once the lease runs out.
 */
export interface EventHandOff {
  /** Takes a place for one event: the lease to queue it with, or null to queue it due at once. */
  reserve(now: number): number | null;
  /** The reserved event, once its row is durable. */
  give(event: DueEvent, leaseUntil: number): void;
  /** Gives a place back: the event was not stored. */
  release(): void;
}

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
  handOff?: EventHandOff;
}): EventSink {
  const nextId = deps.ids ?? newEventId;
  const { handOff } = deps;
  return {
    async emit(type, data, unit) {
      if (!(await deps.hasReceiver(data.service_id, unit))) return;
      const now = deps.clock.now();
      const payload: EventPayload = { type, timestamp: new Date(now).toISOString(), data };
      const event = { id: nextId(), type, serviceId: data.service_id, payload: JSON.stringify(payload), createdAt: now };
      const store = unit ? unit.join(deps.store) : deps.store;
      const leaseUntil = handOff?.reserve(now) ?? null;
      if (!handOff || leaseUntil === null) return store.enqueueEvent(event);
      try {
        await store.enqueueEvent({ ...event, leaseUntil });
      } catch (err) {
        handOff.release();
        throw err;
      }
      const due: DueEvent = { id: event.id, type, serviceId: event.serviceId, payload: event.payload, tries: 0 };
      // Outside a unit the row is durable once the enqueue settled; inside one, once the unit has.
      if (!unit) handOff.give(due, leaseUntil);
      else unit.afterCommit((durable) => (durable ? handOff.give(due, leaseUntil) : handOff.release()));
    },
  };
}
