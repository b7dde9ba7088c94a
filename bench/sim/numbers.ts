import { normalizePhone } from "../../src/core/phone.js";
import type { Prng } from "./prng.js";

/**
 * Mobile numbers of a few countries, as the simulated traffic needs them: random numbers where a
 * country's subscribers are, and the ranges a pumping operation walks through.
 */

export interface NumberPlan {
  country: string;
  /** Draws the national significant number's leading digits and the rest. */
  draw(rng: Prng): string;
}

/** Mobile and fixed-or-mobile numbers pass every channel's screening; the rest are drawn again. */
const SENDABLE = new Set(["mobile", "fixed_line_or_mobile"]);

/** Whether `e164` is a number verifyd would send to, in `country`. */
export function sendable(e164: string, country: string): boolean {
  try {
    const phone = normalizePhone(e164);
    return phone.country === country && phone.type !== null && SENDABLE.has(phone.type);
  } catch {
    return false;
  }
}

const US_AREAS = ["212", "213", "305", "312", "347", "415", "469", "512", "602", "617", "646", "702", "718", "773", "786"];
const DE_PREFIXES = ["151", "152", "157", "159", "160", "162", "163", "170", "171", "172", "173", "174", "175", "176", "177"];

export const PLANS: Record<string, NumberPlan> = {
  US: { country: "US", draw: (r) => `+1${r.pick(US_AREAS)}${2 + r.int(8)}${r.digits(6)}` },
  GB: { country: "GB", draw: (r) => `+447${4 + r.int(6)}${r.digits(8)}` },
  DE: { country: "DE", draw: (r) => `+49${r.pick(DE_PREFIXES)}${r.digits(r.chance(0.5) ? 7 : 8)}` },
  IN: { country: "IN", draw: (r) => `+91${6 + r.int(4)}${r.digits(9)}` },
  UZ: { country: "UZ", draw: (r) => `+9989${r.pick(["0", "1", "3", "4", "7", "9"])}${r.digits(7)}` },
  KG: { country: "KG", draw: (r) => `+9967${r.pick(["00", "05", "07", "70", "75", "77"])}${r.digits(6)}` },
  TJ: { country: "TJ", draw: (r) => `+9929${r.pick(["17", "18", "19", "27", "35", "85"])}${r.digits(6)}` },
};

/** A random sendable number of the plan's country. */
export function randomNumber(plan: NumberPlan, rng: Prng): string {
  for (;;) {
    const n = plan.draw(rng);
    if (sendable(n, plan.country)) return n;
  }
}

/**
 * The numbers of a block of `size` consecutive numbers starting at a random sendable number of the
 * plan, in order: what a pumping operation that owns (or leases) a number range sends to.
 */
export function numberRange(plan: NumberPlan, rng: Prng, size: number): { first: string; at(i: number): string } {
  const first = randomNumber(plan, rng);
  const digits = first.slice(1);
  const base = BigInt(digits) - (BigInt(digits) % BigInt(size));
  const width = digits.length;
  return { first, at: (i) => `+${(base + BigInt(i % size)).toString().padStart(width, "0")}` };
}
