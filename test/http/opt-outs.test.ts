import { afterEach, describe, expect, it } from "vitest";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio.js";
import { createHarness, type Harness } from "../helpers/harness.js";

/**
 * Opt-outs end to end: the user's STOP arrives as a signed Twilio incoming-message webhook, later
 * sends to that number on that channel are skipped (or the start refused), and START lifts it.
 */

const PUBLIC_URL = "https://verify.example.com";
const SMS_NUMBER = "+15017122661";
const USER = "+14155550142";
const OTHER = "+14155550199";

type View = {
  id: string;
  status: string;
  channel: string;
  deliveries: { step: number; channel: string; provider: string; status: string; error_code: string | null }[];
};
type OptOutView = { phone: string; channel: string; source: string; keyword: string | null; created_at: string };

describe("opt-outs", () => {
  let h: Harness;
  let fake: FakeTwilio;

  const boot = async (route: object[], providers: Record<string, object> = {}) => {
    fake = await startFakeTwilio();
    h = await createHarness(
      { VERIFYD_PUBLIC_URL: PUBLIC_URL },
      {
        providers: {
          twilio: {
            type: "twilio",
            accountSid: fake.accountSid,
            authToken: fake.authToken,
            from: SMS_NUMBER,
            baseUrl: fake.baseUrl,
          },
          ...providers,
        },
        route,
      },
    );
  };
  afterEach(async () => {
    await h?.close();
    await fake?.close();
  });

  /** The user's text, through Twilio's signed incoming-message webhook. */
  const message = async (from: string, body: string) => {
    const webhook = fake.inbound({ url: `${PUBLIC_URL}/webhooks/twilio/inbound`, from, to: SMS_NUMBER, body });
    const res = await h.runtime.app.request("/webhooks/twilio/inbound", {
      method: "POST",
      headers: webhook.headers,
      body: webhook.rawBody,
    });
    expect(res.status).toBe(200);
  };
  const start = (to: string) => h.json<View & { code?: string }>("POST", "/v1/verifications", { to });
  const view = async (id: string) => (await h.json<View>("GET", `/v1/verifications/${id}`)).body;
  const sends = () => fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/Messages.json"));

  it("refuses a start on an SMS-only route after STOP, and allows it again after START", async () => {
    await boot([{ channel: "sms", providers: ["twilio"] }]);
    await message(USER, "  Stop ");
    const refused = await start(USER);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "opted_out", status: 403 });
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(sends()).toHaveLength(0);

    // Someone else's number is unaffected; a sentence containing "stop" is no keyword.
    expect((await start(OTHER)).status).toBe(201);
    expect(sends().map((r) => r.form.To)).toEqual([OTHER]);
    await message(OTHER, "stop it please");
    h.clock.advance(60_000);
    expect((await start(OTHER)).status).toBe(201);

    const listed = await h.json<{ data: OptOutView[] }>("GET", `/v1/opt-outs?phone=${encodeURIComponent(USER)}`);
    expect(listed.body.data).toEqual([
      { phone: USER, channel: "sms", source: "keyword", keyword: "STOP", created_at: expect.any(String) },
    ]);

    await message(USER, "START");
    const allowed = await start(USER);
    expect(allowed.status).toBe(201);
    expect(sends().map((r) => r.form.To)).toContain(USER);
    expect((await h.json<{ data: OptOutView[] }>("GET", `/v1/opt-outs?phone=${encodeURIComponent(USER)}`)).body.data).toEqual([]);
  });

  it("skips the opted-out SMS step of a WhatsApp→SMS route, while WhatsApp still sends", async () => {
    await boot(
      [
        { channel: "whatsapp", providers: ["wa"], fallbackAfter: "30s" },
        { channel: "sms", providers: ["sms1"] },
      ],
      { wa: { type: "capture" }, sms1: { type: "capture" } },
    );
    await message(USER, "unsubscribe");
    const started = await start(USER);
    expect(started.status).toBe(201);
    expect(h.provider("wa").messages.map((m) => m.to)).toEqual([USER]);

    // No delivery receipt from WhatsApp in time: the route falls over to SMS, which is skipped.
    h.clock.advance(31_000);
    await h.runtime.outbox.runOnce();
    const v = await view(started.body.id);
    expect(v.deliveries).toMatchObject([
      { step: 0, channel: "whatsapp", provider: "wa", status: "accepted" },
      { step: 1, channel: "sms", provider: "sms1", status: "failed", error_code: "opted_out" },
    ]);
    expect(h.provider("sms1").messages).toHaveLength(0);
    expect(sends()).toHaveLength(0);
  });

  it("falls over from an opted-out SMS first step to WhatsApp, and sends SMS again after START", async () => {
    await boot(
      [
        { channel: "sms", providers: ["sms1"] },
        { channel: "whatsapp", providers: ["wa"] },
      ],
      { wa: { type: "capture" }, sms1: { type: "capture" } },
    );
    await message(USER, "STOP");
    const first = await start(USER);
    expect(first.status).toBe(201);
    expect(h.provider("sms1").messages).toHaveLength(0);
    expect(h.provider("wa").messages.map((m) => m.to)).toEqual([USER]);
    expect((await view(first.body.id)).deliveries).toMatchObject([
      { step: 0, channel: "sms", status: "failed", error_code: "opted_out" },
      { step: 1, channel: "whatsapp", provider: "wa", status: "accepted" },
    ]);

    await message(USER, "start");
    await h.json("POST", `/v1/verifications/${first.body.id}/cancel`);
    h.clock.advance(60_000);
    const second = await start(USER);
    expect(second.status).toBe(201);
    expect(h.provider("sms1").messages.map((m) => m.to)).toEqual([USER]);
    expect((await view(second.body.id)).deliveries).toMatchObject([{ step: 0, channel: "sms", status: "accepted" }]);
  });
});

