import { uuidv7obj } from "uuidv7";
import type { Clock, Ids } from "./core/ports.js";

/** The wall clock, for production; tests inject a fake. */
export const systemClock: Clock = { now: () => Date.now() };

const compact = () => uuidv7obj().toHex();

/** Sortable, typed ids (UUIDv7: 48-bit time + 74 random bits), e.g. `ver_01932c…`. */
export const uuidIds: Ids = {
  verification: () => `ver_${compact()}`,
  delivery: () => `dlv_${compact()}`,
  apiKey: () => `key_${compact()}`,
  factor: () => `fct_${compact()}`,
  // Time-ordered, so each event's row lands at the end of the events table's key, not on a random page.
  event: () => `evt_${compact()}`,
};
