import { VerifydError } from "./errors.js";
import type { EventStatus } from "./model.js";
import type { Clock } from "./ports.js";
import type { EventEntry, EventStore } from "./store/events.js";

/** Who is asking: an admin key sees every service's events (or narrows to one); a service key its own. */
export type EventScope = { admin: true; serviceId?: string } | { admin: false; serviceId: string };

/** The event log as the API shows it: listing (dead events above all) and manual redelivery. */
export function createEventLog(deps: { store: EventStore; clock: Clock }) {
  return {
    async list(scope: EventScope, filter: { status?: EventStatus; limit: number }): Promise<EventEntry[]> {
      return deps.store.listEvents({ ...filter, ...(scope.serviceId !== undefined ? { serviceId: scope.serviceId } : {}) });
    },
    /** Due at once: the next worker pass (within a second) sends it. One failed try makes a dead event dead again. */
    async redeliver(scope: EventScope, id: string): Promise<EventEntry> {
      const requeued = await deps.store.requeueEvent(id, scope.admin ? undefined : scope.serviceId, deps.clock.now());
      if (!requeued) throw new VerifydError("event_not_found", `no event ${id}`);
      return requeued;
    },
  };
}

export type EventLog = ReturnType<typeof createEventLog>;
