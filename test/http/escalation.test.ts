import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lockoutMs } from "../../src/limits/limiter.js";
import { GUARD_NEVER_TRIPS } from "../helpers/conversion.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";

type Check = { valid: boolean; reason: string | null; code?: string };

/**
 * The failed-check limits escalate: each lockout of a number (or IP) lasts twice the previous one.
 * rate-limiter-flexible reads `Date.now()`, so the system date is faked and moved with the harness clock.
 */
// Moves a faked Date; Redis expires counters on its own clock, so on shared backends the
// escalation is tested in test/store/shared-limiters.test.ts instead.
describe.skipIf(onSharedBackends())("brute-force escalation", () => {
  let h: Harness | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    vi.useRealTimers();
  });

  const TO = "+14155550188";
  const open = async (env: Record<string, string> = {}) => {
    h = await createHarness(env);
    vi.setSystemTime(h.clock.now());
    return h;
  };
  const advance = (harness: Harness, ms: number) => {
    harness.clock.advance(ms);
    vi.setSystemTime(harness.clock.now());
  };

  /** Ten wrong codes for TO over two fresh verifications (5 checks each), all of them compared. */
  async function tenWrong(harness: Harness) {
    for (let v = 0; v < 2; v++) {
      const { id } = await harness.startVerification(TO);
      for (let g = 0; g < 5; g++) {
        const res = await harness.json<Check>("POST", `/v1/verifications/${id}/check`, { code: "000000" });
        expect(res.body.reason).toBe("wrong_code");
      }
    }
  }
  /** The next check's refusal, with its Retry-After in seconds. */
  async function refusal(harness: Harness) {
    const res = await harness.json<{ code: string }>("POST", "/v1/verification-checks", { to: TO, code: "000000" });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe("rate_limited");
    return Number(res.headers.get("retry-after"));
  }

  it("doubles each lockout of a number: 1 h, 2 h, 4 h", async () => {
    const harness = await open();
    await tenWrong(harness);
    expect(await refusal(harness)).toBe(3600);
    advance(harness, 3600_000);
    await tenWrong(harness);
    expect(await refusal(harness)).toBe(7200);
    advance(harness, 3600_000);
    expect(await refusal(harness)).toBe(3600); // half-way through the second lockout
    advance(harness, 3600_000);
    await tenWrong(harness);
    expect(await refusal(harness)).toBe(14_400);
  });

  it("starts again from 1 h after a correct code", async () => {
    const harness = await open();
    await tenWrong(harness);
    advance(harness, 3600_000);
    await tenWrong(harness);
    advance(harness, 7200_000);
    const { id, code } = await harness.startVerification(TO);
    expect((await harness.json<Check>("POST", `/v1/verifications/${id}/check`, { code })).body.valid).toBe(true);
    await tenWrong(harness);
    expect(await refusal(harness)).toBe(3600);
  });

  it("doubles each lockout of a client IP too", async () => {
    const harness = await open({ VERIFYD_LIMIT_FAILED_CHECKS_PER_IP: "3/1h", ...GUARD_NEVER_TRIPS });
    const client_ip = "203.0.113.7";
    const threeWrong = async (round: number) => {
      for (let i = 0; i < 3; i++) {
        const { id } = await harness.startVerification(`+1415555011${round * 3 + i}`);
        const res = await harness.json<Check>("POST", `/v1/verifications/${id}/check`, { code: "000000", client_ip });
        expect(res.body.reason).toBe("wrong_code");
      }
      const { id } = await harness.startVerification(`+1415555012${round}`);
      const refused = await harness.json("POST", `/v1/verifications/${id}/check`, { code: "000000", client_ip });
      expect(refused.status).toBe(429);
      return Number(refused.headers.get("retry-after"));
    };
    expect(await threeWrong(0)).toBe(3600);
    advance(harness, 3600_000);
    expect(await threeWrong(1)).toBe(7200);
  });

  it("caps a lockout at 24 hours", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((strike) => lockoutMs(3_600_000, strike) / 3_600_000)).toEqual([1, 2, 4, 8, 16, 24, 24]);
  });
});

describe("another service's key learns nothing about a number's verifications", () => {
  let h: Harness;
  afterEach(async () => h.close());

  it("answers a check by number exactly as for a number never verified, and 404 by id", async () => {
    h = await createHarness();
    const pending = "+14155550161";
    const { id, code } = await h.startVerification(pending);
    const other = await h.otherServiceKey();

    const byNumber = await h.json("POST", "/v1/verification-checks", { to: pending, code }, other);
    const unknown = await h.json("POST", "/v1/verification-checks", { to: "+14155550162", code }, other);
    expect(byNumber.status).toBe(200);
    expect(byNumber.body).toEqual({ ...unknown.body });
    expect(byNumber.body).toMatchObject({ valid: false, status: null, reason: "not_found" });

    expect((await h.json("GET", `/v1/verifications/${id}`, undefined, other)).status).toBe(404);
    expect((await h.json("POST", `/v1/verifications/${id}/check`, { code }, other)).body.reason).toBe("not_found");
    expect((await h.json("POST", `/v1/verifications/${id}/resend`, undefined, other)).status).toBe(404);
    // The default service's verification is untouched: its code still approves.
    expect((await h.json<Check>("POST", `/v1/verifications/${id}/check`, { code })).body.valid).toBe(true);
  });
});
