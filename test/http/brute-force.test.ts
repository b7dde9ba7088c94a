import { afterEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

/**
 * An attacker who owns nothing but the login form cycles resends, new verifications and guesses
 * against one number. The defaults must bound the guesses that are ever compared: at most
 * VERIFYD_LIMIT_FAILED_CHECKS_PER_DESTINATION (10) per number per hour, plus at most one
 * verification's checks (5) that can race past the counter when fired at the same instant.
 */
describe("brute force against one number", () => {
  let h: Harness;
  afterEach(async () => h.close());

  const TO = "+14155550177";
  type Check = { valid: boolean; reason: string | null };

  /** Every answer that compared a guess (wrong_code), and every answer refused with 429. */
  const tally = (answers: { status: number; body: Check }[]) => ({
    compared: answers.filter((a) => a.status === 200 && a.body.reason === "wrong_code").length,
    refused: answers.filter((a) => a.status === 429).length,
  });

  it("compares at most 10 guesses an hour, whatever the attacker cycles, then answers 429", async () => {
    h = await createHarness();
    const answers: { status: number; body: Check }[] = [];
    let starts = 0;
    for (let round = 0; round < 12; round++) {
      const started = await h.json<{ id: string; code?: string }>("POST", "/v1/verifications", { to: TO });
      if (started.status === 201) starts++;
      const id = started.status === 201 ? started.body.id : undefined;
      for (let guess = 0; guess < 5; guess++) {
        const wrong = String(100000 + round * 10 + guess);
        const res = id
          ? await h.json<Check>("POST", `/v1/verifications/${id}/check`, { code: wrong })
          : await h.json<Check>("POST", "/v1/verification-checks", { to: TO, code: wrong });
        answers.push(res);
      }
      h.clock.advance(31_000); // past the resend cooldown: the attacker asks for a fresh send each round
    }
    const { compared, refused } = tally(answers);
    expect(compared).toBe(10);
    expect(refused).toBeGreaterThanOrEqual(20);
    expect(answers.slice(-20).every((a) => a.status === 429)).toBe(true);
    expect(starts).toBeLessThanOrEqual(5); // VERIFYD_LIMIT_SENDS_PER_DESTINATION 5/10m caps the sends too
    expect(h.sender.messages.length).toBe(starts);
  });

  it("keeps the bound under a burst of concurrent guesses", async () => {
    h = await createHarness();
    let compared = 0;
    for (let round = 0; round < 4; round++) {
      const started = await h.json<{ id: string }>("POST", "/v1/verifications", { to: TO });
      const id = started.status === 201 ? started.body.id : undefined;
      const burst = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          id
            ? h.json<Check>("POST", `/v1/verifications/${id}/check`, { code: String(200000 + round * 100 + i) })
            : h.json<Check>("POST", "/v1/verification-checks", { to: TO, code: String(200000 + round * 100 + i) }),
        ),
      );
      compared += tally(burst).compared;
      h.clock.advance(31_000);
    }
    // 10 from the per-number limit, plus at most one verification's 5 checks racing past its counter.
    expect(compared).toBeGreaterThanOrEqual(10);
    expect(compared).toBeLessThanOrEqual(15);
  });
});
