import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/errors.js";
import type { WebhookRequest } from "../../src/core/sender.js";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio.js";
import type { CallOutcome } from "../fakes/twilio-calls.js";
import { type FakeVonage, startFakeVonage } from "../fakes/vonage.js";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";
import { keys, PRIVATE_PEM, PUBLIC_URL, VONAGE_APP, VONAGE_SECRET } from "../helpers/provider-credentials.js";
import { listen, sdkClient } from "../helpers/twilio-sdk.js";

/**
 * The voice channel through the whole service, against the Twilio and Vonage fakes: a landline is
 * called instead of refused, an undelivered SMS falls back to a call, a busy or unanswered call moves
 * the route on (or, on the last step, leaves the verification for a resend), and calls are limited.
 */

const LANDLINE = "+493012345678"; // fixed_line
const MOBILE = "+4915112345678"; // mobile
const SMS_FROM = "+15017122661";
const CALLER_ID = "+15017122662";

type View = {
  id: string;
  status: string;
  channel: string;
  deliveries: { step: number; channel: string; provider: string; status: string; error_code: string | null }[];
};

/** The code a call speaks, read back out of its TwiML ("… is: 4, 8, 2. 9, 1, 3. Do not share it."). */
const spokenCode = (twiml: string) => /is: ([\d,. ]+?)\. Do not share it\./.exec(twiml)?.[1]?.replace(/\D/g, "") ?? "none";
const say = (code: string) =>
  `<Say voice="Polly.Joanna-Neural" language="en-US">Your verifyd verification code is: ${code.slice(0, 3).split("").join(", ")}. ${code
    .slice(3)
    .split("")
    .join(", ")}. Do not share it.</Say>`;

