import { randomUUID } from "node:crypto";
import type { Channel, Clock, Verification } from "./ports.js";

/** Event webhooks sent to the integrator (Standard Webhooks), queued in the store and sent by the worker. */
export const EVENT_TYPES = [
  "verification.started",
  "verification.approved",
  "verification.expired",
  "verification.canceled",
  "verification.max_attempts_reached",
  "delivery.sent",
  "delivery.delivered",
  "delivery.failed",
  "delivery.fallback",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** `dead`: every try of the retry schedule failed (or the receiver answered 410); only a redeliver sends it again. */
export const EVENT_STATUSES = ["pending", "delivered", "dead"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

export interface EventData {
  verification_id: string;
  service_id: string;
  status: string;
  channel?: Channel | null;
  /** The destination with its middle digits hidden (`+1415***0100`); never the full number. */
  to_masked: string | null;
  [key: string]: unknown;
}

/** The body sent to the integrator. */
export interface EventPayload {
  type: EventType;
  /** ISO 8601. */
  timestamp: string;
  data: EventData;
}

export interface NewEvent {
  id: string;
  type: EventType;
  /** Whose webhook receives it (the service's own URL, else the global one). */
  serviceId: string;
  payload: string;
  createdAt: number;
}

/** A claimed event: its `payload` is the exact JSON text to sign and send. */
export interface DueEvent {
  id: string;
  type: EventType;
  serviceId: string | null;
  payload: string;
  tries: number;
}

export interface EventResult {
  id: string;
  /** `pending` schedules another try at `nextTryAt`. */
  status: EventStatus;
  tries: number;
  nextTryAt?: number | null;
  /** Why the last try failed (`http_500`, `timeout`…); null once delivered. */
  lastError?: string | null;
}

/** An event as the admin API lists it. */
export interface EventEntry {
  id: string;
  type: EventType;
  serviceId: string | null;
  status: EventStatus;
  tries: number;
  lastError: string | null;
  nextTryAt: number | null;
  createdAt: number;
  updatedAt: number;
  payload: string;
}

/** A service's own event receiver; the secret is sealed (AES-256-GCM, the service id as associated data). */
export interface ServiceWebhook {
  url: string | null;
  sealedSecret: Buffer | null;
}

export interface EventStore {
  enqueueEvent(event: NewEvent): Promise<void>;
  /** Claims pending events due at `now`, pushing their next try `leaseMs` away so no other pass takes them. */
  claimDueEvents(now: number, limit: number, leaseMs: number): Promise<DueEvent[]>;
  /** Records the tries of a batch together (one transaction): one store round trip per batch, not per event. */
  recordEventResults(results: readonly EventResult[], now: number): Promise<void>;
  /** Events still to be sent (first tries and retries), for the webhook outbox depth gauge. */
  countPendingEvents(): Promise<number>;
  /** Newest first. */
  listEvents(filter: { status?: EventStatus; serviceId?: string; limit: number }): Promise<EventEntry[]>;
  /** Makes an event (of `serviceId`, when given) pending and due at `now`; null when there is no such event. */
  requeueEvent(id: string, serviceId: string | undefined, now: number): Promise<EventEntry | null>;
  /** The service's own receiver, or null when the service is unknown. */
  getServiceWebhook(serviceId: string): Promise<ServiceWebhook | null>;
}

/** Where the domain reports its outcomes. */
export interface EventSink {
  emit(type: EventType, data: EventData): Promise<void>;
}

export const noopEventSink: EventSink = { emit: async () => {} };

/** `+14155550100` → `+1415***0100`: the first five and last four characters. */
export function maskPhone(phone: string | null | undefined): string | null {
  if (!phone) return null;
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
  hasReceiver: (serviceId: string) => Promise<boolean>;
  ids?: () => string;
}): EventSink {
  const nextId = deps.ids ?? newEventId;
  return {
    async emit(type, data) {
      if (!(await deps.hasReceiver(data.service_id))) return;
      const now = deps.clock.now();
      const payload: EventPayload = { type, timestamp: new Date(now).toISOString(), data };
      await deps.store.enqueueEvent({
        id: nextId(),
        type,
        serviceId: data.service_id,
        payload: JSON.stringify(payload),
        createdAt: now,
      });
    },
  };
}
