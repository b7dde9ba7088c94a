import { createHash, createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTwilioSender, type TwilioConfig, twilioConfigSchema } from "../../src/channels/twilio.js";
import { twilioSignature, verifyTwilioSignature } from "../../src/channels/twilio-webhook.js";
import type { OutboundMessage, Sender, WebhookRequest } from "../../src/core/sender.js";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio.js";
import { FakeClock } from "../helpers/clock.js";
import { freePort } from "../helpers/webhook-sink.js";

const PUBLIC_URL = "https://verify.example.com";
const CALLBACK_URL = `${PUBLIC_URL}/webhooks/twilio/status`;
const CONTENT_SID = `HX${"ab".repeat(16)}`;
const SERVICE_SID = `MG${"cd".repeat(16)}`;
const never = new AbortController().signal;

const clock = new FakeClock();

const sms: OutboundMessage = {
  deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
  verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
  to: "+14155550142",
  channel: "sms",
  code: "493817",
  body: "Your verifyd code is 493817. It expires in 10 minutes.",
  locale: "en",
  expiresAt: clock.now() + 600_000,
};
const whatsapp: OutboundMessage = { ...sms, channel: "whatsapp" };

describe("twilio config", () => {
  const accountSid = `AC${"0".repeat(32)}`;

  it("fills in the defaults", () => {
    expect(twilioConfigSchema.parse({ accountSid, authToken: "t", from: "+15005550006" })).toEqual({
      accountSid,
      authToken: "t",
      from: "+15005550006",
      baseUrl: "https://api.twilio.com",
      timeoutMs: 5000,
      statusCallback: true,
    });
  });

  it("adds the whatsapp: prefix to a bare WhatsApp sender", () => {
    const config = twilioConfigSchema.parse({ accountSid, authToken: "t", whatsappFrom: "+14155238886" });
    expect(config.whatsappFrom).toBe("whatsapp:+14155238886");
  });

  it.each([
    ["no credentials", { accountSid, from: "+15005550006" }],
    ["an API key without its secret", { accountSid, apiKeySid: `SK${"1".repeat(32)}`, from: "+15005550006" }],
    ["no sender at all", { accountSid, authToken: "t" }],
    ["an account SID of the wrong shape", { accountSid: "AC123", authToken: "t", from: "+15005550006" }],
    ["a content SID of the wrong shape", { accountSid, authToken: "t", from: "+1", whatsappContentSid: "HX1" }],
  ])("refuses %s", (_, input) => {
    expect(twilioConfigSchema.safeParse(input).success).toBe(false);
  });
});

