import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTwilioSender, type TwilioConfig, twilioConfigSchema } from "../../src/channels/twilio.js";
import { renderMessage } from "../../src/core/messages/render.js";
import type { OutboundMessage, Sender, WebhookRequest } from "../../src/core/sender.js";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio.js";
import { FakeClock } from "../helpers/clock.js";

const PUBLIC_URL = "https://verify.example.com";
const CALLBACK_URL = `${PUBLIC_URL}/webhooks/twilio/status`;
const never = new AbortController().signal;
const clock = new FakeClock();

const spoken = (locale: string, serviceName = "Acme") =>
  renderMessage({ channel: "voice", locale, serviceName, code: "482913", secondsLeft: 600 });

const call: OutboundMessage = {
  deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
  verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
  to: "+493012345678",
  channel: "voice",
  code: "482913",
  body: spoken("en"),
  locale: "en",
  expiresAt: clock.now() + 600_000,
};

describe("twilio voice", () => {
  let fake: FakeTwilio;
  let base: TwilioConfig;
  let sender: Sender;

  const make = (voice: Record<string, unknown> = {}, deps: { publicUrl?: string } = { publicUrl: PUBLIC_URL }) =>
    createTwilioSender(
      twilioConfigSchema.parse({
        accountSid: fake.accountSid,
        authToken: fake.authToken,
        baseUrl: fake.baseUrl,
        voice: { from: "+15017122661", ...voice },
      }),
      { clock, ...deps },
    );
  const onlyCall = () => {
    expect(fake.calls).toHaveLength(1);
    return fake.calls[0] as (typeof fake.calls)[number];
  };
  const statuses = async (requests: WebhookRequest[]) => {
    const out = [];
    for (const request of requests) {
      const result = await sender.handleWebhook?.(request);
      if (result?.kind !== "accepted") throw new Error(`webhook refused: ${JSON.stringify(result)}`);
      out.push(...result.statuses);
    }
    return out;
  };

  beforeEach(async () => {
    fake = await startFakeTwilio();
    sender = make();
    base = twilioConfigSchema.parse({ accountSid: fake.accountSid, authToken: "t", voice: { from: "+15017122661" } });
  });
  afterEach(async () => fake.close());

  it("fills in the call defaults and carries only voice when only voice is set", () => {
    expect(base.voice).toEqual({
      from: "+15017122661",
      machineDetection: false,
      ringSeconds: 25,
      maxCallSeconds: 90,
      repeat: 3,
      minAnsweredSeconds: 6,
      voices: {},
    });
    expect(sender.channels).toEqual(["voice"]);
    expect(twilioConfigSchema.safeParse({ ...base, voice: { from: "5017122661" } }).success).toBe(false);
  });

  it("places a call whose inline TwiML says the code digit by digit, three times with pauses, then hangs up", async () => {
    const result = await sender.send(call, never);
    const placed = onlyCall();
    expect(result).toEqual({ kind: "accepted", providerMessageId: placed.sid });
    expect(placed.sid).toMatch(/^CA[0-9a-f]{32}$/);
    const req = fake.requests[0];
    expect(req?.path).toBe(`/2010-04-01/Accounts/${fake.accountSid}/Calls.json`);
    expect(req?.headers.authorization).toBe(`Basic ${Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString("base64")}`);
    const say =
      '<Say voice="Polly.Joanna-Neural" language="en-US">Your Acme verification code is: 4, 8, 2. 9, 1, 3. Do not share it.</Say>';
    expect(placed.twiml).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="1"/>${say}<Pause length="1"/>${say}<Pause length="1"/>${say}<Hangup/></Response>`,
    );
    // Exactly these fields: no Record (the code would be kept in a recording), no TwiML URL to fetch.
    expect(placed.form).toEqual([
      ["To", "+493012345678"],
      ["From", "+15017122661"],
      ["Twiml", placed.twiml],
      ["Timeout", "25"],
      ["TimeLimit", "90"],
      ["StatusCallback", CALLBACK_URL],
      ["StatusCallbackMethod", "POST"],
      ["StatusCallbackEvent", "initiated"],
      ["StatusCallbackEvent", "ringing"],
      ["StatusCallbackEvent", "answered"],
      ["StatusCallbackEvent", "completed"],
    ]);
  });

  it.each([
    ["fr", "fr-FR", "Polly.Lea-Neural", "Votre code de vérification Acme est : 4, 8, 2. 9, 1, 3."],
    ["pt-PT", "pt-PT", "Polly.Ines-Neural", "Seu código de verificação Acme é: 4, 8, 2. 9, 1, 3."],
    ["ja", "ja-JP", "Polly.Takumi-Neural", "Acmeの認証コードは、4、8、2。9、1、3、です。"],
    ["zh", "cmn-CN", "Polly.Zhiyu-Neural", "您的Acme验证码是：4，8，2。9，1，3。"],
    ["ar", "ar-AE", "Polly.Hala-Neural", "رمز التحقق الخاص بك من Acme هو: 4، 8، 2. 9، 1، 3."],
    ["id", "id-ID", "Google.id-ID-Wavenet-A", "Kode verifikasi Acme Anda adalah: 4, 8, 2. 9, 1, 3."],
  ])("speaks %s in %s with %s", async (locale, language, voice, sentence) => {
    await sender.send({ ...call, locale, body: spoken(locale) }, never);
    expect(onlyCall().twiml).toContain(`<Say voice="${voice}" language="${language}">${sentence}`);
  });

  it("takes a configured voice over the built-in one, and escapes the text as XML", async () => {
    sender = make({ voices: { en: { language: "en-GB", voice: "Polly.Amy-Neural" } }, repeat: 1 });
    await sender.send({ ...call, body: spoken("en", "A&B <Bank>") }, never);
    expect(onlyCall().twiml).toContain(
      '<Say voice="Polly.Amy-Neural" language="en-GB">Your A&amp;B &lt;Bank&gt; verification code is: 4, 8, 2. 9, 1, 3. Do not share it.</Say><Hangup/>',
    );
  });

  it("with machine detection asks for the asynchronous result at the status URL and pauses while it runs", async () => {
    sender = make({ machineDetection: true });
    await sender.send(call, never);
    const placed = onlyCall();
    expect(placed.form).toEqual(
      expect.arrayContaining([
        ["MachineDetection", "Enable"],
        ["AsyncAmd", "true"],
        ["AsyncAmdStatusCallback", CALLBACK_URL],
        ["AsyncAmdStatusCallbackMethod", "POST"],
      ]),
    );
    expect(placed.twiml).toMatch(/^<\?xml[^>]*><Response><Pause length="3"\/><Say /);
  });

  it("says a long template fewer times to fit Twilio's 4000 characters, and refuses one that never fits", async () => {
    const long = `Your code is 4, 8, 2. 9, 1, 3. ${"x".repeat(1500)}`;
    expect(await sender.send({ ...call, body: long }, never)).toMatchObject({ kind: "accepted" });
    expect(onlyCall().twiml.match(/<Say /g)).toHaveLength(2);
    const result = await sender.send({ ...call, body: "y".repeat(4000) }, never);
    expect(result).toMatchObject({ kind: "misconfigured", error: { code: "twiml_too_long" } });
    expect(fake.calls).toHaveLength(1);
  });

  it("a voice message to a configuration without voice is misconfigured and calls nothing", async () => {
    const smsOnly = createTwilioSender(
      twilioConfigSchema.parse({
        accountSid: fake.accountSid,
        authToken: fake.authToken,
        from: "+1500555006",
        baseUrl: fake.baseUrl,
      }),
      { clock },
    );
    expect(await smsOnly.send(call, never)).toMatchObject({ kind: "misconfigured", error: { code: "voice_not_configured" } });
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ["+15005550001", "21217", "rejected"],
    ["+15005550002", "21214", "rejected"],
    ["+15005550003", "21215", "misconfigured"],
    ["+15005550004", "21216", "rejected"],
  ])("the magic number %s answers %s: %s", async (to, code, kind) => {
    expect(await sender.send({ ...call, to }, never)).toMatchObject({ kind, error: { code } });
  });

  it("a wrong Auth Token is misconfigured; a 503 is retried", async () => {
    const wrong = createTwilioSender(
      twilioConfigSchema.parse({
        accountSid: fake.accountSid,
        authToken: "nope",
        baseUrl: fake.baseUrl,
        voice: { from: "+15017122661" },
      }),
      { clock },
    );
    expect(await wrong.send(call, never)).toMatchObject({ kind: "misconfigured", error: { code: "20003" } });
    fake.failNext({ status: 503 });
    expect(await sender.send(call, never)).toMatchObject({ kind: "retry" });
  });

  describe("call progress", () => {
    const placed = async () => {
      await sender.send(call, never);
      return onlyCall().sid;
    };

    it("answered then completed is sent, then delivered; ringing reports nothing", async () => {
      const sid = await placed();
      expect(await statuses(fake.callProgress(sid, "completed"))).toEqual([
        { providerMessageId: sid, status: "sent" },
        { providerMessageId: sid, status: "delivered" },
      ]);
    });

    it.each([
      ["busy", "undelivered", "busy", false],
      ["no-answer", "undelivered", "no_answer", false],
      ["failed", "failed", "call_failed", true],
      ["canceled", "failed", "call_canceled", false],
    ] as const)("%s is %s with code %s", async (outcome, status, errorCode, permanent) => {
      const sid = await placed();
      expect(await statuses(fake.callProgress(sid, outcome))).toEqual([
        { providerMessageId: sid, status, errorCode, errorMessage: expect.stringMatching(/^SIP \d{3}$/), permanent },
      ]);
    });

    it("a call hung up before the code could be heard is undelivered", async () => {
      const sid = await placed();
      expect((await statuses(fake.callProgress(sid, "hung-up-early"))).at(-1)).toMatchObject({
        status: "undelivered",
        errorCode: "hung_up_early",
      });
    });

    it("a machine is undelivered and its call is hung up at once, before the code reaches a voicemail", async () => {
      sender = make({ machineDetection: true });
      const sid = await placed();
      const [initiated, ringing, answered, amd, completed] = fake.callProgress(sid, "machine");
      expect(await statuses([initiated, ringing, answered] as WebhookRequest[])).toEqual([
        { providerMessageId: sid, status: "sent" },
      ]);
      expect(onlyCall().endedBy).toBeNull();
      expect(await statuses([amd as WebhookRequest])).toEqual([
        expect.objectContaining({ status: "undelivered", errorCode: "answered_by_machine" }),
      ]);
      expect(onlyCall().endedBy).toBe("completed");
      expect((await statuses([completed as WebhookRequest]))[0]).toMatchObject({ errorCode: "answered_by_machine" });
      // A person answering reports nothing more than the answer, and is not hung up.
      fake.calls.length = 0;
      const human = await placed();
      expect(await statuses(fake.callProgress(human, "completed"))).toEqual([
        { providerMessageId: human, status: "sent" },
        { providerMessageId: human, status: "delivered" },
      ]);
      expect(onlyCall().endedBy).toBeNull();
    });

    it("a forged or unsigned call callback is rejected", async () => {
      const sid = await placed();
      const [, , , completed] = fake.callProgress(sid, "completed") as WebhookRequest[];
      const forged = { ...(completed as WebhookRequest), rawBody: (completed as WebhookRequest).rawBody.replace("24", "99") };
      expect(await sender.handleWebhook?.(forged)).toMatchObject({ kind: "rejected", reason: "bad X-Twilio-Signature" });
      const unsigned = { ...(completed as WebhookRequest), headers: {} };
      expect(await sender.handleWebhook?.(unsigned)).toMatchObject({ kind: "rejected" });
    });
  });

  it("asks for no callbacks (and no machine detection) without a public URL", async () => {
    sender = make({ machineDetection: true }, {});
    await sender.send(call, never);
    const names = onlyCall().form.map(([name]) => name);
    expect(names).toEqual(["To", "From", "Twiml", "Timeout", "TimeLimit"]);
  });
});
