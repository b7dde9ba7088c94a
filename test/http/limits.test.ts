import { afterEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

/** Each limit, set low, must refuse with 429, Retry-After and RateLimit fields once exhausted. */
describe("rate limits", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const expect429 = (res: { status: number; body: Record<string, unknown>; headers: Headers }, rule: string) => {
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.code).toBe("rate_limited");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(res.headers.get("ratelimit-policy")).toContain(`"${rule}"`);
    expect(res.headers.get("ratelimit")).toContain(";r=0;");
    expect((res.body.limit as { rule: string }).rule).toBe(rule);
  };

  it("limits sends per destination across verifications", async () => {
    h = await createHarness({ VERIFYD_LIMIT_SENDS_PER_DESTINATION: "2/10m" });
    const to = "+14155550111";
    const { id, code } = await h.startVerification(to);
    await h.json("POST", `/v1/verifications/${id}/check`, { code }); // approve, so the next start is a new verification
    await h.startVerification(to);
    h.clock.advance(30_000); // past the resend cooldown: the destination limit is what refuses
    const third = await h.json("POST", "/v1/verifications", { to });
    expect429(third, "sends_per_destination");
    expect(h.sender.messages).toHaveLength(2);
    // Another destination is not affected.
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550112" })).status).toBe(201);
  });

  it("limits resends per destination too", async () => {
    h = await createHarness({ VERIFYD_LIMIT_SENDS_PER_DESTINATION: "2/10m" });
    const { id } = await h.startVerification("+14155550113");
    h.clock.advance(30_000);
    expect((await h.call("POST", `/v1/verifications/${id}/resend`)).status).toBe(200);
    h.clock.advance(30_000);
    expect429(await h.json("POST", `/v1/verifications/${id}/resend`), "sends_per_destination");
  });

  it("limits starts per end-user IP when client_ip is given", async () => {
    h = await createHarness({ VERIFYD_LIMIT_STARTS_PER_IP: "2/1h" });
    const ip = "203.0.113.9";
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550121", client_ip: ip })).status).toBe(201);
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550122", client_ip: ip })).status).toBe(201);
    expect429(await h.json("POST", "/v1/verifications", { to: "+14155550123", client_ip: ip }), "starts_per_ip");
    // Another IP, and a request without client_ip, still pass: no IP means no per-IP limit.
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550124", client_ip: "203.0.113.10" })).status).toBe(201);
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550125" })).status).toBe(201);
  });

  it("reads the client IP from X-Forwarded-For only behind trusted proxies", async () => {
    h = await createHarness({ VERIFYD_LIMIT_STARTS_PER_IP: "1/1h", VERIFYD_TRUST_PROXY_HOPS: "1" });
    const xff = { "x-forwarded-for": "198.51.100.1, 203.0.113.50" };
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550126" }, xff)).status).toBe(201);
    expect429(await h.json("POST", "/v1/verifications", { to: "+14155550127" }, xff), "starts_per_ip");
    // The left-most entry is client-controlled and must not be the key: a new spoofed value does not help.
    const spoofed = { "x-forwarded-for": "198.51.100.99, 203.0.113.50" };
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550128" }, spoofed)).status).toBe(429);
  });

  it("ignores X-Forwarded-For by default", async () => {
    h = await createHarness({ VERIFYD_LIMIT_STARTS_PER_IP: "1/1h" });
    const xff = { "x-forwarded-for": "203.0.113.50" };
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550131" }, xff)).status).toBe(201);
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550132" }, xff)).status).toBe(201);
  });

  it("limits requests per API key", async () => {
    h = await createHarness({ VERIFYD_LIMIT_REQUESTS_PER_KEY: "3/1m" });
    for (let i = 0; i < 3; i++) {
      const ok = await h.call("GET", "/v1/verifications/ver_x");
      expect(ok.status).toBe(404);
      expect(ok.headers.get("ratelimit")).toContain(`;r=${2 - i};`);
    }
    expect429(await h.json("GET", "/v1/verifications/ver_x"), "requests_per_key");
  });

  it("limits failed checks per destination across verifications (resends do not reset it)", async () => {
    h = await createHarness({ VERIFYD_LIMIT_FAILED_CHECKS_PER_DESTINATION: "3/1h", VERIFYD_MAX_CHECKS: "2" });
    const to = "+14155550141";
    const first = await h.startVerification(to);
    const wrong = (code: string) => (code === "000000" ? "111111" : "000000");
    await h.json("POST", `/v1/verifications/${first.id}/check`, { code: wrong(first.code) });
    await h.json("POST", `/v1/verifications/${first.id}/check`, { code: wrong(first.code) }); // closes: max attempts
    const second = await h.startVerification(to);
    await h.json("POST", `/v1/verifications/${second.id}/check`, { code: wrong(second.code) });
    // Three failures on this number: even the right code is refused now.
    expect429(
      await h.json("POST", `/v1/verifications/${second.id}/check`, { code: second.code }),
      "failed_checks_per_destination",
    );
    expect429(await h.json("POST", "/v1/verification-checks", { to, code: second.code }), "failed_checks_per_destination");
  });

  it("limits failed checks per end-user IP across numbers", async () => {
    h = await createHarness({ VERIFYD_LIMIT_FAILED_CHECKS_PER_IP: "2/1h" });
    const ip = "198.51.100.7";
    const a = await h.startVerification("+14155550151");
    const b = await h.startVerification("+14155550152");
    const bad = (code: string) => (code === "000000" ? "111111" : "000000");
    await h.json("POST", `/v1/verifications/${a.id}/check`, { code: bad(a.code), client_ip: ip });
    await h.json("POST", `/v1/verifications/${a.id}/check`, { code: bad(a.code), client_ip: ip });
    expect429(await h.json("POST", `/v1/verifications/${b.id}/check`, { code: b.code, client_ip: ip }), "failed_checks_per_ip");
    // The same user from another IP is judged on its own record.
    const ok = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${b.id}/check`, {
      code: b.code,
      client_ip: "198.51.100.8",
    });
    expect(ok.body.valid).toBe(true);
  });

  it("clears a number's failed checks after a success", async () => {
    h = await createHarness({ VERIFYD_LIMIT_FAILED_CHECKS_PER_DESTINATION: "2/1h" });
    const to = "+14155550161";
    const first = await h.startVerification(to);
    await h.json("POST", `/v1/verifications/${first.id}/check`, { code: first.code === "000000" ? "111111" : "000000" });
    expect(
      (await h.json<{ valid: boolean }>("POST", `/v1/verifications/${first.id}/check`, { code: first.code })).body.valid,
    ).toBe(true);
    const second = await h.startVerification(to);
    await h.json("POST", `/v1/verifications/${second.id}/check`, { code: second.code === "000000" ? "111111" : "000000" });
    const res = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${second.id}/check`, { code: second.code });
    expect(res.status).toBe(200);
    expect(res.body.valid).toBe(true);
  });
});
