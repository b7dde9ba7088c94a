import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

const TO = "+14155550123";
type Check = { valid: boolean; status: string | null; reason: string | null; attempts_remaining: number };

describe("verification lifecycle", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => h.close());

  const check = (id: string, code: string) => h.json<Check>("POST", `/v1/verifications/${id}/check`, { code });

  it("approves the right code", async () => {
    const { id, code } = await h.startVerification(TO);
    expect(code).toMatch(/^\d{6}$/);
    const res = await check(id, code);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ valid: true, status: "approved", reason: null });
    const read = await h.json<{ status: string; approved_at: string }>("GET", `/v1/verifications/${id}`);
    expect(read.body.status).toBe("approved");
    expect(read.body.approved_at).not.toBeNull();
  });

  it("counts wrong codes down and closes on the last one", async () => {
    const { id, code } = await h.startVerification(TO);
    const wrong = code === "000000" ? "111111" : "000000";
    for (const left of [4, 3, 2, 1]) {
      const res = await check(id, wrong);
      expect(res.body).toMatchObject({ valid: false, status: "pending", reason: "wrong_code", attempts_remaining: left });
    }
    const fifth = await check(id, wrong);
    expect(fifth.body).toMatchObject({
      valid: false,
      status: "max_attempts_reached",
      reason: "wrong_code",
      attempts_remaining: 0,
    });
    // The 6th check is refused even with the right code.
    const sixth = await check(id, code);
    expect(sixth.status).toBe(200);
    expect(sixth.body).toMatchObject({ valid: false, status: "max_attempts_reached", reason: "max_attempts_reached" });
  });

  it("expires at the ttl", async () => {
    const { id, code } = await h.startVerification(TO);
    h.clock.advance(10 * 60_000 - 1);
    const read = await h.json<{ status: string }>("GET", `/v1/verifications/${id}`);
    expect(read.body.status).toBe("pending");
    h.clock.advance(1);
    const res = await check(id, code);
    expect(res.body).toMatchObject({ valid: false, status: "expired", reason: "expired" });
    const after = await h.json<{ status: string }>("GET", `/v1/verifications/${id}`);
    expect(after.body.status).toBe("expired");
  });

  it("a start after the ttl, before any expiry sweep, creates a new verification and expires the old", async () => {
    const first = await h.startVerification(TO);
    h.clock.advance(10 * 60_000); // lapsed; no worker pass has marked it expired yet
    const second = await h.startVerification(TO);
    expect(second.id).not.toBe(first.id);
    const old = await h.json<{ status: string }>("GET", `/v1/verifications/${first.id}`);
    expect(old.body.status).toBe("expired");
    expect((await check(second.id, second.code)).body).toMatchObject({ valid: true, status: "approved" });
  });

  it("is single use", async () => {
    const { id, code } = await h.startVerification(TO);
    expect((await check(id, code)).body.valid).toBe(true);
    const again = await check(id, code);
    expect(again.body).toMatchObject({ valid: false, status: "approved", reason: "already_approved" });
  });

  it("approves exactly once under 20 concurrent correct checks", async () => {
    const h2 = await createHarness({ VERIFYD_MAX_CHECKS: "50" });
    try {
      const { id, code } = await h2.startVerification(TO);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => h2.json<Check>("POST", `/v1/verifications/${id}/check`, { code })),
      );
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(results.filter((r) => r.body.valid)).toHaveLength(1);
      expect(results.filter((r) => !r.body.valid).every((r) => r.body.reason === "already_approved")).toBe(true);
    } finally {
      await h2.close();
    }
  });

  it("answers not_found for an unknown id, as data", async () => {
    const res = await check("ver_doesnotexist", "123456");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ valid: false, status: null, reason: "not_found" });
  });

  it("checks by phone number", async () => {
    const { code } = await h.startVerification(TO);
    const wrong = await h.json<Check>("POST", "/v1/verification-checks", {
      to: "+1 (415) 555-0123",
      code: code === "000000" ? "111111" : "000000",
    });
    expect(wrong.body).toMatchObject({ valid: false, reason: "wrong_code", attempts_remaining: 4 });
    const right = await h.json<Check>("POST", "/v1/verification-checks", { to: TO, code });
    expect(right.body).toMatchObject({ valid: true, status: "approved" });
    const none = await h.json<Check>("POST", "/v1/verification-checks", { to: "+14155550199", code });
    expect(none.body).toMatchObject({ valid: false, reason: "not_found" });
  });

  it("cancels a pending verification, after which its code fails", async () => {
    const { id, code } = await h.startVerification(TO);
    const canceled = await h.json<{ status: string }>("POST", `/v1/verifications/${id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe("canceled");
    expect((await check(id, code)).body).toMatchObject({ valid: false, reason: "canceled" });
    const again = await h.json<{ code: string }>("POST", `/v1/verifications/${id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("verification_closed");
  });

  it("a second start for the same number is a resend of the live verification", async () => {
    const first = await h.startVerification(TO);
    h.clock.advance(30_000);
    const second = await h.json<{ id: string; send_attempts: number }>("POST", "/v1/verifications", { to: TO });
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.id);
    expect(second.body.send_attempts).toBe(2);
    expect(h.sender.messages).toHaveLength(2);
  });

  it("a start after approval creates a new verification", async () => {
    const first = await h.startVerification(TO);
    await check(first.id, first.code);
    const second = await h.startVerification(TO);
    expect(second.id).not.toBe(first.id);
  });
});

