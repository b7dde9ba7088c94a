import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  classifyMetaError,
  createMetaWhatsappSender,
  type MetaWhatsappConfig,
  metaWhatsappConfigSchema,
} from "../../src/channels/meta-whatsapp.js";
import type { OutboundMessage, Sender, WebhookResult } from "../../src/core/sender.js";
import { type FakeMeta, startFakeMeta, WEBHOOK_URL } from "../fakes/meta-whatsapp.js";
import { FakeClock } from "../helpers/clock.js";
import { freePort } from "../helpers/webhook-sink.js";

const clock = new FakeClock();

const settings = {
  accessToken: "EAAG-test-system-user-token",
  phoneNumberId: "106540352242922",
  apiVersion: "v23.0",
  appSecret: "0f4b8c2a9d3e7f1a6b5c4d3e2f1a0b9c",
  verifyToken: "verifyd-handshake-7c1e",
  templateName: "verifyd_otp",
  templateLanguage: "en_US",
};

const message: OutboundMessage = {
  deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
  verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
  to: "+14155550142",
  channel: "whatsapp",
  code: "493817",
  body: "Your verifyd code is 493817. It expires in 10 minutes.",
  locale: "en",
  expiresAt: clock.now() + 600_000,
};

const never = new AbortController().signal;

function configFor(fake: FakeMeta, overrides: Partial<MetaWhatsappConfig> = {}): MetaWhatsappConfig {
  return metaWhatsappConfigSchema.parse({ ...settings, baseUrl: fake.baseUrl, timeoutMs: 2000, ...overrides });
}

function accepted(result: WebhookResult) {
  if (result.kind !== "accepted") throw new Error(`expected an accepted webhook, got ${JSON.stringify(result)}`);
  return result;
}

describe("meta-whatsapp config", () => {
  it("defaults the version, language, base URL and timeout", () => {
    const config = metaWhatsappConfigSchema.parse({ accessToken: "t", phoneNumberId: "123", templateName: "otp" });
    expect(config).toEqual({
      accessToken: "t",
      phoneNumberId: "123",
      templateName: "otp",
      apiVersion: "v23.0",
      templateLanguage: "en_US",
      baseUrl: "https://graph.facebook.com",
      timeoutMs: 5000,
    });
  });

  it("refuses a version without the leading v and a non-numeric phone number id", () => {
    expect(metaWhatsappConfigSchema.safeParse({ ...settings, apiVersion: "23.0" }).success).toBe(false);
    expect(metaWhatsappConfigSchema.safeParse({ ...settings, phoneNumberId: "+15550783881" }).success).toBe(false);
  });
});

