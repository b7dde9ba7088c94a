import { afterEach, describe, expect, it } from "vitest";
import { pumped, refused, sent, start } from "../helpers/conversion.js";
import { createHarness, type Harness } from "../helpers/harness.js";

/**
 * On a route with a WhatsApp step, the conversion guard refuses a blocked or held destination's
 * paying channels rather than the whole send: the verification goes on WhatsApp alone (a pumped
 * number earns nothing from it), so a real user in a pumped range who has WhatsApp still gets a code.
 */
const CONFIG = {
  providers: { wa: { type: "capture" }, sms1: { type: "capture" } },
  route: [
    { channel: "whatsapp", providers: ["wa"], fallbackAfter: "30s" },
    { channel: "sms", providers: ["sms1"] },
  ],
};
const UNPROVEN = ["unproven_country", "unproven_prefix", "unproven_range"];

type View = {
  id: string;
  status: string;
  withheld?: { channels: string[]; reasons: string[] };
  deliveries?: { channel: string; status: string; error_code: string | null; error_message: string | null }[];
};

describe("pumping defences on a route with WhatsApp", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** Five unanswered sends: the destination's prefix, range and country are held from the sixth. */
  async function heldRange(harness: Harness) {
    for (let i = 0; i < 5; i++) await sent(harness, pumped(i));
  }

  it("sends on WhatsApp alone, withholding SMS with the guard's reasons, and fails when WhatsApp does not arrive", async () => {
    h = await createHarness({}, CONFIG);
    await heldRange(h);
    const res = await start(h, pumped(5));
    expect(res.status).toBe(201);
    const view = res.body as unknown as View;
    expect(view.withheld?.channels).toEqual(["sms"]);
    expect([...(view.withheld?.reasons ?? [])].sort()).toEqual(UNPROVEN);
    const wa = h.provider("wa");
    expect(wa.messages.map((m) => m.to)).toContain(pumped(5));

    // No WhatsApp account: the receipt fails, and the SMS step is refused as a 403 would be.
    await h.runtime.outbox.applyStatus("wa", { providerMessageId: `msg_${wa.messages.length}`, status: "failed" });
    expect(h.provider("sms1").messages.filter((m) => m.to === pumped(5))).toEqual([]);
    const after = await h.json<View>("GET", `/v1/verifications/${view.id}`);
    expect(after.body.status).toBe("failed");
    const sms = after.body.deliveries?.find((d) => d.channel === "sms");
    expect(sms).toMatchObject({ status: "failed", error_code: "blocked" });
    expect(sms?.error_message).toContain("unproven_prefix");

    const metrics = await (await h.call("GET", "/metrics")).text();
    expect(metrics).toContain('verifyd_conversion_guard_total{action="withheld",reason="unproven_prefix"} 1');
  });

  it("still refuses a send that can only go on a paying channel", async () => {
    h = await createHarness({}, CONFIG);
    await heldRange(h);
    const res = await h.json<{ code: string; reasons: string[] }>("POST", "/v1/verifications", {
      to: pumped(5),
      channels: ["sms"],
    });
    expect(res.status).toBe(403);
    expect([...res.body.reasons].sort()).toEqual(UNPROVEN);
  });

  it("resends a withheld verification on WhatsApp, and refuses a resend that could fall back to SMS", async () => {
    h = await createHarness({}, CONFIG);
    const early = await sent(h, pumped(0)); // before the hold: its route keeps SMS
    for (let i = 1; i < 5; i++) await sent(h, pumped(i));
    const withheld = await start(h, pumped(5));
    expect(withheld.status).toBe(201);
    h.clock.advance(31_000);
    const again = await h.json<View>("POST", `/v1/verifications/${withheld.body.id}/resend`);
    expect(again.status).toBe(200);
    expect(again.body.withheld?.channels).toEqual(["sms"]);
    expect(h.provider("wa").messages.filter((m) => m.to === pumped(5))).toHaveLength(2);

    const resend = await h.json<{ code: string; reasons: string[] }>("POST", `/v1/verifications/${early}/resend`);
    expect(resend.status).toBe(403);
    expect(resend.body.code).toBe("blocked");
  });

  it("remembers a WhatsApp-only approval for its number, without vouching for the range", async () => {
    h = await createHarness({}, CONFIG);
    await heldRange(h);
    const res = await start(h, pumped(5));
    expect(res.status).toBe(201);
    const code = h.provider("wa").lastCode(pumped(5));
    const check = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${res.body.id}/check`, { code });
    expect(check.body.valid).toBe(true);

    // The range is still unproven: counted, this approval would have taken it off probation.
    const next = await start(h, pumped(6));
    expect(next.status).toBe(201);
    expect((next.body as unknown as View).withheld?.channels).toEqual(["sms"]);
    // The number itself is known now: its next verification keeps the whole route.
    h.clock.advance(31_000);
    const known = await start(h, pumped(5));
    expect(known.status).toBe(201);
    expect((known.body as unknown as View).withheld).toBeUndefined();
  });

  it("refuses outright on a route without WhatsApp, as before", async () => {
    h = await createHarness();
    await heldRange(h);
    await refused(h, pumped(5), UNPROVEN);
  });
});
