import { randomFillSync } from "node:crypto";
import { V7Generator } from "uuidv7";
import type { Clock, Ids } from "./core/ports.js";

/** The wall clock, for production; tests inject a fake. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * The random bits of the ids, drawn from the system's CSPRNG 4 KiB at a time. The package's own
 * source refills 32 bytes at a time through WebCrypto's `getRandomValues`, whose argument checks
 * cost more than the bytes: a start made one such call for about every id it wrote.
 */
class PooledRandom {
  private readonly pool = new Uint32Array(1024);
  private next = this.pool.length;
  nextUint32(): number {
    if (this.next === this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    return this.pool[this.next++] as number;
  }
}

const generator = new V7Generator(new PooledRandom());
const compact = () => generator.generate().toHex();

/** Sortable, typed ids (UUIDv7: 48-bit time + 74 random bits), e.g. `ver_01932c…`. */
export const uuidIds: Ids = {
  verification: () => `ver_${compact()}`,
  delivery: () => `dlv_${compact()}`,
  apiKey: () => `key_${compact()}`,
  factor: () => `fct_${compact()}`,
  // Time-ordered, so each event's row lands at the end of the events table's key, not on a random page.
  event: () => `evt_${compact()}`,
};