describe("meta-whatsapp sender", () => {
  let fake: FakeMeta;
  let sender: Sender;
  beforeEach(async () => {
    fake = await startFakeMeta(settings);
    sender = createMetaWhatsappSender(configFor(fake), { clock });
  });
  afterEach(async () => fake.close());

  const onlyRequest = () => {
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    if (!req) throw new Error("the fake received nothing");
    return req;
  };

  it("POSTs the authentication template with the code in the body and the button", async () => {
    const result = await sender.send(message, never);
    expect(fake.accepted).toHaveLength(1);
    expect(result).toEqual({ kind: "accepted", providerMessageId: fake.accepted[0]?.id });
    expect(fake.accepted[0]?.id).toMatch(/^wamid\./);
    const req = onlyRequest();
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/v23.0/106540352242922/messages");
    expect(req.headers.authorization).toBe("Bearer EAAG-test-system-user-token");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual({
      messaging_product: "whatsapp",
      recipient_type: "individual",
      to: "14155550142",
      type: "template",
      template: {
        name: "verifyd_otp",
        language: { code: "en_US" },
        components: [
          { type: "body", parameters: [{ type: "text", text: "493817" }] },
          { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "493817" }] },
        ],
      },
    });
  });

  it("names itself after the configured instance and carries only whatsapp", () => {
    expect(sender.provider).toBe("meta-whatsapp");
    expect(sender.channels).toEqual(["whatsapp"]);
    expect(createMetaWhatsappSender(configFor(fake), { clock, name: "wa-eu" }).provider).toBe("wa-eu");
  });

  it("uses the configured template language and version", async () => {
    await fake.close();
    fake = await startFakeMeta({ ...settings, apiVersion: "v24.0", templateLanguage: "de" });
    const german = createMetaWhatsappSender(configFor(fake, { apiVersion: "v24.0", templateLanguage: "de" }), { clock });
    expect(await german.send(message, never)).toMatchObject({ kind: "accepted" });
    const req = onlyRequest();
    expect(req.path).toBe("/v24.0/106540352242922/messages");
    expect(JSON.parse(req.body).template.language).toEqual({ code: "de" });
  });

  // Every documented error code. HTTP statuses are Graph's (mostly 400; 401, 403, 404, 500 where noted).
  it.each([
    [0, "misconfigured"],
    [190, "misconfigured"],
    [3, "misconfigured"],
    [10, "misconfigured"],
    [200, "misconfigured"],
    [250, "misconfigured"],
    [299, "misconfigured"],
    [4, "retry"],
    [80007, "retry"],
    [130429, "retry"],
    [131056, "retry"],
    [131048, "misconfigured"],
    [131000, "retry"],
    [131016, "retry"],
    [1, "retry"],
    [2, "retry"],
    [133004, "retry"],
    [131026, "rejected"],
    [131047, "rejected"],
    [131049, "retry"],
    [131050, "rejected"],
    [131008, "rejected"],
    [131009, "rejected"],
    [100, "rejected"],
    [131021, "rejected"],
    [131031, "misconfigured"],
    [368, "misconfigured"],
    [131042, "misconfigured"],
    [132000, "misconfigured"],
    [132001, "misconfigured"],
    [132005, "misconfigured"],
    [132007, "misconfigured"],
    [132012, "misconfigured"],
    [132015, "misconfigured"],
    [132016, "misconfigured"],
    [133010, "misconfigured"],
  ] as const)("error code %i is %s", async (code, kind) => {
    fake.failFor(message.to, code);
    const result = await sender.send(message, never);
    expect(result.kind).toBe(kind);
    expect(result.kind !== "accepted" && result.error.code).toBe(String(code));
    expect(result.kind !== "accepted" && result.error.message).toMatch(/\S/);
    expect(classifyMetaError(code)).toBe(kind);
  });

  it("the code decides, not the HTTP status: a rate limit answered with 400 is still a retry", async () => {
    fake.failFor(message.to, 130429, { status: 400 });
    expect(await sender.send(message, never)).toMatchObject({ kind: "retry", error: { code: "130429" } });
    fake.failFor(message.to, 131026, { status: 500 });
    expect(await sender.send(message, never)).toMatchObject({ kind: "rejected", error: { code: "131026" } });
  });

  it("waits about the pair rate interval after 131056, and honours Retry-After when given", async () => {
    fake.failFor(message.to, 131056);
    expect(await sender.send(message, never)).toMatchObject({ kind: "retry", retryAfterMs: 6000 });
    fake.replyOnce({
      status: 400,
      headers: { "content-type": "application/json", "retry-after": "30" },
      body: JSON.stringify({ error: { message: "(#4) Application request limit reached", type: "OAuthException", code: 4 } }),
    });
    expect(await sender.send(message, never)).toMatchObject({ kind: "retry", retryAfterMs: 30_000, error: { code: "4" } });
  });

  it("transient codes carry no wait of their own", async () => {
    fake.failFor(message.to, 131000);
    expect(await sender.send(message, never)).toEqual({
      kind: "retry",
      error: { code: "131000", message: "(#131000) Error" },
    });
  });

  it("a wrong access token, as Graph checks it, is a configuration problem (190)", async () => {
    const wrong = createMetaWhatsappSender(configFor(fake, { accessToken: "EAAG-revoked" }), { clock });
    expect(await wrong.send(message, never)).toMatchObject({ kind: "misconfigured", error: { code: "190" } });
    expect(fake.accepted).toHaveLength(0);
  });

  it("a wrong phone number id (100 with subcode 33) is a configuration problem, not the recipient's", async () => {
    const wrong = createMetaWhatsappSender(configFor(fake, { phoneNumberId: "999999999" }), { clock });
    const result = await wrong.send(message, never);
    expect(result).toMatchObject({ kind: "misconfigured", error: { code: "100" } });
    expect(onlyRequest().path).toBe("/v23.0/999999999/messages");
  });

  it("a template missing in that language (132001, HTTP 404) is a configuration problem", async () => {
    const wrong = createMetaWhatsappSender(configFor(fake, { templateLanguage: "fr" }), { clock });
    expect(await wrong.send(message, never)).toMatchObject({ kind: "misconfigured", error: { code: "132001" } });
  });

  it("never returns the code in an error message, even when Graph quotes it", async () => {
    fake.failFor(message.to, 132012, { message: `(#132012) Parameter format does not match: "${message.code}"` });
    const result = await sender.send(message, never);
    expect(result).toMatchObject({ kind: "misconfigured", error: { code: "132012" } });
    expect(result.kind !== "accepted" && result.error.message).not.toContain(message.code);
    expect(result.kind !== "accepted" && result.error.message).toContain("Parameter format does not match");
  });

  it("refuses a code longer than a template button takes, without calling Meta", async () => {
    const result = await sender.send({ ...message, code: "1234567890123456" }, never);
    expect(result).toMatchObject({ kind: "misconfigured", error: { code: "code_too_long" } });
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    [500, "retry"],
    [502, "retry"],
    [503, "retry"],
    [429, "retry"],
    [401, "misconfigured"],
    [404, "misconfigured"],
    [302, "misconfigured"],
    [400, "rejected"],
  ] as const)("an answer without a Graph error (HTTP %i) is %s by its status", async (status, kind) => {
    fake.replyOnce({ status, body: "<html>upstream trouble</html>", headers: { location: "http://127.0.0.1:1/x" } });
    const result = await sender.send(message, never);
    expect(result).toMatchObject({ kind, error: { code: `http_${status}`, message: "<html>upstream trouble</html>" } });
    expect(fake.requests).toHaveLength(1);
  });

  it("an unknown Graph code falls back to the HTTP status (400 → rejected, 503 → retry)", async () => {
    fake.failFor(message.to, 987654, { status: 400 });
    expect(await sender.send(message, never)).toMatchObject({ kind: "rejected", error: { code: "987654" } });
    fake.failFor(message.to, 987654, { status: 503 });
    expect(await sender.send(message, never)).toMatchObject({ kind: "retry", error: { code: "987654" } });
  });

  it("a 200 without a message id is still accepted", async () => {
    fake.replyOnce({ status: 200, headers: { "content-type": "application/json" }, body: '{"messaging_product":"whatsapp"}' });
    expect(await sender.send(message, never)).toEqual({ kind: "accepted", providerMessageId: null });
  });

  it("a response slower than timeoutMs is a retry with code timeout", async () => {
    const quick = createMetaWhatsappSender(configFor(fake, { timeoutMs: 150 }), { clock });
    fake.replyOnce({ status: 200, delayMs: 5000 });
    expect(await quick.send(message, never)).toMatchObject({ kind: "retry", error: { code: "timeout" } });
  });

  it("a refused connection is a retry with code network_error", async () => {
    const port = await freePort();
    const dead = createMetaWhatsappSender(configFor(fake, { baseUrl: `http://127.0.0.1:${port}` }), { clock });
    expect(await dead.send(message, never)).toMatchObject({ kind: "retry", error: { code: "network_error" } });
  });
});

