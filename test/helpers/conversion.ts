import { expect } from "vitest";
import type { Harness } from "./harness.js";

/**
 * Numbers and moves for the conversion guard's tests. With the default 4 digits, a prefix is the
 * number without its last four digits and a range without its last six:
 * - `pumped(i)`: +141555501NN, prefix +1415555, range +14155 (US);
 * - `neighbour(i)`: +141550001NN, prefix +1415500, the same range +14155;
 * - `honest(i)`: +121255501NN, prefix +1212555, range +12125;
 * - `british(i)`: +447400NN3456, each its own prefix, all in range +447400 (GB).
 */
export const pumped = (i: number) => `+141555501${String(i).padStart(2, "0")}`;
export const neighbour = (i: number) => `+141550001${String(i).padStart(2, "0")}`;
export const honest = (i: number) => `+121255501${String(i).padStart(2, "0")}`;
export const british = (i: number) => `+447400${String(i).padStart(2, "0")}3456`;

/**
 * For tests that start many verifications nobody answers (load, crashes, faults, limits): the
 * conversion guard would take them for pumping. It still counts and judges every send; it never trips.
 */
export const GUARD_NEVER_TRIPS = {
  VERIFYD_CONVERSION_MIN_SENDS: "1000000",
  VERIFYD_CONVERSION_PROBATION_SENDS: "1000000",
} as const;

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** Past the settle delay (10 min) and into the next minute, so the sends before are judged. */
export const SETTLED = 11 * MINUTE;

export type Problem = { code: string; status: number; reasons?: string[] };
export type Block = {
  id: string;
  scope: string;
  key: string;
  reason: string;
  sends: number;
  approvals: number;
  mode: string;
  repeat: number;
  created_at: string;
  expires_at: string;
};

export const start = (h: Harness, to: string) => h.json<Problem & { id: string }>("POST", "/v1/verifications", { to });

export const blocks = async (h: Harness) => (await h.json<{ data: Block[] }>("GET", "/v1/abuse/blocks")).body.data;

/** How long a block lasts, in hours. */
export const hoursOf = (b: Block) => (Date.parse(b.expires_at) - Date.parse(b.created_at)) / HOUR;

/** A send the guard lets through. */
export async function sent(h: Harness, to: string): Promise<string> {
  const res = await start(h, to);
  expect(res.status, `${to}: ${JSON.stringify(res.body)}`).toBe(201);
  return res.body.id;
}

/** A send the guard refuses, with these reasons. */
export async function refused(h: Harness, to: string, reasons: string[]) {
  const res = await start(h, to);
  expect(res.status, `${to}: ${JSON.stringify(res.body)}`).toBe(403);
  expect(res.body).toMatchObject({ code: "blocked", status: 403 });
  expect([...(res.body.reasons ?? [])].sort()).toEqual([...reasons].sort());
  return res;
}

/** A verification started and approved with its code. */
export async function approved(h: Harness, to: string) {
  const { id, code } = await h.startVerification(to);
  const res = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${id}/check`, { code });
  expect(res.body.valid).toBe(true);
}
