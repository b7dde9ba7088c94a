import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

type Check = { valid: boolean; reason: string | null; attempts_remaining: number };
type View = { status: string; check_attempts: number; attempts_remaining: number };

describe("Idempotency-Key on checks", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => h.close());

  const wrong = (code: string) => (code === "000000" ? "111111" : "000000");

  it("replays a retried wrong check without spending another attempt", async () => {
    const { id, code } = await h.startVerification("+14155550100");
    const headers = { "idempotency-key": "check-1" };
    const first = await h.json<Check>("POST", `/v1/verifications/${id}/check`, { code: wrong(code) }, headers);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ valid: false, reason: "wrong_code", attempts_remaining: 4 });

    const again = await h.json<Check>("POST", `/v1/verifications/${id}/check`, { code: wrong(code) }, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);

    const view = await h.json<View>("GET", `/v1/verifications/${id}`);
    expect(view.body.check_attempts).toBe(1);
    expect(view.body.attempts_remaining).toBe(4);
  });

  it("refuses the same key with another code (422) or on another verification (422)", async () => {
    const a = await h.startVerification("+14155550100");
    const b = await h.startVerification("+14155550101");
    const headers = { "idempotency-key": "check-2" };
    await h.json("POST", `/v1/verifications/${a.id}/check`, { code: wrong(a.code) }, headers);

    const otherCode = await h.json<{ code: string }>("POST", `/v1/verifications/${a.id}/check`, { code: a.code }, headers);
    expect(otherCode.status).toBe(422);
    expect(otherCode.body.code).toBe("idempotency_key_mismatch");
    const otherId = await h.json<{ code: string }>("POST", `/v1/verifications/${b.id}/check`, { code: wrong(a.code) }, headers);
    expect(otherId.status).toBe(422);

    // Neither refusal spent an attempt or approved anything.
    const view = await h.json<View>("GET", `/v1/verifications/${a.id}`);
    expect(view.body).toMatchObject({ status: "pending", check_attempts: 1 });
    expect((await h.json<View>("GET", `/v1/verifications/${b.id}`)).body.check_attempts).toBe(0);
  });

  it("replays an approval on /v1/verification-checks instead of answering already_approved", async () => {
    const { code } = await h.startVerification("+14155550100");
    const headers = { "idempotency-key": "check-3" };
    const body = { to: "+14155550100", code };
    const first = await h.json<Check>("POST", "/v1/verification-checks", body, headers);
    expect(first.body).toMatchObject({ valid: true, reason: null });
    const again = await h.json<Check>("POST", "/v1/verification-checks", body, headers);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const fresh = await h.json<Check>("POST", "/v1/verification-checks", body);
    expect(fresh.body).toMatchObject({ valid: false, reason: "already_approved" });
  });

  it("refuses an invalid key and a start key reused on a check", async () => {
    const { id, code } = await h.startVerification("+14155550100", {});
    const bad = await h.json<{ code: string }>("POST", `/v1/verifications/${id}/check`, { code }, { "idempotency-key": "a b" });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("idempotency_key_invalid");
    await h.json("POST", "/v1/verifications", { to: "+14155550102" }, { "idempotency-key": "shared" });
    const reused = await h.json<{ code: string }>(
      "POST",
      `/v1/verifications/${id}/check`,
      { code },
      { "idempotency-key": "shared" },
    );
    expect(reused.status).toBe(422);
  });

  it("replays a retried cancel instead of answering 409", async () => {
    const { id } = await h.startVerification("+14155550100");
    const headers = { "idempotency-key": "cancel-1" };
    const first = await h.json<View>("POST", `/v1/verifications/${id}/cancel`, undefined, headers);
    expect(first.status).toBe(200);
    const again = await h.json<View>("POST", `/v1/verifications/${id}/cancel`, undefined, headers);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe("canceled");
    expect((await h.call("POST", `/v1/verifications/${id}/cancel`)).status).toBe(409);
  });
});