describe("meta-whatsapp webhooks", () => {
  let fake: FakeMeta;
  let sender: Sender;
  beforeEach(async () => {
    fake = await startFakeMeta(settings);
    sender = createMetaWhatsappSender(configFor(fake), { clock });
  });
  afterEach(async () => fake.close());

  const handle = (request: Parameters<NonNullable<Sender["handleWebhook"]>>[0]) => {
    if (!sender.handleWebhook) throw new Error("no webhook handler");
    return sender.handleWebhook(request);
  };

  it("answers the subscription handshake with the challenge when the verify token matches", async () => {
    expect(await handle(fake.handshake(settings.verifyToken, "1158201444"))).toEqual({ kind: "challenge", body: "1158201444" });
  });

  it.each([
    ["another token", "not-our-token", "subscribe"],
    ["a token of another length", "x", "subscribe"],
    ["another mode", settings.verifyToken, "unsubscribe"],
  ])("refuses the handshake with %s", async (_label, token, mode) => {
    expect(await handle(fake.handshake(token, "1158201444", mode))).toMatchObject({ kind: "rejected" });
  });

  it("refuses the handshake without a challenge, and when no verify token is configured", async () => {
    const noChallenge = {
      method: "GET" as const,
      url: `${WEBHOOK_URL}?hub.mode=subscribe&hub.verify_token=x`,
      headers: {},
      rawBody: "",
    };
    expect(await handle(noChallenge)).toMatchObject({ kind: "rejected" });
    const unconfigured = createMetaWhatsappSender(configFor(fake, { verifyToken: undefined }), { clock });
    const result = await unconfigured.handleWebhook?.(fake.handshake("", "1158201444"));
    expect(result).toMatchObject({ kind: "rejected" });
  });

  it("parses a signed delivered status", async () => {
    const body = fake.statusBody([{ id: "wamid.HBgLMTQxNTU1NTAxNDIVAgARGBI1", status: "delivered" }]);
    expect(await handle(fake.signedWebhook(body))).toEqual({
      kind: "accepted",
      statuses: [{ providerMessageId: "wamid.HBgLMTQxNTU1NTAxNDIVAgARGBI1", status: "delivered" }],
      inbound: [],
    });
  });

  it("parses a signed failed status, permanent for an undeliverable recipient", async () => {
    const body = fake.statusBody([{ id: "wamid.A1", status: "failed", errorCode: 131026 }]);
    expect(accepted(await handle(fake.signedWebhook(body))).statuses).toEqual([
      {
        providerMessageId: "wamid.A1",
        status: "failed",
        errorCode: "131026",
        errorMessage: "Message undeliverable",
        permanent: true,
      },
    ]);
  });

  it.each([
    [131000, false],
    [130429, false],
    [131049, false],
    [131047, true],
    [132015, true],
    [131031, true],
    [999999, true],
  ])("a failed status with code %i has permanent = %s", async (code, permanent) => {
    const body = fake.statusBody([{ id: "wamid.B2", status: "failed", errorCode: code }]);
    const [status] = accepted(await handle(fake.signedWebhook(body))).statuses;
    expect(status).toMatchObject({ status: "failed", errorCode: String(code), permanent });
  });

  it("keeps sent, delivered and read in order and skips statuses it has no use for", async () => {
    const body = fake.statusBody([
      { id: "wamid.C1", status: "sent" },
      { id: "wamid.C1", status: "delivered" },
      { id: "wamid.C1", status: "read" },
      { id: "wamid.C2", status: "deleted" },
    ]);
    expect(accepted(await handle(fake.signedWebhook(body))).statuses).toEqual([
      { providerMessageId: "wamid.C1", status: "sent" },
      { providerMessageId: "wamid.C1", status: "delivered" },
      { providerMessageId: "wamid.C1", status: "read" },
    ]);
  });

  it("turns inbound text into InboundMessages from +wa_id to the business number, and ignores other types", async () => {
    const body = fake.inboundBody([
      { id: "wamid.IN1", from: "14155550142", text: "STOP" },
      { id: "wamid.IN2", from: "14155550142", type: "button" },
      { id: "wamid.IN3", from: "4915123456789", type: "image" },
    ]);
    expect(body).toContain("Zo\\u00eb"); // escaped as Meta does: the signature covers these exact bytes
    expect(await handle(fake.signedWebhook(body))).toEqual({
      kind: "accepted",
      statuses: [],
      inbound: [{ providerMessageId: "wamid.IN1", channel: "whatsapp", from: "+14155550142", to: "+15550783881", text: "STOP" }],
    });
  });

  it.each([
    ["signed with another secret", (body: string) => fake.signedWebhook(body, "not-the-app-secret")],
    ["with a tampered body", (body: string) => ({ ...fake.signedWebhook(body), rawBody: body.replace("delivered", "read") })],
    [
      "without the signature header",
      (body: string) => ({ ...fake.signedWebhook(body), headers: { "content-type": "application/json" } }),
    ],
    [
      "with the hex but no sha256= prefix",
      (body: string) => {
        const req = fake.signedWebhook(body);
        return { ...req, headers: { "x-hub-signature-256": req.headers["x-hub-signature-256"]?.slice(7) ?? "" } };
      },
    ],
    [
      "with a truncated signature",
      (body: string) => {
        const req = fake.signedWebhook(body);
        return { ...req, headers: { "x-hub-signature-256": req.headers["x-hub-signature-256"]?.slice(0, -2) ?? "" } };
      },
    ],
  ])("rejects a status webhook %s", async (_label, build) => {
    const body = fake.statusBody([{ id: "wamid.D1", status: "delivered" }]);
    expect(await handle(build(body))).toMatchObject({ kind: "rejected" });
  });

  it("rejects every POST when no app secret is configured", async () => {
    const unconfigured = createMetaWhatsappSender(configFor(fake, { appSecret: undefined }), { clock });
    const body = fake.statusBody([{ id: "wamid.E1", status: "delivered" }]);
    expect(await unconfigured.handleWebhook?.(fake.signedWebhook(body))).toMatchObject({ kind: "rejected" });
  });

  it("matches the reference test vector (key appsecret)", async () => {
    const body = '{"object":"whatsapp_business_account","entry":[]}';
    const request = fake.signedWebhook(body, "appsecret");
    expect(request.headers["x-hub-signature-256"]).toBe(
      "sha256=09eceea024af6e6343b760cc9bd3ae7c056938dd636e24e92109eb8219500384",
    );
    const vectorSender = createMetaWhatsappSender(configFor(fake, { appSecret: "appsecret" }), { clock });
    expect(await vectorSender.handleWebhook?.(request)).toEqual({ kind: "accepted", statuses: [], inbound: [] });
    // Upper-case hex is the same signature.
    const upper = {
      ...request,
      headers: { "x-hub-signature-256": "sha256=09ECEEA024AF6E6343B760CC9BD3AE7C056938DD636E24E92109EB8219500384" },
    };
    expect(await vectorSender.handleWebhook?.(upper)).toMatchObject({ kind: "accepted" });
  });

  it("acknowledges a signed body that is not JSON, changing nothing", async () => {
    expect(await handle(fake.signedWebhook("not json"))).toEqual({ kind: "accepted", statuses: [], inbound: [] });
  });
});
