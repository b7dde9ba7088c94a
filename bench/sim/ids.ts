import type { Ids } from "../../src/core/ports.js";

/** Deterministic ids, so two runs of a scenario write the same rows in the same order. */
export function counterIds(): Ids {
  let n = 0;
  const next = (prefix: string) => `${prefix}_${String(++n).padStart(12, "0")}`;
  return {
    verification: () => next("ver"),
    delivery: () => next("dlv"),
    apiKey: () => next("key"),
    factor: () => next("fct"),
    event: () => next("evt"),
  };
}
