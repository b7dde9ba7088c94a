import { randomUUID } from "node:crypto";
import type { Channel, Clock, Verification } from "./ports.js";

/** Event webhooks sent to the integrator (Standard Webhooks), queued in the store and sent by the worker. */
export type EventType =
  | "verification.started"
  | "verification.approved"
  | "verification.canceled"
  | "verification.max_attempts_reached"
  | "delivery.failed";

export type EventStatus = "pending" | "delivered" | "failed";

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
  payload: string;
  createdAt: number;
}

/** A claimed event: its `payload` is the exact JSON text to sign and send. */
export interface DueEvent {
  id: string;
  type: EventType;
  payload: string;
  tries: number;
}

export interface EventResult {
  id: string;
  /** `pending` schedules another try at `nextTryAt`. */
  status: EventStatus;
  tries: number;
  nextTryAt?: number | null;
}

export interface EventStore {
  enqueueEvent(event: NewEvent): Promise<void>;
  /** Claims pending events due at `now`, pushing their next try `leaseMs` away so no other pass takes them. */
  claimDueEvents(now: number, limit: number, leaseMs: number): Promise<DueEvent[]>;
  recordEventResult(result: EventResult, now: number): Promise<void>;
  /** Events still to be sent (first tries and retries), for the webhook outbox depth gauge. */
  countPendingEvents(): Promise<number>;
}

/** Where the domain reports its outcomes; a no-op when no event URL is configured. */
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

/** Queues events in the store; the outbox worker sends them. */
export function createEventSink(deps: { store: EventStore; clock: Clock; ids?: () => string }): EventSink {
  const nextId = deps.ids ?? newEventId;
  return {
    async emit(type, data) {
      const now = deps.clock.now();
      const payload: EventPayload = { type, timestamp: new Date(now).toISOString(), data };
      await deps.store.enqueueEvent({ id: nextId(), type, payload: JSON.stringify(payload), createdAt: now });
    },
  };
}
