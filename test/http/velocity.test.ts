import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env.js";
import { numberPrefix } from "../../src/core/abuse.js";
import { createHarness, type Harness } from "../helpers/harness.js";

type Problem = { code: string; status: number; reasons?: string[] };

/** +1415555010<i>: ten numbers sharing the prefix +1415555. */
const inPrefix = (i: number) => `+1415555010${i}`;

describe("send velocity per prefix and per country", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const start = (harness: Harness, to: string) =>
    harness.json<Problem & { id: string; status: string }>("POST", "/v1/verifications", { to });

  it("keys a prefix by dropping the last digits", () => {
    expect(numberPrefix("+14155550101")).toBe("+1415555");
    expect(numberPrefix("+14155550101", 3)).toBe("+14155550");
    expect(numberPrefix("+12345", 4)).toBe("+12345");
  });

  it("refuses a burst to one prefix with 403 prefix_velocity, while another prefix passes", async () => {
    h = await createHarness({ VERIFYD_LIMIT_SENDS_PER_PREFIX: "3/1h" });
    for (let i = 0; i < 3; i++) expect((await start(h, inPrefix(i))).status).toBe(201);
    const refused = await start(h, inPrefix(3));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "blocked", status: 403, reasons: ["prefix_velocity"] });
    expect((await start(h, "+12125550100")).status).toBe(201);
    expect(h.sender.messages.map((m) => m.to)).toEqual([inPrefix(0), inPrefix(1), inPrefix(2), "+12125550100"]);
  });

  it("counts resends too, and a resend refused by its cooldown costs nothing", async () => {
    h = await createHarness({ VERIFYD_LIMIT_SENDS_PER_PREFIX: "2/1h" });
    const first = await start(h, inPrefix(0));
    expect(first.status).toBe(201);
    expect((await h.call("POST", `/v1/verifications/${first.body.id}/resend`)).status).toBe(429); // cooldown
    h.clock.advance(30_000);
    expect((await h.call("POST", `/v1/verifications/${first.body.id}/resend`)).status).toBe(200);
    const refused = await start(h, inPrefix(1));
    expect(refused.body).toMatchObject({ code: "blocked", reasons: ["prefix_velocity"] });
    expect(h.sender.messages.map((m) => m.to)).toEqual([inPrefix(0), inPrefix(0)]);
  });

  it("honours VERIFYD_PREFIX_DIGITS", async () => {
    h = await createHarness({ VERIFYD_LIMIT_SENDS_PER_PREFIX: "1/1h", VERIFYD_PREFIX_DIGITS: "1" });
    expect((await start(h, "+14155550101")).status).toBe(201);
    expect((await start(h, "+14155550111")).status).toBe(201);
    expect((await start(h, "+14155550112")).body.reasons).toEqual(["prefix_velocity"]);
  });

  it("refuses a burst to one country with 403 country_velocity, while another country passes", async () => {
    h = await createHarness({ VERIFYD_LIMIT_SENDS_PER_COUNTRY: "2/1h" });
    expect((await start(h, "+14155550100")).status).toBe(201);
    expect((await start(h, "+12125550100")).status).toBe(201);
    const refused = await start(h, "+13125550100");
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "blocked", reasons: ["country_velocity"] });
    expect((await start(h, "+447400123456")).status).toBe(201);
    expect(h.sender.messages.map((m) => m.to)).toEqual(["+14155550100", "+12125550100", "+447400123456"]);
  });

  it("in monitor mode sends anyway and logs the reason without the full number", async () => {
    h = await createHarness({ VERIFYD_ABUSE_MODE: "monitor", VERIFYD_LIMIT_SENDS_PER_PREFIX: "3/1h" });
    for (let i = 0; i < 5; i++) expect((await start(h, inPrefix(i))).status).toBe(201);
    expect(h.sender.messages).toHaveLength(5);
    const lines = h.logs.filter((line) => line.includes("prefix_velocity"));
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 40,
      to: "+1415***0103",
      reasons: ["prefix_velocity"],
      mode: "monitor",
    });
    for (let i = 0; i < 5; i++) {
      expect(h.logs.some((line) => line.includes(inPrefix(i)) || line.includes(inPrefix(i).slice(2)))).toBe(false);
    }
  });

  it("in enforce mode logs the first refusal of a wave at once and sums up the others, and counts each in the metric", async () => {
    h = await createHarness({ VERIFYD_LIMIT_SENDS_PER_COUNTRY: "1/1h" });
    expect((await start(h, "+14155550100")).status).toBe(201);
    expect((await start(h, "+447400123457")).status).toBe(201);
    const wave = ["+12125550100", "+13125550100", "+16175550100", "+17135550100", "+447400123456"];
    for (const to of wave) expect((await start(h, to)).body).toMatchObject({ code: "blocked", reasons: ["country_velocity"] });
    const told = () => h?.logs.filter((line) => line.includes("send velocity refused")).map((line) => JSON.parse(line)) ?? [];
    expect(told()).toEqual([expect.objectContaining({ level: 40, to: "+1212***0100", country: "US", refused: 1 })]);
    const metrics = await (await h.call("GET", "/metrics")).text();
    expect(metrics).toContain('verifyd_abuse_blocked_total{rule="country_velocity"} 5');
    // The rest of the wave is summed up within 10 s, or at shutdown as here.
    await h.close();
    expect(told()).toHaveLength(2);
    expect(told()[1]).toMatchObject({
      level: 40,
      refused: 4,
      reasons: ["country_velocity"],
      by_reason: { country_velocity: 4 },
      by_country: { US: 3, GB: 1 },
      to: "+1312***0100",
    });
    h = undefined;
  });

  it("lets allow-listed prefixes through without counting them", async () => {
    h = await createHarness({
      VERIFYD_ALLOW_NUMBERS: "+1415555",
      VERIFYD_LIMIT_SENDS_PER_PREFIX: "3/1h",
      VERIFYD_LIMIT_SENDS_PER_COUNTRY: "2/1h",
    });
    for (let i = 0; i < 5; i++) expect((await start(h, inPrefix(i))).status).toBe(201);
    expect((await start(h, "+12125550100")).status).toBe(201);
    expect((await start(h, "+13125550100")).status).toBe(201);
    expect((await start(h, "+16175550100")).body.reasons).toEqual(["country_velocity"]);
  });

  it("reads the velocity settings, and refuses bad ones naming the variable", () => {
    const config = loadConfig({});
    expect(config.limits.sends_per_prefix).toEqual({ points: 30, windowMs: 3_600_000 });
    expect(config.limits.sends_per_country).toEqual({ points: 500, windowMs: 3_600_000 });
    expect(config.screening.prefixDigits).toBe(4);
    expect(loadConfig({ VERIFYD_PREFIX_DIGITS: "3" }).screening.prefixDigits).toBe(3);
    expect(() => loadConfig({ VERIFYD_LIMIT_SENDS_PER_PREFIX: "lots" })).toThrow(/VERIFYD_LIMIT_SENDS_PER_PREFIX/);
    expect(() => loadConfig({ VERIFYD_LIMIT_SENDS_PER_COUNTRY: "5" })).toThrow(/VERIFYD_LIMIT_SENDS_PER_COUNTRY/);
    expect(() => loadConfig({ VERIFYD_PREFIX_DIGITS: "0" })).toThrow(/VERIFYD_PREFIX_DIGITS/);
  });
});