describe("twilio sender", () => {
  let fake: FakeTwilio;
  let base: TwilioConfig;
  let sender: Sender;

  const make = (overrides: Partial<TwilioConfig> = {}, deps: { publicUrl?: string; name?: string } = { publicUrl: PUBLIC_URL }) =>
    createTwilioSender({ ...base, ...overrides }, { clock, ...deps });

  const onlyRequest = () => {
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    if (!req) throw new Error("the fake received nothing");
    return req;
  };

  beforeEach(async () => {
    fake = await startFakeTwilio();
    base = twilioConfigSchema.parse({
      accountSid: fake.accountSid,
      authToken: fake.authToken,
      from: "+15005550006",
      whatsappFrom: "whatsapp:+14155238886",
      whatsappContentSid: CONTENT_SID,
      baseUrl: fake.baseUrl,
      timeoutMs: 2000,
    });
    sender = make();
  });
  afterEach(async () => fake.close());

  describe("send", () => {
    it("POSTs an SMS form to Messages.json with Basic auth and exactly the documented fields", async () => {
      const result = await sender.send(sms, never);
      const [message] = fake.messages;
      expect(result).toEqual({ kind: "accepted", providerMessageId: message?.sid });
      expect(message?.sid).toMatch(/^SM[0-9a-f]{32}$/);
      const req = onlyRequest();
      expect(req.method).toBe("POST");
      expect(req.path).toBe(`/2010-04-01/Accounts/${fake.accountSid}/Messages.json`);
      expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString("base64")}`);
      expect(req.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(req.form).toEqual({
        To: "+14155550142",
        From: "+15005550006",
        Body: sms.body,
        ValidityPeriod: "600",
        StatusCallback: CALLBACK_URL,
      });
      // `+` must travel percent-encoded, or Twilio would read a space.
      expect(req.body).toContain("To=%2B14155550142");
    });

    it("sends through a Messaging Service, alongside From when both are set", async () => {
      await make({ from: undefined, messagingServiceSid: SERVICE_SID }).send(sms, never);
      await make({ messagingServiceSid: SERVICE_SID }).send(sms, never);
      const [serviceOnly, both] = fake.requests;
      expect(serviceOnly?.form).toMatchObject({ MessagingServiceSid: SERVICE_SID });
      expect(serviceOnly?.form).not.toHaveProperty("From");
      expect(both?.form).toMatchObject({ MessagingServiceSid: SERVICE_SID, From: "+15005550006" });
    });

    it("authenticates with an API key while keeping the AccountSid in the path", async () => {
      const keyed = make({ authToken: undefined, apiKeySid: fake.apiKeySid, apiKeySecret: fake.apiKeySecret });
      expect(await keyed.send(sms, never)).toMatchObject({ kind: "accepted" });
      const req = onlyRequest();
      expect(req.path).toBe(`/2010-04-01/Accounts/${fake.accountSid}/Messages.json`);
      expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`${fake.apiKeySid}:${fake.apiKeySecret}`).toString("base64")}`);
    });

    it.each([
      ["ten minutes", 600_000, "600"],
      ["just under ten minutes (rounded down)", 599_900, "599"],
      ["20 hours (Twilio's 10-hour ceiling)", 72_000_000, "36000"],
      ["400 ms (at least 1 s)", 400, "1"],
      ["-5 s (at least 1 s)", -5_000, "1"],
    ])("a code expiring in %s gets ValidityPeriod %s", async (_, inMs, expected) => {
      expect(await sender.send({ ...sms, expiresAt: clock.now() + inMs }, never)).toMatchObject({ kind: "accepted" });
      expect(onlyRequest().form.ValidityPeriod).toBe(expected);
    });

    it("asks for no status callback without a public URL, or when turned off", async () => {
      await make({}, {}).send(sms, never);
      await make({ statusCallback: false }).send(sms, never);
      expect(fake.requests).toHaveLength(2);
      for (const req of fake.requests) expect(req.form).not.toHaveProperty("StatusCallback");
    });

    it("points the status callback at the instance's own name", async () => {
      await make({}, { publicUrl: `${PUBLIC_URL}/`, name: "twilio-eu" }).send(sms, never);
      expect(onlyRequest().form.StatusCallback).toBe(`${PUBLIC_URL}/webhooks/twilio-eu/status`);
    });

    it("sends WhatsApp as the authentication template with the code as variable 1, and no Body", async () => {
      const result = await sender.send(whatsapp, never);
      expect(result).toEqual({ kind: "accepted", providerMessageId: fake.messages[0]?.sid });
      expect(onlyRequest().form).toEqual({
        To: "whatsapp:+14155550142",
        From: "whatsapp:+14155238886",
        ContentSid: CONTENT_SID,
        ContentVariables: '{"1":"493817"}',
        ValidityPeriod: "600",
        StatusCallback: CALLBACK_URL,
      });
    });

    it.each([
      ["WhatsApp without a content template", { whatsappContentSid: undefined }, whatsapp, "whatsapp_template_missing"],
      ["WhatsApp without a WhatsApp sender", { whatsappFrom: undefined }, whatsapp, "whatsapp_not_configured"],
      ["SMS without From or Messaging Service", { from: undefined }, sms, "sms_not_configured"],
      ["RCS", {}, { ...sms, channel: "rcs" as const }, "unsupported_channel"],
    ])("%s is misconfigured and calls nothing", async (_, overrides, message, code) => {
      expect(await make(overrides).send(message, never)).toMatchObject({ kind: "misconfigured", error: { code } });
      expect(fake.requests).toHaveLength(0);
    });

    it("lists the channels its configuration can carry", () => {
      expect(sender.channels).toEqual(["sms", "whatsapp"]);
      expect(make({ whatsappFrom: undefined }).channels).toEqual(["sms"]);
      expect(make({ from: undefined }).channels).toEqual(["whatsapp"]);
      expect(sender.provider).toBe("twilio");
      expect(make({}, { name: "twilio-eu" }).provider).toBe("twilio-eu");
    });
  });

  describe("errors", () => {
    it.each([
      ["+15005550001", "21211", "rejected"],
      ["+15005550002", "21612", "rejected"],
      ["+15005550003", "21408", "misconfigured"],
      ["+15005550004", "21610", "rejected"],
      ["+15005550009", "21614", "rejected"],
    ])("the magic number %s answers %s: %s", async (to, code, kind) => {
      const result = await sender.send({ ...sms, to }, never);
      expect(result).toMatchObject({ kind, error: { code } });
      expect(result.kind !== "accepted" && result.error.message).not.toContain(code);
      expect(result.kind !== "accepted" && result.error.message).not.toBe("");
    });

    it("the same magic numbers fail over WhatsApp too", async () => {
      expect(await sender.send({ ...whatsapp, to: "+15005550004" }, never)).toMatchObject({
        kind: "rejected",
        error: { code: "21610" },
      });
    });

    it("a wrong Auth Token is 401/20003: misconfigured", async () => {
      const result = await make({ authToken: "not-the-token" }).send(sms, never);
      expect(result).toEqual({ kind: "misconfigured", error: { code: "20003", message: "Authenticate" } });
    });

    it.each([
      [{ status: 429, code: 20429, message: "Too Many Requests" }, "retry", "20429"],
      [{ status: 503, code: 20503, message: "Service Unavailable" }, "retry", "20503"],
      [{ status: 500 }, "retry", "http_500"],
      [{ status: 502 }, "retry", "http_502"],
      [
        { status: 400, code: 21606, message: "The From phone number is not a valid, SMS-capable number" },
        "misconfigured",
        "21606",
      ],
      [{ status: 400, code: 21608, message: "The number is unverified (trial account)" }, "misconfigured", "21608"],
      [{ status: 400, code: 21655, message: "The ContentSid is Invalid" }, "misconfigured", "21655"],
      [
        { status: 400, code: 63007, message: "Could not find a Channel with the specified From address" },
        "misconfigured",
        "63007",
      ],
      [{ status: 403, code: 20403, message: "Forbidden" }, "misconfigured", "20403"],
      [{ status: 404, code: 20404, message: "The requested resource was not found" }, "misconfigured", "20404"],
      [{ status: 302 }, "misconfigured", "http_302"],
      [
        { status: 400, code: 21617, message: "The concatenated message body exceeds the 1600 character limit" },
        "rejected",
        "21617",
      ],
      [{ status: 400 }, "rejected", "http_400"],
    ])("%o is %s with code %s", async (answer, kind, code) => {
      fake.failNext(answer);
      expect(await sender.send(sms, never)).toMatchObject({ kind, error: { code } });
    });

    it("honours Retry-After on 429", async () => {
      fake.failNext({ status: 429, code: 20429, message: "Too Many Requests", headers: { "retry-after": "3" } });
      expect(await sender.send(sms, never)).toMatchObject({ kind: "retry", retryAfterMs: 3000 });
    });

    it("keeps the code out of an error message that quotes the request", async () => {
      fake.failNext({ status: 400, code: 21617, message: `Body 'Your verifyd code is ${sms.code}.' too long` });
      const result = await sender.send(sms, never);
      expect(result).toMatchObject({ kind: "rejected", error: { message: "Body 'Your verifyd code is [code].' too long" } });
    });

    it("an unreachable API is a retry with code network_error", async () => {
      const dead = make({ baseUrl: `http://127.0.0.1:${await freePort()}` });
      expect(await dead.send(sms, never)).toMatchObject({ kind: "retry", error: { code: "network_error" } });
    });
  });

  describe("status callbacks", () => {
    const sentSid = async () => {
      const result = await sender.send(sms, never);
      if (result.kind !== "accepted" || !result.providerMessageId) throw new Error("send failed");
      return result.providerMessageId;
    };

    it("a signed delivered callback becomes a delivered StatusUpdate", async () => {
      const sid = await sentSid();
      const request = fake.statusCallback(sid, "delivered");
      expect(request.url).toBe(CALLBACK_URL);
      expect(await sender.handleWebhook?.(request)).toEqual({
        kind: "accepted",
        statuses: [{ providerMessageId: sid, status: "delivered" }],
        inbound: [],
      });
    });

    it.each(["sent", "read"] as const)("%s is reported as %s", async (status) => {
      const sid = await sentSid();
      expect(await sender.handleWebhook?.(fake.statusCallback(sid, status))).toMatchObject({
        statuses: [{ providerMessageId: sid, status }],
      });
    });

    it.each([
      ["undelivered", "30003", false],
      ["failed", "30001", false],
      ["undelivered", "30008", false],
      ["failed", "63018", false],
      ["undelivered", "30004", true],
      ["undelivered", "30005", true],
      ["undelivered", "30006", true],
      ["undelivered", "30007", true],
      ["failed", "63003", true],
      ["failed", "63016", true],
      ["failed", "30002", true],
      ["undelivered", "30034", true],
    ] as const)("%s with ErrorCode %s has permanent=%s", async (status, errorCode, permanent) => {
      const sid = await sentSid();
      const result = await sender.handleWebhook?.(fake.statusCallback(sid, status, { errorCode }));
      expect(result).toMatchObject({ kind: "accepted", statuses: [{ providerMessageId: sid, status, errorCode, permanent }] });
      expect(result?.kind === "accepted" && result.statuses[0]?.errorMessage).toBeTruthy();
    });

    it("an unknown error code is passed on without deciding permanence", async () => {
      const sid = await sentSid();
      const result = await sender.handleWebhook?.(fake.statusCallback(sid, "failed", { errorCode: "30999" }));
      expect(result).toEqual({
        kind: "accepted",
        statuses: [{ providerMessageId: sid, status: "failed", errorCode: "30999" }],
        inbound: [],
      });
    });

    it.each(["accepted", "queued", "sending", "scheduled"])("%s reports nothing", async (status) => {
      const sid = await sentSid();
      expect(await sender.handleWebhook?.(fake.statusCallback(sid, status))).toEqual({
        kind: "accepted",
        statuses: [],
        inbound: [],
      });
    });

    it.each<[string, (request: WebhookRequest) => WebhookRequest]>([
      ["a missing signature", (r) => ({ ...r, headers: { "content-type": r.headers["content-type"] ?? "" } })],
      ["a garbled signature", (r) => ({ ...r, headers: { ...r.headers, "x-twilio-signature": "AAAA" } })],
      ["a tampered body", (r) => ({ ...r, rawBody: r.rawBody.replace("MessageStatus=failed", "MessageStatus=delivered") })],
      ["another URL", (r) => ({ ...r, url: `${PUBLIC_URL}/webhooks/other/status` })],
    ])("%s is rejected", async (_, alter) => {
      const sid = await sentSid();
      const genuine = fake.statusCallback(sid, "failed", { errorCode: "30005" });
      expect(await sender.handleWebhook?.(genuine)).toMatchObject({ kind: "accepted" });
      const forged = alter(genuine);
      expect(forged).not.toEqual(genuine);
      expect(await sender.handleWebhook?.(forged)).toMatchObject({ kind: "rejected" });
    });

    it("a callback signed with another token is rejected", async () => {
      const sid = await sentSid();
      const forged = fake.statusCallback(sid, "delivered", { authToken: "someone-elses-token" });
      expect(await sender.handleWebhook?.(forged)).toMatchObject({ kind: "rejected", reason: "bad X-Twilio-Signature" });
    });

    it("accepts signatures computed with or without the default port", async () => {
      const sid = await sentSid();
      const withPort = "https://verify.example.com:443/webhooks/twilio/status";
      const signedWithPort = fake.statusCallback(sid, "delivered", { signedUrl: withPort });
      expect(await sender.handleWebhook?.(signedWithPort)).toMatchObject({
        kind: "accepted",
        statuses: [{ status: "delivered" }],
      });
      const calledWithPort = fake.statusCallback(sid, "delivered", { url: withPort, signedUrl: CALLBACK_URL });
      expect(await sender.handleWebhook?.(calledWithPort)).toMatchObject({
        kind: "accepted",
        statuses: [{ status: "delivered" }],
      });
      // A non-default port is part of the URL: it must be signed with it.
      const otherPortUrl = "https://verify.example.com:8443/webhooks/twilio/status";
      const otherPort = fake.statusCallback(sid, "delivered", { url: otherPortUrl });
      expect(await sender.handleWebhook?.(otherPort)).toMatchObject({ kind: "accepted" });
      const signedWithoutIt = fake.statusCallback(sid, "delivered", { url: otherPortUrl, signedUrl: CALLBACK_URL });
      expect(await sender.handleWebhook?.(signedWithoutIt)).toMatchObject({ kind: "rejected" });
    });

    it("needs the Auth Token to verify: an API-key-only configuration rejects every webhook", async () => {
      const sid = await sentSid();
      const keyed = { authToken: undefined, apiKeySid: fake.apiKeySid, apiKeySecret: fake.apiKeySecret };
      const keyOnly = make(keyed);
      expect(await keyOnly.handleWebhook?.(fake.statusCallback(sid, "delivered"))).toMatchObject({ kind: "rejected" });
      const keyAndToken = make({ ...keyed, authToken: fake.authToken });
      expect(await keyAndToken.handleWebhook?.(fake.statusCallback(sid, "delivered"))).toMatchObject({
        kind: "accepted",
        statuses: [{ providerMessageId: sid, status: "delivered" }],
      });
    });
  });

  describe("incoming messages", () => {
    const twiml = { status: 200, contentType: "text/xml", body: '<?xml version="1.0" encoding="UTF-8"?><Response/>' };

    it("an SMS from the user becomes an InboundMessage, answered with empty TwiML", async () => {
      const request = fake.inbound({
        url: `${PUBLIC_URL}/webhooks/twilio/inbound`,
        from: "+14155550142",
        to: "+15005550006",
        body: "STOP",
      });
      const result = await sender.handleWebhook?.(request);
      expect(result).toEqual({
        kind: "accepted",
        statuses: [],
        inbound: [
          {
            providerMessageId: expect.stringMatching(/^SM/),
            channel: "sms",
            from: "+14155550142",
            to: "+15005550006",
            text: "STOP",
          },
        ],
        response: twiml,
      });
    });

    it("a WhatsApp message loses its whatsapp: prefixes and is marked whatsapp", async () => {
      const request = fake.inbound({
        url: `${PUBLIC_URL}/webhooks/twilio/inbound`,
        from: "whatsapp:+14155550142",
        to: "whatsapp:+14155238886",
        body: "493817",
        sid: `SM${"9".repeat(32)}`,
      });
      expect(await sender.handleWebhook?.(request)).toEqual({
        kind: "accepted",
        statuses: [],
        inbound: [
          {
            providerMessageId: `SM${"9".repeat(32)}`,
            channel: "whatsapp",
            from: "+14155550142",
            to: "+14155238886",
            text: "493817",
          },
        ],
        response: twiml,
      });
    });

    it("an unsigned incoming message is rejected", async () => {
      const request = fake.inbound({
        url: `${PUBLIC_URL}/webhooks/twilio/inbound`,
        from: "+14155550142",
        to: "+15005550006",
        body: "STOP",
      });
      expect(await sender.handleWebhook?.({ ...request, headers: {} })).toMatchObject({ kind: "rejected" });
    });
  });
});

