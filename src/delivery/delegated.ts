import type { DelegatedCodes } from "../core/ports.js";
import type { Sender } from "../core/sender.js";
import type { Store } from "../core/store/index.js";

const REACHED = new Set(["accepted", "sent", "delivered", "read"]);

/**
 * Forwards a code the verification's own hash did not match to each delegated step that reached
 * the user (the provider generated that code). Used only when a configured provider delegates.
 */
export function createDelegatedCodes(store: Store, senders: ReadonlyMap<string, Sender>, timeoutMs = 5_000): DelegatedCodes {
  return {
    delegates: (provider) => senders.get(provider)?.checkCode !== undefined,
    async matches(verificationId, code) {
      // Without a delegating provider there is nothing to ask (and no query to make).
      if (![...senders.values()].some((s) => s.checkCode)) return false;
      for (const d of await store.listDeliveries(verificationId)) {
        const sender = senders.get(d.provider);
        if (!sender?.checkCode || !d.providerMessageId || !REACHED.has(d.status)) continue;
        const result = await sender.checkCode(d.providerMessageId, code, AbortSignal.timeout(timeoutMs));
        if (result.kind === "approved") return true;
      }
      return false;
    },
  };
}
