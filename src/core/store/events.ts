import type { EventStatus, EventType } from "../model.js";

export interface NewEvent {
  id: string;
  type: EventType;
  /** Whose webhook receives it (the service's own URL, else the global one). */
  serviceId: string;
  payload: string;
  createdAt: number;
  /**
   * Already claimed, until then, by the process that queued it (it sends the event itself): no claim
   * takes it before. Without it the event is due at once.
   */
  leaseUntil?: number;
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