describe("voice verification", () => {
  let h: Harness | undefined;
  let twilio: FakeTwilio | undefined;
  let vonage: FakeVonage | undefined;
  afterEach(async () => {
    await h?.close();
    await twilio?.close();
    await vonage?.close();
    h = twilio = vonage = undefined;
  });

  async function setUp(route: object[], env: Record<string, string> = {}) {
    twilio = await startFakeTwilio();
    const harness = await createHarness(env, {
      publicUrl: PUBLIC_URL,
      providers: {
        twilio: {
          type: "twilio",
          accountSid: twilio.accountSid,
          authToken: twilio.authToken,
          from: SMS_FROM,
          baseUrl: twilio.baseUrl,
          voice: { from: CALLER_ID },
        },
      },
      route,
    });
    h = harness;
    return { h: harness, fake: twilio };
  }

  const post = (webhook: WebhookRequest, provider = "twilio") =>
    (h as Harness).runtime.app.request(`/webhooks/${provider}/status`, {
      method: "POST",
      headers: webhook.headers,
      body: webhook.rawBody,
    });
  const callEnds = async (sid: string, outcome: CallOutcome) => {
    for (const webhook of (twilio as FakeTwilio).callProgress(sid, outcome)) expect((await post(webhook)).status).toBe(200);
  };
  const view = async (id: string) => (await (h as Harness).json<View>("GET", `/v1/verifications/${id}`)).body;
  const rows = async (id: string) =>
    (await view(id)).deliveries.map((d) => `${d.step}:${d.channel}:${d.status}:${d.error_code ?? ""}`);

  /** Events are recorded only for a receiver; none is listening, and the worker never runs here. */
  const EVENTS = { VERIFYD_EVENTS_URL: "http://127.0.0.1:9/events", VERIFYD_EVENTS_SECRET: `whsec_${"A".repeat(43)}=` };
  const eventsOf = async (type: string) =>
    (await (h as Harness).json<{ data: { payload: { type: string; data: object } }[] }>("GET", "/v1/events?limit=500")).body.data
      .filter((e) => e.payload.type === type)
      .map((e) => e.payload.data);

  const smsThenVoice = [
    { channel: "sms", providers: ["twilio"] },
    { channel: "voice", providers: ["twilio"] },
  ];

  it("calls a fixed-line number instead of refusing it, speaks its code, and the code approves", async () => {
    const { h, fake } = await setUp(smsThenVoice);
    const started = await h.json<View>("POST", "/v1/verifications", { to: LANDLINE, locale: "en" });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ status: "pending", channel: "voice" });
    expect(fake.messages).toHaveLength(0); // SMS cannot reach a landline: its step was left out
    expect(fake.calls).toHaveLength(1);
    const placed = fake.calls[0] as (typeof fake.calls)[number];
    expect(placed).toMatchObject({ to: LANDLINE, from: CALLER_ID, statusCallback: `${PUBLIC_URL}/webhooks/twilio/status` });
    const code = spokenCode(placed.twiml);
    expect(code).toMatch(/^\d{6}$/);
    expect(placed.twiml).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="1"/>${say(code)}<Pause length="1"/>${say(code)}<Pause length="1"/>${say(code)}<Hangup/></Response>`,
    );

    await callEnds(placed.sid, "completed");
    expect(await rows(started.body.id)).toEqual(["0:voice:delivered:"]);
    const check = await h.json("POST", `/v1/verifications/${started.body.id}/check`, { code });
    expect(check.body).toMatchObject({ valid: true, status: "approved" });
    // The code is in no response, log or stored row in clear: only the fake heard it.
    expect(h.logs.join("\n")).not.toContain(code);
  });

  it("refuses at start a voice step whose provider places no calls; the admin API refuses such a route", async () => {
    twilio = await startFakeTwilio();
    const smsOnly = {
      type: "twilio",
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      from: SMS_FROM,
      baseUrl: twilio.baseUrl,
    };
    const failed = await createHarness({}, { publicUrl: PUBLIC_URL, providers: { twilio: smsOnly }, route: smsThenVoice }).catch(
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(ConfigError);
    expect((failed as Error).message).toBe(
      'config.route[1].providers: provider "twilio" cannot send voice (it sends sms); name a provider with voice settings (twilio or vonage with voice.from)',
    );

    await twilio.close();
    const { h } = await setUp([{ channel: "sms", providers: ["twilio"] }]);
    const refused = await h.json<{ code: string; errors: { pointer: string; detail: string }[] }>("POST", "/v1/services", {
      name: "Acme",
      route: [
        { channel: "sms", providers: ["twilio"] },
        { channel: "email", providers: ["twilio"] },
      ],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("invalid_request");
    expect(refused.body.errors).toEqual([
      {
        pointer: "/route/1/providers",
        detail: 'provider "twilio" cannot send email (it sends sms, voice); name an email provider (smtp or sendgrid)',
      },
    ]);
  });

  it("a mobile gets the SMS first; an undelivered SMS falls back to a call speaking the same code", async () => {
    const { h, fake } = await setUp(smsThenVoice);
    const started = await h.json<View>("POST", "/v1/verifications", { to: MOBILE, locale: "en" });
    expect(started.body.channel).toBe("sms");
    const sms = fake.messages[0];
    const smsCode = /code is (\d{6})/.exec(String(fake.requests[0]?.form.Body))?.[1];
    expect(fake.calls).toHaveLength(0);

    expect((await post(fake.statusCallback(sms?.sid as string, "undelivered", { errorCode: "30005" }))).status).toBe(200);
    expect(fake.calls).toHaveLength(1);
    expect(spokenCode(fake.calls[0]?.twiml ?? "")).toBe(smsCode);
    expect(await rows(started.body.id)).toEqual(["0:sms:undelivered:30005", "1:voice:accepted:"]);
    expect((await view(started.body.id)).channel).toBe("voice");
  });

  it.each(["busy", "no-answer"] as const)("a %s call moves the route to its next step with the same code", async (outcome) => {
    const { h, fake } = await setUp(
      [
        { channel: "voice", providers: ["twilio"] },
        { channel: "sms", providers: ["twilio"] },
      ],
      EVENTS,
    );
    const started = await h.json<View>("POST", "/v1/verifications", { to: MOBILE, locale: "en" });
    const code = spokenCode(fake.calls[0]?.twiml ?? "");
    await callEnds(fake.calls[0]?.sid as string, outcome);
    const errorCode = outcome === "busy" ? "busy" : "no_answer";
    expect(await rows(started.body.id)).toEqual([`0:voice:undelivered:${errorCode}`, "1:sms:accepted:"]);
    expect(String(fake.requests.at(-1)?.form.Body)).toContain(code);
    // A step with a next one falls back: the fallback event says so, no undelivered event.
    expect(await eventsOf("delivery.fallback")).toMatchObject([{ reason: `undelivered:${errorCode}`, to_channel: "sms" }]);
    expect(await eventsOf("delivery.undelivered")).toEqual([]);
  });

  it("a call with no outcome within its step's fallbackAfter (2 min by default) moves on to SMS with the same code", async () => {
    const { h, fake } = await setUp([
      { channel: "voice", providers: ["twilio"] },
      { channel: "sms", providers: ["twilio"] },
    ]);
    const started = await h.json<View>("POST", "/v1/verifications", { to: MOBILE, locale: "en" });
    const code = spokenCode(fake.calls[0]?.twiml ?? "");
    h.clock.advance(119_000);
    await h.runtime.outbox.runOnce();
    expect(fake.messages).toHaveLength(0);
    h.clock.advance(1_000);
    await h.runtime.outbox.runOnce();
    expect(fake.messages).toHaveLength(1);
    expect(String(fake.requests.at(-1)?.form.Body)).toContain(code);
    expect(await rows(started.body.id)).toEqual(["0:voice:accepted:no_delivery_receipt", "1:sms:accepted:"]);
  });

  it("on the last step a busy call fails its delivery, said by a delivery.undelivered event; the verification stays pending and a resend calls again", async () => {
    const { h, fake } = await setUp([{ channel: "voice", providers: ["twilio"] }], EVENTS);
    const started = await h.json<View>("POST", "/v1/verifications", { to: LANDLINE, locale: "en" });
    expect(await eventsOf("delivery.undelivered")).toEqual([]);
    await callEnds(fake.calls[0]?.sid as string, "busy");
    expect(await rows(started.body.id)).toEqual(["0:voice:undelivered:busy"]);
    expect((await view(started.body.id)).status).toBe("pending");
    const [delivery] = (await view(started.body.id)).deliveries as (View["deliveries"][number] & { id: string })[];
    expect(await eventsOf("delivery.undelivered")).toEqual([
      {
        verification_id: started.body.id,
        service_id: "svc_default",
        status: "undelivered",
        channel: "voice",
        to_masked: "+4930***5678",
        delivery_id: delivery?.id,
        provider: "twilio",
        error_code: "busy",
        verification_status: "pending",
      },
    ]);
    expect(await eventsOf("delivery.failed")).toEqual([]);

    h.clock.advance(30_000);
    const resent = await h.json<View>("POST", `/v1/verifications/${started.body.id}/resend`, {});
    expect(resent.status).toBe(200);
    expect(fake.calls).toHaveLength(2);
    expect(spokenCode(fake.calls[1]?.twiml ?? "")).toBe(spokenCode(fake.calls[0]?.twiml ?? ""));
  });

  it("a call answered by a machine is hung up and not delivered", async () => {
    twilio = await startFakeTwilio();
    h = await createHarness(
      {},
      {
        publicUrl: PUBLIC_URL,
        providers: {
          twilio: {
            type: "twilio",
            accountSid: twilio.accountSid,
            authToken: twilio.authToken,
            baseUrl: twilio.baseUrl,
            voice: { from: CALLER_ID, machineDetection: true },
          },
        },
        route: [{ channel: "voice", providers: ["twilio"] }],
      },
    );
    const started = await h.json<View>("POST", "/v1/verifications", { to: LANDLINE, locale: "en" });
    await callEnds(twilio.calls[0]?.sid as string, "machine");
    expect(twilio.calls[0]?.endedBy).toBe("completed");
    expect(await rows(started.body.id)).toEqual(["0:voice:undelivered:answered_by_machine"]);
  });

  it("limits calls per number: a send that would call is refused once the limit is used, a fallback call included", async () => {
    const { h, fake } = await setUp(smsThenVoice, { VERIFYD_LIMIT_CALLS_PER_DESTINATION: "2/1h" });
    const first = await h.json<View>("POST", "/v1/verifications", { to: MOBILE, channels: ["voice"], locale: "en" });
    h.clock.advance(30_000);
    expect((await h.json("POST", `/v1/verifications/${first.body.id}/resend`, {})).status).toBe(200);
    expect(fake.calls).toHaveLength(2);
    h.clock.advance(30_000);
    const refused = await h.json<{ code: string }>("POST", `/v1/verifications/${first.body.id}/resend`, {});
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: "rate_limited", limit: { rule: "calls_per_destination", limit: 2 } });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(fake.calls).toHaveLength(2);

    // The SMS of a new verification comes back undelivered: its fallback call is refused like a
    // rejection, and with no step left the verification fails, calling no one.
    await h.json("POST", `/v1/verifications/${first.body.id}/cancel`);
    const second = await h.json<View>("POST", "/v1/verifications", { to: MOBILE, locale: "en" });
    expect(second.body.channel).toBe("sms");
    await post(fake.statusCallback(fake.messages[0]?.sid as string, "undelivered", { errorCode: "30005" }));
    expect(fake.calls).toHaveLength(2);
    expect(await rows(second.body.id)).toEqual(["0:sms:undelivered:30005", "1:voice:failed:rate_limited"]);
    expect((await view(second.body.id)).status).toBe("failed");
  });

  it("Vonage places the call with an NCCO, and its signed completed event delivers it", async () => {
    // The fake checks JWTs and signs webhooks on the harness's clock.
    vonage = await startFakeVonage({
      application: { id: VONAGE_APP, publicKey: keys.publicKey },
      now: () => (h ? h.clock.now() : Date.now()),
    });
    h = await createHarness(
      {},
      {
        publicUrl: PUBLIC_URL,
        providers: {
          vonage: {
            type: "vonage",
            applicationId: VONAGE_APP,
            privateKey: PRIVATE_PEM,
            signatureSecret: VONAGE_SECRET,
            baseUrl: vonage.baseUrl,
            voice: { from: "447700900001" },
          },
        },
        route: [{ channel: "voice", providers: ["vonage"] }],
      },
    );
    const started = await h.json<View>("POST", "/v1/verifications", { to: LANDLINE, locale: "de" });
    expect(vonage.calls).toHaveLength(1);
    const body = vonage.calls[0]?.body as { ncco: { text: string; language: string }[]; event_url: string[] };
    expect(body.ncco[0]?.language).toBe("de-DE");
    expect(body.event_url).toEqual([`${PUBLIC_URL}/webhooks/vonage/status`]);
    const code = /lautet: ([\d,. ]+?)\. Geben/.exec(body.ncco[0]?.text ?? "")?.[1]?.replace(/\D/g, "") ?? "none";
    for (const event of vonage.callEvents(vonage.calls[0]?.uuid as string, "completed")) {
      expect((await post(vonage.webhook(event, { secret: VONAGE_SECRET }), "vonage")).status).toBe(200);
    }
    expect(await rows(started.body.id)).toEqual(["0:voice:delivered:"]);
    expect((await h.json("POST", `/v1/verifications/${started.body.id}/check`, { code })).body).toMatchObject({ valid: true });
  });

  it("calls and emails flow through analytics and metrics by channel", async () => {
    const { h, fake } = await setUp([
      { channel: "voice", providers: ["twilio"] },
      { channel: "email", providers: ["console"] },
    ]);
    const call = await h.json<View>("POST", "/v1/verifications", { to: LANDLINE, locale: "en" });
    const spoken = spokenCode(fake.calls[0]?.twiml ?? "");
    expect((await h.json("POST", `/v1/verifications/${call.body.id}/check`, { code: spoken })).body).toMatchObject({
      valid: true,
    });
    const mail = await h.json<View>("POST", "/v1/verifications", { to: "ada@example.com" });
    expect(mail.body.channel).toBe("email");
    const emailed = h.sender.lastCode("ada@example.com");
    expect((await h.json("POST", `/v1/verifications/${mail.body.id}/check`, { code: emailed })).body).toMatchObject({
      valid: true,
    });

    h.clock.advance(1_000); // the window ends, exclusive, at now
    const analytics = await h.json<{ groups: { key: { channel: string }; approved: number; sent: number }[] }>(
      "GET",
      "/v1/analytics?group_by=channel",
    );
    expect(analytics.status).toBe(200);
    const byChannel = Object.fromEntries(analytics.body.groups.map((g) => [g.key.channel, [g.sent, g.approved]]));
    expect(byChannel).toMatchObject({ voice: [1, 1], email: [1, 1] });

    // The dashboard's recent attempts show both destinations masked.
    const recent = await h.json<{ data: { channel: string; to_masked: string }[] }>("GET", "/v1/analytics/recent");
    expect(recent.body.data.map((r) => `${r.channel}:${r.to_masked}`).sort()).toEqual([
      "email:a***@example.com",
      "voice:+4930***5678",
    ]);

    const metrics = await (await h.runtime.app.request("/metrics")).text();
    expect(metrics).toContain('verifyd_deliveries_total{provider="twilio",channel="voice",outcome="accepted"} 1');
    expect(metrics).toContain('verifyd_deliveries_total{provider="console",channel="email",outcome="accepted"} 1');
    expect(metrics).toMatch(/verifyd_verifications_approved_total\{service="svc_default",channel="email",country="unknown"\} 1/);
  });

  it("the official twilio SDK starts a verification with Channel=call and checks the spoken code", async () => {
    const { h, fake } = await setUp(smsThenVoice);
    const server = await listen(h);
    try {
      const client = sdkClient(server.base, ADMIN_KEY);
      const { sid: serviceSid } = await client.verify.v2.services.create({ friendlyName: "Acme" });
      const service = client.verify.v2.services(serviceSid);
      const started = await service.verifications.create({ to: MOBILE, channel: "call", locale: "en" });
      expect(started).toMatchObject({ status: "pending", channel: "call", to: MOBILE });
      expect(started.sendCodeAttempts[0]).toMatchObject({ channel: "call" });
      expect(fake.messages).toHaveLength(0);
      const code = /is: ([\d,. ]+?)\. Do not/.exec(fake.calls[0]?.twiml ?? "")?.[1]?.replace(/\D/g, "") ?? "none";
      expect(fake.calls[0]?.twiml).toContain("Your Acme verification code is");
      const checked = await service.verificationChecks.create({ to: MOBILE, code });
      expect(checked).toMatchObject({ status: "approved", valid: true, channel: "call" });
    } finally {
      await server.close();
    }
  });
});
