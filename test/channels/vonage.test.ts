import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createVonageSender, type VonageConfig, vonageConfigSchema } from "../../src/channels/vonage.js";
import { verifyHs256Jwt } from "../../src/channels/vonage-webhook.js";
import type { OutboundMessage, Sender } from "../../src/core/sender.js";
import { type FakeVonage, type Problem, startFakeVonage, statusError, statusEvent } from "../fakes/vonage.js";
import { FakeClock } from "../helpers/clock.js";
import { freePort } from "../helpers/webhook-sink.js";

const APP_ID = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab";
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const ACCOUNT = { apiKey: "a1b2c3d4", apiSecret: "s3cr3t-Api-Secret" };
const SIGNATURE_SECRET = "wQ5b8mZp3XvL1tK9rN2cY7uE4hJ6sA0d";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const never = new AbortController().signal;

describe("vonage sender", () => {
  let clock: FakeClock;
  let fake: FakeVonage;

  const message = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
    deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
    verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
    to: "+14155550142",
    channel: "sms",
    code: "493817",
    body: "Your Acme code is 493817. It expires in 10 minutes.",
    locale: "en",
    expiresAt: clock.now() + 600_000,
    ...overrides,
  });

  const config = (overrides: Record<string, unknown> = {}): VonageConfig =>
    vonageConfigSchema.parse({
      applicationId: APP_ID,
      privateKey: PRIVATE_PEM,
      smsFrom: "Acme",
      whatsappFrom: "14157386102",
      rcsFrom: "acme_agent",
      signatureSecret: SIGNATURE_SECRET,
      baseUrl: fake.baseUrl,
      timeoutMs: 2000,
      ...overrides,
    });

  const appSender = (overrides: Record<string, unknown> = {}, deps: { publicUrl?: string; name?: string } = {}): Sender =>
    createVonageSender(config(overrides), { clock, ...deps });

  beforeEach(async () => {
    clock = new FakeClock();
    fake = await startFakeVonage({
      application: { id: APP_ID, publicKey },
      account: ACCOUNT,
      now: () => clock.now(),
    });
  });
  afterEach(async () => fake.close());

  const onlyRequest = () => {
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    if (!req) throw new Error("the fake received nothing");
    return req;
  };

  describe("send", () => {
    it("POSTs the SMS as JSON to /v1/messages with an RS256 application JWT", async () => {
      const sender = appSender({}, { publicUrl: "https://verify.example.com/" });
      const result = await sender.send(message(), never);

      const req = onlyRequest();
      expect(req.method).toBe("POST");
      expect(req.path).toBe("/v1/messages");
      expect(req.headers["content-type"]).toBe("application/json");
      expect(req.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      // The fake verified the signature with the application's public key.
      expect(req.auth).toMatchObject({ kind: "jwt", header: { alg: "RS256", typ: "JWT" } });
      const claims = req.auth?.kind === "jwt" ? req.auth.claims : {};
      const iat = Math.floor(clock.now() / 1000);
      expect(claims).toEqual({ application_id: APP_ID, iat, exp: iat + 300, jti: expect.stringMatching(UUID) });
      expect(JSON.parse(req.body)).toEqual({
        message_type: "text",
        to: "14155550142",
        from: "Acme",
        channel: "sms",
        client_ref: "dlv_0192aaaabbbbccccddddeeeeffff0001",
        webhook_url: "https://verify.example.com/webhooks/vonage/status",
        webhook_version: "v1",
        text: "Your Acme code is 493817. It expires in 10 minutes.",
        ttl: 600,
      });
      expect(result).toEqual({ kind: "accepted", providerMessageId: expect.stringMatching(UUID) });
      expect(result.kind === "accepted" && result.providerMessageId).not.toBeNull();
    });

    it("signs a fresh token (new jti) for every request", async () => {
      const sender = appSender();
      await sender.send(message(), never);
      clock.advance(5_000);
      await sender.send(message(), never);
      const [first, second] = fake.requests.map((r) => (r.auth?.kind === "jwt" ? r.auth.claims : {}));
      expect(first?.jti).not.toBe(second?.jti);
      expect(second?.iat).toBe((first?.iat as number) + 5);
    });

    it("uses HTTP Basic api_key:api_secret when configured with account credentials", async () => {
      const sender = createVonageSender(vonageConfigSchema.parse({ ...ACCOUNT, smsFrom: "Acme", baseUrl: fake.baseUrl }), {
        clock,
      });
      const result = await sender.send(message(), never);
      const req = onlyRequest();
      const expected = `Basic ${Buffer.from("a1b2c3d4:s3cr3t-Api-Secret").toString("base64")}`;
      expect(req.headers.authorization).toBe(expected);
      expect(req.auth).toEqual({ kind: "basic", apiKey: "a1b2c3d4" });
      expect(result).toMatchObject({ kind: "accepted", providerMessageId: expect.stringMatching(UUID) });
      // No publicUrl: the application's (or account's) status URL applies.
      expect(JSON.parse(req.body)).not.toHaveProperty("webhook_url");
    });

    it("a key Vonage does not know is answered 401 and reported as misconfigured", async () => {
      const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
      const sender = appSender({ privateKey: other.export({ type: "pkcs8", format: "pem" }).toString() });
      const result = await sender.send(message(), never);
      expect(onlyRequest().auth).toBeNull();
      expect(result).toEqual({
        kind: "misconfigured",
        error: { code: "unauthorized", message: "Unauthorized: You did not provide correct credentials." },
      });
    });

    it("wrong Basic credentials are misconfigured too", async () => {
      const sender = createVonageSender(
        vonageConfigSchema.parse({ apiKey: "a1b2c3d4", apiSecret: "wrong", smsFrom: "Acme", baseUrl: fake.baseUrl }),
        { clock },
      );
      expect(await sender.send(message(), never)).toMatchObject({ kind: "misconfigured", error: { code: "unauthorized" } });
    });

    it("accepts a one-line PEM with literal \\n sequences", async () => {
      const sender = appSender({ privateKey: PRIVATE_PEM.replaceAll("\n", "\\n") });
      expect(await sender.send(message(), never)).toMatchObject({ kind: "accepted" });
      expect(onlyRequest().auth?.kind).toBe("jwt");
    });

    it("sends WhatsApp codes as the authentication template (code in body and button), without ttl", async () => {
      const sender = appSender({ whatsappTemplate: { name: "otp_login", language: "de" } });
      const result = await sender.send(message({ channel: "whatsapp" }), never);
      expect(result.kind).toBe("accepted");
      expect(JSON.parse(onlyRequest().body)).toEqual({
        message_type: "custom",
        to: "14155550142",
        from: "14157386102",
        channel: "whatsapp",
        client_ref: "dlv_0192aaaabbbbccccddddeeeeffff0001",
        custom: {
          type: "template",
          template: {
            name: "otp_login",
            language: { policy: "deterministic", code: "de" },
            components: [
              { type: "body", parameters: [{ type: "text", text: "493817" }] },
              { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "493817" }] },
            ],
          },
        },
      });
    });

    it("a template without a button sends only the body parameter", async () => {
      const sender = appSender({ whatsappTemplate: { name: "otp_plain", button: false } });
      await sender.send(message({ channel: "whatsapp" }), never);
      const { custom } = JSON.parse(onlyRequest().body);
      expect(custom.template.language).toEqual({ policy: "deterministic", code: "en" });
      expect(custom.template.components).toEqual([{ type: "body", parameters: [{ type: "text", text: "493817" }] }]);
    });

    it("without a template, WhatsApp gets the plain text (session window only) and no ttl", async () => {
      await appSender().send(message({ channel: "whatsapp" }), never);
      const body = JSON.parse(onlyRequest().body);
      expect(body).toMatchObject({ message_type: "text", channel: "whatsapp", from: "14157386102", text: message().body });
      expect(body).not.toHaveProperty("ttl");
    });

    it("sends RCS as text from the agent id, with ttl bounded by the code's remaining life", async () => {
      const sender = appSender();
      await sender.send(message({ channel: "rcs", expiresAt: clock.now() + 123_900 }), never);
      expect(JSON.parse(onlyRequest().body)).toMatchObject({
        message_type: "text",
        channel: "rcs",
        from: "acme_agent",
        ttl: 123,
      });
    });

    it.each([
      ["nearly expired", 3_000, 20],
      ["already expired", -60_000, 20],
      ["far in the future", 30 * 86_400_000, 259_200],
    ])("a %s code gets a ttl inside Vonage's bounds", async (_label, remainingMs, ttl) => {
      await appSender().send(message({ expiresAt: clock.now() + remainingMs }), never);
      expect(JSON.parse(onlyRequest().body).ttl).toBe(ttl);
    });

    it("a channel without a sender is misconfigured and sends nothing", async () => {
      const sender = createVonageSender(
        vonageConfigSchema.parse({ applicationId: APP_ID, privateKey: PRIVATE_PEM, smsFrom: "Acme", baseUrl: fake.baseUrl }),
        { clock, name: "vonage-eu" },
      );
      expect(sender.provider).toBe("vonage-eu");
      expect(sender.channels).toEqual(["sms"]);
      const result = await sender.send(message({ channel: "rcs" }), never);
      expect(result).toMatchObject({ kind: "misconfigured", error: { code: "channel_not_configured" } });
      expect(fake.requests).toHaveLength(0);
    });

    const problem = (type: string, title: string, detail: string): Problem => ({
      type: `https://developer.vonage.com/api-errors${type}`,
      title,
      detail,
    });

    it.each([
      [
        401,
        problem("#unauthorized", "Unauthorized", "You did not provide correct credentials."),
        "misconfigured",
        "unauthorized",
      ],
      [
        402,
        problem("#low-balance", "Low balance", "This request could not be performed due to your account balance being low."),
        "misconfigured",
        "low-balance",
      ],
      [
        403,
        problem("#forbidden", "Forbidden", "Your account does not have permission to perform this action."),
        "misconfigured",
        "forbidden",
      ],
      [422, problem("/messages#1150", "Invalid params", "The value of one or more parameters is invalid."), "rejected", "1150"],
      [
        422,
        problem("/messages#1430", "Invalid recipient", "The `to` parameter is invalid for the given channel."),
        "rejected",
        "1430",
      ],
      [422, problem("/messages#1120", "Illegal Sender Address", "The SenderID was not accepted."), "misconfigured", "1120"],
      [422, problem("/messages#1022", "Invalid template", "Invalid template or template parameters."), "misconfigured", "1022"],
      [429, problem("#throttled", "Rate Limit Hit", "Please wait, then retry your request"), "retry", "throttled"],
      [500, problem("#internal-error", "Internal Error", "Something went wrong."), "retry", "internal-error"],
      [503, problem("#service-unavailable", "Service Unavailable", "Try again later."), "retry", "service-unavailable"],
      [400, problem("#invalid-json", "Invalid JSON", "The request body did not contain valid JSON."), "rejected", "invalid-json"],
    ] as const)("%i %s is %s (code %s)", async (status, body, kind, code) => {
      fake.failNext(status, body);
      const result = await appSender().send(message(), never);
      expect(result).toEqual({ kind, error: { code, message: `${body.title}: ${body.detail}` } });
    });

    it("an HTTP status without a problem body keeps the status as the code", async () => {
      fake.failNext(502, { type: "", title: "" });
      expect(await appSender().send(message(), never)).toMatchObject({ kind: "retry", error: { code: "http_502" } });
    });

    it("404 (wrong baseUrl path) is misconfigured", async () => {
      const sender = appSender({ baseUrl: `${fake.baseUrl}/nexmo` });
      expect(await sender.send(message(), never)).toMatchObject({ kind: "misconfigured", error: { code: "not-found" } });
    });

    it("429 with Retry-After: 3 asks to wait 3000 ms", async () => {
      fake.failNext(429, problem("#throttled", "Rate Limit Hit", "Please wait"), { "retry-after": "3" });
      expect(await appSender().send(message(), never)).toMatchObject({ kind: "retry", retryAfterMs: 3000 });
    });

    it("never lets the code into the error message, even when Vonage quotes it", async () => {
      fake.failNext(422, problem("/messages#1150", "Invalid params", "Invalid text: Your Acme code is 493817."));
      const result = await appSender().send(message(), never);
      expect(result.kind).toBe("rejected");
      expect(result.kind !== "accepted" && result.error.message).toBe("Invalid params: Invalid text: Your Acme code is ******.");
    });

    it("a body the fake refuses as invalid (422) is rejected, proving the fake checks the body", async () => {
      const result = await appSender().send(message({ to: "+0123" }), never);
      expect(result).toMatchObject({
        kind: "rejected",
        error: { code: "1150", message: "Invalid params: The `to` parameter is invalid." },
      });
    });

    it("a refused connection is a retry with code network_error", async () => {
      const port = await freePort();
      const sender = appSender({ baseUrl: `http://127.0.0.1:${port}` });
      expect(await sender.send(message(), never)).toMatchObject({ kind: "retry", error: { code: "network_error" } });
    });
  });

  describe("webhooks", () => {
    const MESSAGE_UUID = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab";
    const signing = { secret: SIGNATURE_SECRET };

    it("a delivered status with a valid signature becomes a StatusUpdate", async () => {
      const request = fake.webhook(statusEvent(MESSAGE_UUID, "delivered"), signing);
      expect(await appSender().handleWebhook?.(request)).toEqual({
        kind: "accepted",
        statuses: [{ providerMessageId: MESSAGE_UUID, status: "delivered" }],
        inbound: [],
      });
    });

    it.each([
      ["submitted", "sent"],
      ["read", "read"],
    ] as const)("status %s maps to %s", async (vonageStatus, status) => {
      const request = fake.webhook(statusEvent(MESSAGE_UUID, vonageStatus, { channel: "whatsapp" }), signing);
      const result = await appSender().handleWebhook?.(request);
      expect(result).toEqual({ kind: "accepted", statuses: [{ providerMessageId: MESSAGE_UUID, status }], inbound: [] });
    });

    it.each([
      ["rejected", 1050, "Number barred", "failed", true],
      ["rejected", 1340, "Outside of the allowed window", "failed", true],
      ["rejected", 1260, "Destination unreachable", "failed", true],
      ["rejected", 1220, "Handset busy", "failed", false],
      ["rejected", 1000, "Throttled", "failed", false],
      ["undeliverable", 1230, "Network error", "undelivered", false],
    ] as const)("%s with error %i (%s) is %s, permanent=%s", async (vonageStatus, code, detail, status, permanent) => {
      const body = statusEvent(MESSAGE_UUID, vonageStatus, { error: statusError(code, detail) });
      const result = await appSender().handleWebhook?.(fake.webhook(body, signing));
      expect(result).toEqual({
        kind: "accepted",
        statuses: [{ providerMessageId: MESSAGE_UUID, status, errorCode: String(code), errorMessage: detail, permanent }],
        inbound: [],
      });
    });

    it("reads the code from a string title when the type URL has none", async () => {
      const error = {
        type: "https://developer.vonage.com/api-errors/messages#rejected",
        title: "1190",
        detail: "Absent Subscriber Permanent",
      };
      const result = await appSender().handleWebhook?.(fake.webhook(statusEvent(MESSAGE_UUID, "rejected", { error }), signing));
      expect(result).toMatchObject({ statuses: [{ status: "failed", errorCode: "1190", permanent: true }] });
    });

    it("rejected without an error object is permanent; undeliverable without one is not", async () => {
      const sender = appSender();
      const rejected = await sender.handleWebhook?.(fake.webhook(statusEvent(MESSAGE_UUID, "rejected"), signing));
      const undeliverable = await sender.handleWebhook?.(fake.webhook(statusEvent(MESSAGE_UUID, "undeliverable"), signing));
      expect(rejected).toMatchObject({ statuses: [{ status: "failed", permanent: true }] });
      expect(undeliverable).toMatchObject({ statuses: [{ status: "undelivered", permanent: false }] });
    });

    it("an inbound SMS becomes an InboundMessage with an E.164 sender", async () => {
      const inbound = {
        channel: "sms",
        message_uuid: MESSAGE_UUID,
        to: "447700900000",
        from: "14155550142",
        timestamp: "2026-01-15T12:00:00Z",
        message_type: "text",
        text: "STOP",
        sms: { num_messages: "1" },
      };
      expect(await appSender().handleWebhook?.(fake.webhook(inbound, signing))).toEqual({
        kind: "accepted",
        statuses: [],
        inbound: [{ providerMessageId: MESSAGE_UUID, channel: "sms", from: "+14155550142", to: "447700900000", text: "STOP" }],
      });
    });

    it("an inbound WhatsApp text is parsed too; other message types are acknowledged and ignored", async () => {
      const sender = appSender();
      const base = {
        channel: "whatsapp",
        message_uuid: MESSAGE_UUID,
        to: "14157386102",
        from: "14155550142",
        profile: { name: "Ada" },
      };
      const text = await sender.handleWebhook?.(fake.webhook({ ...base, message_type: "text", text: "hi" }, signing));
      const image = await sender.handleWebhook?.(
        fake.webhook({ ...base, message_type: "image", image: { url: "https://x" } }, signing),
      );
      expect(text).toMatchObject({ inbound: [{ channel: "whatsapp", from: "+14155550142", text: "hi" }] });
      expect(image).toEqual({ kind: "accepted", statuses: [], inbound: [] });
    });

    describe("refuses", () => {
      const body = statusEvent(MESSAGE_UUID, "delivered");
      const nowS = () => Math.floor(clock.now() / 1000);

      it.each([
        ["another secret", () => fake.webhook(body, { secret: "not-the-signature-secret-at-all!!" }), "bad signature"],
        [
          "a tampered body",
          () => fake.webhook(body, { ...signing, rawBody: JSON.stringify({ ...body, status: "rejected" }) }),
          "payload hash mismatch",
        ],
        [
          "a hash of another body",
          () => fake.webhook(body, { ...signing, payloadHash: "0".repeat(64) }),
          "payload hash mismatch",
        ],
        ["no payload_hash claim", () => fake.webhook(body, { ...signing, omitPayloadHash: true }), "payload hash mismatch"],
        ["alg none", () => fake.webhook(body, { ...signing, alg: "none" }), "unexpected token algorithm"],
        ["a token issued 11 minutes ago", () => fake.webhook(body, { ...signing, iat: nowS() - 661 }), "token too old"],
        [
          "a token issued 2 minutes ahead",
          () => fake.webhook(body, { ...signing, iat: nowS() + 120 }),
          "token issued in the future",
        ],
        ["an expired token", () => fake.webhook(body, { ...signing, exp: nowS() - 61 }), "token expired"],
      ] as const)("%s", async (_label, build, reason) => {
        expect(await appSender().handleWebhook?.(build())).toEqual({ kind: "rejected", reason });
      });

      it("a missing or non-bearer Authorization header", async () => {
        const signed = fake.webhook(body, signing);
        const sender = appSender();
        const { authorization: _, ...withoutAuth } = signed.headers;
        expect(await sender.handleWebhook?.({ ...signed, headers: withoutAuth })).toEqual({
          kind: "rejected",
          reason: "missing bearer token",
        });
        const basic = { ...signed.headers, authorization: "Basic YTpi" };
        expect(await sender.handleWebhook?.({ ...signed, headers: basic })).toMatchObject({ kind: "rejected" });
      });

      it("everything when no signature secret is configured", async () => {
        const sender = appSender({ signatureSecret: undefined });
        expect(await sender.handleWebhook?.(fake.webhook(body, signing))).toEqual({
          kind: "rejected",
          reason: "no signature secret configured",
        });
      });

      it("a token that was fine until the clock moved past the replay window", async () => {
        const sender = appSender();
        const request = fake.webhook(body, signing);
        clock.advance(600_000 + 60_000);
        expect(await sender.handleWebhook?.(request)).toMatchObject({ kind: "accepted" });
        clock.advance(1_000);
        expect(await sender.handleWebhook?.(request)).toEqual({ kind: "rejected", reason: "token too old" });
      });
    });

    it("verifies the RFC 7519 / jwt.io HS256 test vector", () => {
      const token =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
      expect(verifyHs256Jwt(token, "your-256-bit-secret")).toEqual({
        ok: true,
        claims: { sub: "1234567890", name: "John Doe", iat: 1516239022 },
      });
      expect(verifyHs256Jwt(token, "your-256-bit-secreT")).toEqual({ ok: false, reason: "bad signature" });
      // "c" → "d" changes only the spare bits of the last character: same bytes, non-canonical text.
      expect(verifyHs256Jwt(`${token.slice(0, -1)}d`, "your-256-bit-secret")).toEqual({ ok: false, reason: "bad signature" });
      expect(verifyHs256Jwt(`${token.slice(0, -2)}6c`, "your-256-bit-secret")).toEqual({ ok: false, reason: "bad signature" });
      expect(verifyHs256Jwt(token.replace("eyJzdWIi", "eyJzdWJi"), "your-256-bit-secret")).toEqual({
        ok: false,
        reason: "bad signature",
      });
    });
  });

  describe("config", () => {
    it("applies defaults", () => {
      const parsed = vonageConfigSchema.parse({ applicationId: APP_ID, privateKey: PRIVATE_PEM, smsFrom: "Acme" });
      expect(parsed).toMatchObject({ baseUrl: "https://api.nexmo.com", timeoutMs: 5000, webhookMaxAgeSeconds: 600 });
    });

    it.each([
      [{ smsFrom: "Acme" }, "set applicationId + privateKey"],
      [{ applicationId: APP_ID, smsFrom: "Acme" }, "applicationId and privateKey go together"],
      [{ apiKey: "k", smsFrom: "Acme" }, "apiKey and apiSecret go together"],
      [{ apiKey: "k", apiSecret: "s" }, "set at least one of smsFrom"],
    ])("refuses %o", (input, message) => {
      const parsed = vonageConfigSchema.safeParse(input);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((i) => i.message).join("; ")).toContain(message);
    });
  });
});
