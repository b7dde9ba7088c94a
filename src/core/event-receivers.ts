import { deriveKey, openBytes, sealBytes } from "./codes.js";
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
  /** Seals a service's webhook secret for storage: only `VERIFYD_SECRET` opens it again. */
  seal(serviceId: string, secret: string): Buffer;
}

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
}): EventReceivers {
  const key = deriveKey(deps.secret, "verifyd/webhook-secret/v1");
  const global = deps.fallback.url ? { url: deps.fallback.url, secret: deps.fallback.secret } : null;
  return {
    async resolve(serviceId) {
      const own = serviceId ? await deps.store.getServiceWebhook(serviceId) : null;
      if (!own?.url) return global;
      const secret = own.sealedSecret ? openBytes(key, serviceId ?? "", own.sealedSecret).toString("utf8") : undefined;
      return { url: own.url, secret };
    },
    async hasReceiver(serviceId, unit) {
      if (global !== null) return true;
      return !!(await (unit ? unit.join(deps.store) : deps.store).getServiceWebhook(serviceId))?.url;
    },
    seal: (serviceId, secret) => sealBytes(key, serviceId, Buffer.from(secret, "utf8")),
  };
}
