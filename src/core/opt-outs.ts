import type { Channel, InboundMessage, OptOut, OptOutSource, RouteStep } from "./model.js";
import type { Clock } from "./ports.js";
import type { OptOutFilter, OptOutStore } from "./store/opt-outs.js";

/**
 * Opt-outs (CTIA / TCPA): a user who texts STOP to a business number is not sent anything more on
 * that channel until they text START. Kept per (E.164 number, channel); the outbox skips an
 * opted-out destination's delivery and a start whose every channel is opted out is refused.
 */

/** Opt-out keywords: the CTIA reserved ones (STOP, END, CANCEL, UNSUBSCRIBE, QUIT) and common carrier additions. */
export const OPT_OUT_KEYWORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"];
/** Keywords that lift an opt-out. */
export const OPT_IN_KEYWORDS = ["START", "UNSTOP", "YES"];

export type KeywordAction = { kind: "opt_out" | "opt_in"; keyword: string };

/**
 * The opt-out or opt-in keyword a message consists of, or null. Only the whole text counts (trimmed,
 * any case, inner runs of spaces read as one): "stop" and " Opt  Out " do, "stop it please" does not.
 */
export function parseKeyword(text: string): KeywordAction | null {
  const normalized = text.normalize("NFKC").trim().replace(/\s+/g, " ").toUpperCase();
  if (OPT_OUT_KEYWORDS.includes(normalized)) return { kind: "opt_out", keyword: normalized };
  if (OPT_IN_KEYWORDS.includes(normalized)) return { kind: "opt_in", keyword: normalized };
  return null;
}

interface OptOutLogger {
  info(fields: object, message: string): void;
}

export interface OptOutDeps {
  store: OptOutStore;
  clock: Clock;
  logger?: OptOutLogger;
}

export function createOptOutService({ store, clock, logger }: OptOutDeps) {
  return {
    /**
     * Applies a keyword message: records or lifts the sender's opt-out on the message's channel.
     * Returns the action taken, or null when the message is no keyword (it is someone else's to read).
     */
    async receive(provider: string, message: InboundMessage): Promise<KeywordAction | null> {
      const action = parseKeyword(message.text);
      if (!action) return null;
      const { from: phone, channel } = message;
      if (action.kind === "opt_out") {
        const added = await store.addOptOut({
          phone,
          channel,
          source: "keyword",
          keyword: action.keyword,
          createdAt: clock.now(),
        });
        logger?.info({ provider, channel, keyword: action.keyword, added }, "opt-out recorded");
      } else {
        const removed = await store.removeOptOut(phone, channel);
        logger?.info({ provider, channel, keyword: action.keyword, removed }, "opt-out lifted");
      }
      return action;
    },

    /** Records an opt-out made through the API or reported by a provider. */
    async add(phone: string, channel: Channel, source: Exclude<OptOutSource, "keyword"> = "api"): Promise<OptOut> {
      const optOut: OptOut = { phone, channel, source, keyword: null, createdAt: clock.now() };
      if (await store.addOptOut(optOut)) return optOut;
      const [existing] = await store.listOptOuts({ phone, channel, limit: 1 });
      return existing ?? optOut;
    },

    async remove(phone: string, channel: Channel): Promise<boolean> {
      return store.removeOptOut(phone, channel);
    },

    async list(filter: OptOutFilter): Promise<OptOut[]> {
      return store.listOptOuts(filter);
    },
  };
}

export type OptOutService = ReturnType<typeof createOptOutService>;

/** The channels a destination opted out of. */
export async function optedOutChannels(store: OptOutStore, phone: string): Promise<Set<Channel>> {
  return new Set((await store.listOptOuts({ phone })).map((o) => o.channel));
}

/** True when every step of a non-empty route uses a channel in `optedOut`. */
export function routeFullyOptedOut(optedOut: ReadonlySet<Channel>, route: readonly RouteStep[]): boolean {
  return route.length > 0 && route.every((step) => optedOut.has(step.channel));
}