describe("opt-out API", () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const boot = () =>
    createHarness(
      {},
      {
        providers: { sms1: { type: "capture" }, wa: { type: "capture" } },
        route: [
          { channel: "sms", providers: ["sms1"] },
          { channel: "whatsapp", providers: ["wa"] },
        ],
      },
    );

  it("adds, lists and removes opt-outs", async () => {
    h = await boot();
    const added = await h.json<OptOutView>("POST", "/v1/opt-outs", { phone: "+1 (415) 555-0142", channel: "whatsapp" });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      phone: USER,
      channel: "whatsapp",
      source: "api",
      keyword: null,
      created_at: new Date(h.clock.now()).toISOString(),
    });
    h.clock.advance(1000);
    expect((await h.json("POST", "/v1/opt-outs", { phone: USER, channel: "sms" })).status).toBe(201);
    h.clock.advance(1000);
    expect((await h.json("POST", "/v1/opt-outs", { phone: OTHER, channel: "sms" })).status).toBe(201);

    const all = await h.json<{ data: OptOutView[] }>("GET", "/v1/opt-outs");
    expect(all.body.data.map((o) => `${o.phone}:${o.channel}`)).toEqual([`${OTHER}:sms`, `${USER}:sms`, `${USER}:whatsapp`]);
    const mine = await h.json<{ data: OptOutView[] }>("GET", `/v1/opt-outs?phone=${encodeURIComponent(USER)}&channel=sms`);
    expect(mine.body.data.map((o) => `${o.phone}:${o.channel}`)).toEqual([`${USER}:sms`]);

    // Both channels of the route are opted out: the start is refused and nothing is sent.
    const refused = await h.json("POST", "/v1/verifications", { to: USER });
    expect(refused).toMatchObject({ status: 403, body: { code: "opted_out" } });
    expect(h.provider("sms1").messages).toHaveLength(0);
    expect(h.provider("wa").messages).toHaveLength(0);

    const removed = await h.call("DELETE", `/v1/opt-outs/${encodeURIComponent(USER)}/whatsapp`);
    expect(removed.status).toBe(204);
    expect((await h.call("DELETE", `/v1/opt-outs/${encodeURIComponent(USER)}/whatsapp`)).status).toBe(204);
    const left = await h.json<{ data: OptOutView[] }>("GET", `/v1/opt-outs?phone=${encodeURIComponent(USER)}`);
    expect(left.body.data.map((o) => o.channel)).toEqual(["sms"]);

    const started = await h.json<View>("POST", "/v1/verifications", { to: USER });
    expect(started.status).toBe(201);
    expect(h.provider("wa").messages.map((m) => m.to)).toEqual([USER]);
    expect(h.provider("sms1").messages).toHaveLength(0);
  });

  it("validates the phone and the channel", async () => {
    h = await boot();
    expect((await h.json("POST", "/v1/opt-outs", { phone: "12345", channel: "sms" })).body).toMatchObject({
      code: "invalid_phone_number",
    });
    expect((await h.json("POST", "/v1/opt-outs", { phone: USER, channel: "email" })).status).toBe(400);
    expect((await h.call("DELETE", `/v1/opt-outs/${encodeURIComponent(USER)}/email`)).status).toBe(400);
  });

  it("is refused to a service's key", async () => {
    h = await boot();
    const auth = await h.otherServiceKey();
    expect((await h.json("GET", "/v1/opt-outs", undefined, auth)).body).toMatchObject({ status: 403, code: "forbidden" });
    const post = await h.json("POST", "/v1/opt-outs", { phone: USER, channel: "sms" }, auth);
    expect(post.body).toMatchObject({ status: 403, code: "forbidden" });
    expect((await h.call("DELETE", `/v1/opt-outs/${encodeURIComponent(USER)}/sms`, undefined, auth)).status).toBe(403);
    // The refused add changed nothing; the admin key sees no opt-out.
    expect((await h.json<{ data: unknown[] }>("GET", "/v1/opt-outs")).body.data).toEqual([]);
  });
});