describe("resends", () => {
  it("keep the same code under the `same` policy", async () => {
    const h = await createHarness({ VERIFYD_RESEND_POLICY: "same" });
    try {
      const { id, code } = await h.startVerification(TO);
      h.clock.advance(30_000);
      const res = await h.json("POST", `/v1/verifications/${id}/resend`);
      expect(res.status).toBe(200);
      expect(h.sender.messages).toHaveLength(2);
      expect(h.sender.lastCode()).toBe(code);
    } finally {
      await h.close();
    }
  });

  it("rotate the code under the `new` policy, and the old code stops working", async () => {
    const h = await createHarness({ VERIFYD_RESEND_POLICY: "new", VERIFYD_CODE_LENGTH: "10" });
    try {
      const { id, code: old } = await h.startVerification(TO);
      h.clock.advance(30_000);
      expect((await h.call("POST", `/v1/verifications/${id}/resend`)).status).toBe(200);
      const fresh = h.sender.lastCode();
      expect(fresh).not.toBe(old); // 10 digits: a collision is a 1e-10 event
      const stale = await h.json<Check>("POST", `/v1/verifications/${id}/check`, { code: old });
      expect(stale.body.reason).toBe("wrong_code");
      const ok = await h.json<Check>("POST", `/v1/verifications/${id}/check`, { code: fresh });
      expect(ok.body.valid).toBe(true);
    } finally {
      await h.close();
    }
  });

  it("bite on the cooldown with 429 and Retry-After", async () => {
    const h = await createHarness();
    try {
      const { id } = await h.startVerification(TO);
      h.clock.advance(10_000);
      const res = await h.json<{ code: string }>("POST", `/v1/verifications/${id}/resend`);
      expect(res.status).toBe(429);
      expect(res.body.code).toBe("resend_cooldown");
      expect(res.headers.get("retry-after")).toBe("20");
      expect(h.sender.messages).toHaveLength(1);
      h.clock.advance(20_000);
      expect((await h.call("POST", `/v1/verifications/${id}/resend`)).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it("bite on max sends", async () => {
    const h = await createHarness({ VERIFYD_MAX_SENDS: "3", VERIFYD_LIMIT_SENDS_PER_DESTINATION: "50/10m" });
    try {
      const { id } = await h.startVerification(TO);
      for (let i = 0; i < 2; i++) {
        h.clock.advance(30_000);
        expect((await h.call("POST", `/v1/verifications/${id}/resend`)).status).toBe(200);
      }
      h.clock.advance(30_000);
      const res = await h.json<{ code: string; next_resend_at?: string }>("POST", `/v1/verifications/${id}/resend`);
      expect(res.status).toBe(429);
      expect(res.body.code).toBe("max_sends_reached");
      expect(res.headers.get("retry-after")).not.toBeNull();
      expect(h.sender.messages).toHaveLength(3);
      const read = await h.json<{ next_resend_at: string | null }>("GET", `/v1/verifications/${id}`);
      expect(read.body.next_resend_at).toBeNull();
    } finally {
      await h.close();
    }
  });
});