describe("X-Twilio-Signature", () => {
  // The reference's test vector (Twilio's documentation example, recomputed).
  const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  const params = new URLSearchParams({
    CallSid: "CA1234567890ABCDE",
    Caller: "+12349013030",
    Digits: "1234",
    From: "+12349013030",
    To: "+18005551212",
  });

  it("matches the test vector, with and without :443", () => {
    expect(twilioSignature("12345", url, params)).toBe("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    expect(twilioSignature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params)).toBe(
      "EpDEmp1PyjDYp77YxYU3GILBWzE=",
    );
  });

  it("verifies both forms of the vector against the URL without the port", () => {
    expect(verifyTwilioSignature("12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url, params)).toBe(true);
    expect(verifyTwilioSignature("12345", "EpDEmp1PyjDYp77YxYU3GILBWzE=", url, params)).toBe(true);
    expect(verifyTwilioSignature("12346", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url, params)).toBe(false);
    const fewer = new URLSearchParams(params);
    fewer.delete("Digits");
    expect(verifyTwilioSignature("12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url, fewer)).toBe(false);
  });

  it("sorts names by byte order and appends each distinct value of a repeated name, sorted", () => {
    const repeated = new URLSearchParams([
      ["b", "2"],
      ["B", "x"],
      ["a", "z"],
      ["a", "y"],
      ["a", "z"],
    ]);
    const expected = createHmac("sha1", "k").update("https://h/pBxayazb2").digest("base64");
    expect(twilioSignature("k", "https://h/p", repeated)).toBe(expected);
  });

  it("for JSON bodies signs the URL alone and checks bodySHA256", () => {
    const body = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}';
    const hash = createHash("sha256").update(body).digest("hex");
    const jsonUrl = `https://example.com/myapp?bodySHA256=${hash}`;
    const signature = twilioSignature("12345", jsonUrl, new URLSearchParams());
    expect(verifyTwilioSignature("12345", signature, jsonUrl, new URLSearchParams(), body)).toBe(true);
    expect(verifyTwilioSignature("12345", signature, jsonUrl, new URLSearchParams(), body.replace("CA1", "CA9"))).toBe(false);
  });
});
