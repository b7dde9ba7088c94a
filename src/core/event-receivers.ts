import { deriveKey, openBytes, sealBytes } from "./codes.js";
import type { Clock } from "./ports.js";
import type { EventStore } from "./store/events.js";
import type { StoreUnit } from "./store/unit.js";

/** Where a service's events go and how they are signed. */
export interface EventReceiver {
  url: string;
  /** `whsec_…`; without one events go unsigned (development only). */
  secret: string | undefined;
}

export interface EventReceivers {
  /** The service's own URL and secret, else the global ones; null when neither URL is set. */
  resolve(serviceId: string | null): Promise<EventReceiver | null>;
  /** `unit`: the store unit the lookup is part of (see core/store/unit.ts); by default, on its own. */
  hasReceiver(serviceId: string, unit?: StoreUnit): Promise<boolean>;
  /** Forgets what `hasReceiver` learned of the service: its receiver was just set or removed. */
  forget(serviceId: string): void;
  /** Seals a service's webhook secret for storage: only `VERIFYD_SECRET` opens it again. */
  seal(serviceId: string, secret: string): Buffer;
}

/**
 * How long `hasReceiver` remembers whether a service has a receiver of its own: the start and the
 * send of every verification ask, and each read would wait for a commit round. Changes made through
 * this process apply at once (`forget`); made through another instance, within this time, as other
 * service settings do (docs/api.md).
 */
export const RECEIVER_MEMORY_MS = 5_000;

/** Services remembered at most; past it, all are forgotten at once. */
const RECEIVERS_REMEMBERED = 10_000;

/**
 * Per-service event receivers with the global `VERIFYD_EVENTS_URL`/`_SECRET` as the fallback. A
 * service with its own URL signs with its own secret (never the global one, which another tenant's
 * receiver may hold); a service without a URL uses the global URL and secret.
 */
export function createEventReceivers(deps: {
  store: Pick<EventStore, "getServiceWebhook">;
  /** `VERIFYD_SECRET`: the sealing key is derived from it. */
  secret: string;
  fallback: { url: string | undefined; secret: string | undefined };
  /** Reads the time for `hasReceiver`'s memory; without it, every call reads the store. */
  clock?: Clock;
}): EventReceivers {
  const key = deriveKey(deps.secret, "verifyd/webhook-secret/v1");
  const global = deps.fallback.url ? { url: deps.fallback.url, secret: deps.fallback.secret } : null;
  const remembered = new Map<string, { has: boolean; until: number }>();
  let forgotten = 0; // changes so far
  return {
    async resolve(serviceId) {
      const own = serviceId ? await deps.store.getServiceWebhook(serviceId) : null;
      if (!own?.url) return global;
      const secret = own.sealedSecret ? openBytes(key, serviceId ?? "", own.sealedSecret).toString("utf8") : undefined;
      return { url: own.url, secret };
    },
    async hasReceiver(serviceId, unit) {
      if (global !== null) return true;
      const now = deps.clock?.now();
      const known = now === undefined ? undefined : remembered.get(serviceId);
      if (known && now !== undefined && known.until > now) return known.has;
      const asked = forgotten;
      const has = !!(await (unit ? unit.join(deps.store) : deps.store).getServiceWebhook(serviceId))?.url;
      // Not remembered when a change came while the answer was on its way: it may predate the change.
      if (now !== undefined && asked === forgotten) {
        if (remembered.size >= RECEIVERS_REMEMBERED) remembered.clear();
        remembered.set(serviceId, { has, until: now + RECEIVER_MEMORY_MS });
      }
      return has;
    },
    forget(serviceId) {
      forgotten++;
      remembered.delete(serviceId);
    },
    seal: (serviceId, secret) => sealBytes(key, serviceId, Buffer.from(secret, "utf8")),
  };
}
