import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

/**
 * Random sequences of starts, checks (right, wrong, by id and by number), resends, cancels, reads
 * and clock jumps on a few numbers, with the verification invariants asserted after every step:
 * - compared checks never exceed the limit and `attempts_remaining` never grows;
 * - approved, canceled, expired and max_attempts_reached are terminal;
 * - only the code that was sent last can approve, and only once.
 */
const seed = Number(process.env.FUZZ_SEED ?? 20261124);
const numRuns = Number(process.env.FUZZ_RUNS ?? 40);
const MAX_CHECKS = 5;
const TERMINAL = new Set(["approved", "canceled", "expired", "max_attempts_reached"]);

type SimpleKind = "start" | "resend" | "cancel" | "get";
type Action =
  | { [K in SimpleKind]: { kind: K; n: number } }[SimpleKind]
  | { kind: "check"; n: number; right: boolean; byNumber: boolean }
  | { kind: "advance"; ms: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constantFrom("start", "resend", "cancel", "get"), n: fc.nat(2) }) as fc.Arbitrary<Action>,
  fc.record({ kind: fc.constant("check"), n: fc.nat(2), right: fc.boolean(), byNumber: fc.boolean() }),
  fc.record({ kind: fc.constant("advance"), ms: fc.constantFrom(1_000, 30_000, 61_000, 5 * 60_000, 11 * 60_000) }),
);

interface Seen {
  status: string;
  attemptsRemaining: number;
  code: string;
  approvals: number;
}

describe("verification invariants under random sequences", () => {
  let h: Harness;
  let run = 0;
  beforeAll(async () => {
    // Each run uses fresh numbers; the shared prefix and country must not trip their velocity rules.
    h = await createHarness({
      VERIFYD_CODE_LENGTH: "8",
      VERIFYD_MAX_CHECKS: String(MAX_CHECKS),
      VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000000/1h",
      VERIFYD_LIMIT_SENDS_PER_COUNTRY: "1000000/1h",
    });
  });
  afterAll(async () => h.close());

  it("hold for every sequence", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40 }), async (actions) => {
        run += 1;
        h.clock.advance(3 * 24 * 3_600_000); // every window of every limit has passed since the last run
        const numbers = [0, 1, 2].map((n) => `+1415555${String(run % 1000).padStart(3, "0")}${n}`);
        const current = new Map<number, string>(); // number index → latest verification id
        const seen = new Map<string, Seen>();

        const observe = (id: string, status: string, attemptsRemaining?: number) => {
          const before = seen.get(id);
          if (!before) return;
          if (TERMINAL.has(before.status)) expect(status, `${id} left ${before.status}`).toBe(before.status);
          if (attemptsRemaining !== undefined) {
            expect(attemptsRemaining).toBeGreaterThanOrEqual(0);
            expect(attemptsRemaining).toBeLessThanOrEqual(before.attemptsRemaining);
            before.attemptsRemaining = attemptsRemaining;
          }
          before.status = status;
        };

        for (const a of actions) {
          if (a.kind === "advance") {
            h.clock.advance(a.ms);
            continue;
          }
          const to = numbers[a.n] as string;
          const id = current.get(a.n);
          if (a.kind === "start") {
            const res = await h.json<{ id: string; status: string }>("POST", "/v1/verifications", { to });
            expect([200, 201, 429], JSON.stringify(res.body)).toContain(res.status);
            if (res.status === 429) continue;
            const code = h.sender.lastCode(to);
            const known = seen.get(res.body.id);
            if (known) {
              known.code = code;
              observe(res.body.id, res.body.status);
            } else {
              seen.set(res.body.id, { status: "pending", attemptsRemaining: MAX_CHECKS, code, approvals: 0 });
            }
            current.set(a.n, res.body.id);
          } else if (id === undefined) {
          } else if (a.kind === "resend") {
            const res = await h.json<{ status: string }>("POST", `/v1/verifications/${id}/resend`, {});
            expect(res.status).toBeLessThan(500);
            if (res.status === 200) {
              const s = seen.get(id) as Seen;
              s.code = h.sender.lastCode(to);
              expect(s.status).toBe("pending");
            }
          } else if (a.kind === "cancel") {
            const res = await h.json<{ status: string }>("POST", `/v1/verifications/${id}/cancel`, {});
            expect(res.status).toBeLessThan(500);
            if (res.status === 200) observe(id, res.body.status);
          } else if (a.kind === "get") {
            const res = await h.json<{ status: string }>("GET", `/v1/verifications/${id}`);
            expect(res.status).toBe(200);
            observe(id, res.body.status);
          } else {
            const s = seen.get(id) as Seen;
            const code = a.right ? s.code : s.code.replace(/^./, (d) => String((Number(d) + 1) % 10));
            const res = a.byNumber
              ? await h.json<{ valid: boolean; status: string | null; attempts_remaining: number }>(
                  "POST",
                  "/v1/verification-checks",
                  { to, code },
                )
              : await h.json<{ valid: boolean; status: string | null; attempts_remaining: number }>(
                  "POST",
                  `/v1/verifications/${id}/check`,
                  { code },
                );
            expect([200, 404, 429]).toContain(res.status);
            if (res.status !== 200) continue;
            if (res.body.valid) {
              expect(a.right, "a wrong code approved").toBe(true);
              s.approvals += 1;
              expect(s.approvals, "approved twice").toBe(1);
            }
            // A check by number answers for the pending verification of that number, which is `id` when it is pending.
            if (!a.byNumber || s.status === "pending") observe(id, res.body.status ?? s.status, res.body.attempts_remaining);
          }
        }
      }),
      { seed, numRuns },
    );
  });
});
