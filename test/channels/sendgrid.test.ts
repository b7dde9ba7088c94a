import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSendgridSender, sendgridConfigSchema } from "../../src/channels/sendgrid.js";
import { verifySendgridSignature } from "../../src/channels/sendgrid-webhook.js";
import { renderEmail } from "../../src/core/messages/email.js";
import type { OutboundMessage, Sender } from "../../src/core/sender.js";
import { type FakeSendgrid, startFakeSendgrid } from "../fakes/sendgrid.js";
import { FakeClock } from "../helpers/clock.js";

const never = new AbortController().signal;

describe("sendgrid sender", () => {
  let clock: FakeClock;
  let fake: FakeSendgrid;
  let sender: Sender;

  const email = (to = "ada@example.com"): OutboundMessage => {
    const content = renderEmail({ locale: "en", serviceName: "Acme", code: "482913", secondsLeft: 600 });
    return {
      deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
      verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
      to,
      channel: "email",
      code: "482913",
      body: content.text,
      locale: "en",
      expiresAt: clock.now() + 600_000,
      email: { subject: content.subject, html: content.html, from: null },
    };
  };
  const make = (overrides: Record<string, unknown> = {}) =>
    createSendgridSender(
      sendgridConfigSchema.parse({
        apiKey: fake.apiKey,
        from: "Acme <no-reply@auth.acme.example>",
        webhookPublicKey: fake.publicKey,
        baseUrl: fake.baseUrl,
        ...overrides,
      }),
      { clock, name: "sendgrid" },
    );

  beforeEach(async () => {
    clock = new FakeClock();
    fake = await startFakeSendgrid({ now: () => clock.now() });
    sender = make();
  });
  afterEach(async () => fake.close());

  it("POSTs one personalization with text then HTML, tracking off, and keeps X-Message-Id", async () => {
    const result = await sender.send(email(), never);
    expect(fake.sent).toHaveLength(1);
    expect(result).toEqual({ kind: "accepted", providerMessageId: fake.sent[0]?.messageId });
    const req = fake.requests[0];
    expect(req?.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    const content = renderEmail({ locale: "en", serviceName: "Acme", code: "482913", secondsLeft: 600 });
    expect(fake.sent[0]?.body).toEqual({
      personalizations: [
        { to: [{ email: "ada@example.com" }], custom_args: { verifyd_delivery: "dlv_0192aaaabbbbccccddddeeeeffff0001" } },
      ],
      from: { email: "no-reply@auth.acme.example", name: "Acme" },
      subject: "482913 is your Acme verification code",
      content: [
        { type: "text/plain", value: content.text },
        { type: "text/html", value: content.html },
      ],
      headers: { "Auto-Submitted": "auto-generated" },
      tracking_settings: {
        click_tracking: { enable: false, enable_text: false },
        open_tracking: { enable: false },
        subscription_tracking: { enable: false },
      },
    });
    expect(sender.channels).toEqual(["email"]);
  });

  it("uses the service's From when it has one", async () => {
    const message = email();
    await sender.send({ ...message, email: { ...message.email!, from: "code@kobo.example" } }, never);
    expect(fake.sent[0]?.body.from).toEqual({ email: "code@kobo.example" });
  });

  it.each([
    [400, "rejected"],
    [401, "misconfigured"],
    [403, "misconfigured"],
    [413, "rejected"],
    [429, "retry"],
    [503, "retry"],
  ])("answers %s: %s", async (status, kind) => {
    fake.failNext(status, [{ message: "for ada@example.com", field: "personalizations.0.to.0.email" }]);
    const result = await sender.send(email(), never);
    expect(result).toMatchObject({ kind, error: { code: `http_${status}` } });
    expect(result.kind !== "accepted" && result.error.message).not.toContain("ada@example.com");
  });

  it("an address SendGrid refuses is rejected; a wrong key is misconfigured", async () => {
    expect(await sender.send(email("invalid@example.com"), never)).toMatchObject({
      kind: "rejected",
      error: { code: "http_400" },
    });
    expect(await make({ apiKey: "SG.wrong" }).send(email(), never)).toMatchObject({ kind: "misconfigured" });
  });

  it("waits until X-RateLimit-Reset on a 429", async () => {
    const reset = Math.floor(clock.now() / 1000) + 20;
    fake.failNext(429, [{ message: "too many requests" }], { "x-ratelimit-reset": String(reset) });
    expect(await sender.send(email(), never)).toMatchObject({ kind: "retry", retryAfterMs: reset * 1000 - clock.now() });
  });

  describe("event webhook", () => {
    const sentId = async () => {
      await sender.send(email(), never);
      return fake.sent[0]?.messageId as string;
    };

    it("reads delivered, bounce, blocked and dropped from one signed batch; deferred and processed report nothing", async () => {
      const id = await sentId();
      const result = await sender.handleWebhook?.(
        fake.events([
          { messageId: id, event: "processed" },
          { messageId: id, event: "deferred", extra: { response: "400 try again later", attempt: "1" } },
          { messageId: id, event: "delivered", extra: { response: "250 OK" } },
          {
            messageId: id,
            event: "bounce",
            extra: { type: "bounce", status: "5.1.1", reason: "550 5.1.1 <ada@example.com> unknown" },
          },
          { messageId: id, event: "bounce", extra: { type: "blocked", status: "4.7.1", reason: "421 try later" } },
          { messageId: id, event: "dropped", extra: { reason: "Bounced Address" } },
        ]),
      );
      expect(result).toEqual({
        kind: "accepted",
        inbound: [],
        statuses: [
          { providerMessageId: id, status: "delivered" },
          {
            providerMessageId: id,
            status: "undelivered",
            errorCode: "bounce",
            errorMessage: "550 5.1.1 <[to]> unknown",
            permanent: true,
          },
          { providerMessageId: id, status: "undelivered", errorCode: "blocked", errorMessage: "421 try later", permanent: false },
          { providerMessageId: id, status: "failed", errorCode: "dropped", errorMessage: "Bounced Address", permanent: true },
        ],
      });
    });

    it("refuses a batch whose body changed, an old one, an unsigned one, and any without a configured key", async () => {
      const id = await sentId();
      const batch = [{ messageId: id, event: "bounce", extra: { type: "bounce" } }];
      expect(await sender.handleWebhook?.(fake.events(batch, { tamper: true }))).toMatchObject({
        kind: "rejected",
        reason: "bad signature",
      });
      const old = fake.events(batch, { timestamp: Math.floor(clock.now() / 1000) - 3600 });
      expect(await sender.handleWebhook?.(old)).toMatchObject({ kind: "rejected", reason: "timestamp out of range" });
      const signed = fake.events(batch);
      expect(await sender.handleWebhook?.({ ...signed, headers: {} })).toMatchObject({ kind: "rejected" });
      expect(await make({ webhookPublicKey: undefined }).handleWebhook?.(signed)).toMatchObject({ kind: "rejected" });
      expect(await sender.handleWebhook?.(signed)).toMatchObject({ kind: "accepted" });
    });
  });
});

describe("SendGrid's signature", () => {
  // sendgrid-nodejs eventwebhook.spec.js: the compact array followed by CRLF.
  const key =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
  const signature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
  const body =
    '[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]\r\n';

  it("verifies the published test vector, and not once the trailing CRLF is trimmed", () => {
    expect(verifySendgridSignature(key, signature, "1600112502", body)).toBe(true);
    expect(verifySendgridSignature(key, signature, "1600112502", body.trimEnd())).toBe(false);
    expect(verifySendgridSignature(key, signature, "1600112503", body)).toBe(false);
    expect(verifySendgridSignature("not a key", signature, "1600112502", body)).toBe(false);
  });
});
