import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env.js";
import { createHarness, type Harness } from "../helpers/harness.js";

const PREMIUM_GB = "+449098790000";
const FIXED_DE = "+493012345678";
const MOBILE_DE = "+4915112345678";

type Problem = { code: string; status: number; reasons?: string[] };

describe("number screening over HTTP", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const start = (harness: Harness, to: string, extra: Record<string, unknown> = {}) =>
    harness.json<Problem & { id: string; status: string }>("POST", "/v1/verifications", { to, ...extra });

  it("enforces by default: 403 blocked with the reasons, and nothing sent", async () => {
    h = await createHarness();
    const premium = await start(h, PREMIUM_GB);
    expect(premium.status).toBe(403);
    expect(premium.headers.get("content-type")).toBe("application/problem+json");
    expect(premium.body).toMatchObject({ code: "blocked", status: 403, reasons: ["premium_rate_number"] });
    const fixed = await start(h, FIXED_DE);
    expect(fixed.status).toBe(403);
    expect(fixed.body.reasons).toEqual(["fixed_line_number"]);
    expect(h.sender.messages).toHaveLength(0);

    const mobile = await start(h, MOBILE_DE);
    expect(mobile.status).toBe(201);
    expect(h.sender.messages.map((m) => m.to)).toEqual([MOBILE_DE]);
  });

  it("refuses blocked and not-allowed countries", async () => {
    h = await createHarness({ VERIFYD_BLOCKED_COUNTRIES: "de, fr", VERIFYD_ALLOWED_COUNTRIES: "DE,US" });
    const blocked = await start(h, MOBILE_DE);
    expect(blocked.status).toBe(403);
    expect(blocked.body.reasons).toEqual(["country_blocked"]);
    const notAllowed = await start(h, "+447400123456");
    expect(notAllowed.status).toBe(403);
    expect(notAllowed.body.reasons).toEqual(["country_not_allowed"]);
    expect((await start(h, "+14155550100")).status).toBe(201);
    expect(h.sender.messages.map((m) => m.to)).toEqual(["+14155550100"]);
  });

  it("lets allow-listed numbers and prefixes through", async () => {
    h = await createHarness({ VERIFYD_ALLOW_NUMBERS: "+4490987, +493012345678" });
    expect((await start(h, PREMIUM_GB)).status).toBe(201);
    expect((await start(h, FIXED_DE)).status).toBe(201);
    expect((await start(h, "+493012345679")).status).toBe(403);
    expect(h.sender.messages.map((m) => m.to)).toEqual([PREMIUM_GB, FIXED_DE]);
  });

  it("drops only the route steps whose channel refuses the number", async () => {
    h = await createHarness(
      {},
      {
        providers: { sms1: { type: "capture" }, wa: { type: "capture" } },
        route: [
          { channel: "sms", providers: ["sms1"] },
          { channel: "whatsapp", providers: ["wa"] },
        ],
      },
    );
    const fixed = await start(h, FIXED_DE);
    expect(fixed.status).toBe(201);
    expect(h.provider("sms1").messages).toHaveLength(0);
    expect(h.provider("wa").messages.map((m) => m.to)).toEqual([FIXED_DE]);
    const premium = await start(h, PREMIUM_GB);
    expect(premium.status).toBe(403);
    expect(premium.body.reasons).toEqual(["premium_rate_number"]);
    expect(h.provider("wa").messages).toHaveLength(1);
  });

  it("in monitor mode sends anyway and logs the reasons without the full number", async () => {
    h = await createHarness({ VERIFYD_ABUSE_MODE: "monitor" });
    const res = await start(h, PREMIUM_GB);
    expect(res.status).toBe(201);
    expect(h.sender.messages.map((m) => m.to)).toEqual([PREMIUM_GB]);
    const lines = h.logs.filter((line) => line.includes("premium_rate_number"));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 40,
      to: "+4490***0000",
      reasons: ["premium_rate_number"],
      mode: "monitor",
      blocked: true,
    });
    expect(h.logs.some((line) => line.includes(PREMIUM_GB) || line.includes("9098790000"))).toBe(false);
  });

  it("reads the screening settings, and refuses bad ones naming the variable", () => {
    expect(loadConfig({}).screening).toMatchObject({
      mode: "enforce",
      blockedCountries: [],
      allowedCountries: [],
      allowNumbers: [],
    });
    expect(
      loadConfig({ VERIFYD_ABUSE_MODE: "monitor", VERIFYD_BLOCKED_COUNTRIES: " gb ,US", VERIFYD_ALLOW_NUMBERS: "+4477009" })
        .screening,
    ).toMatchObject({ mode: "monitor", blockedCountries: ["GB", "US"], allowNumbers: ["+4477009"] });
    expect(() => loadConfig({ VERIFYD_ABUSE_MODE: "log" })).toThrow(/VERIFYD_ABUSE_MODE/);
    expect(() => loadConfig({ VERIFYD_BLOCKED_COUNTRIES: "GBR" })).toThrow(/VERIFYD_BLOCKED_COUNTRIES/);
    expect(() => loadConfig({ VERIFYD_ALLOWED_COUNTRIES: "1" })).toThrow(/VERIFYD_ALLOWED_COUNTRIES/);
    expect(() => loadConfig({ VERIFYD_ALLOW_NUMBERS: "4477009" })).toThrow(/VERIFYD_ALLOW_NUMBERS/);
  });
});
