import { randomBytes } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHttpSender } from "../../src/channels/http.js";
import type { OutboundMessage, Sender } from "../../src/core/sender.js";
import { FakeClock } from "../helpers/clock.js";
import { freePort, startWebhookSink, type WebhookSink } from "../helpers/webhook-sink.js";

const SECRET = `whsec_${randomBytes(32).toString("base64")}`;

// The signature timestamp comes from the sender's clock, and `Webhook.verify` checks it against the real
// time (5 min tolerance), so the fake clock starts at the real now.
const clock = new FakeClock(Date.now());

const message: OutboundMessage = {
  deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
  verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
  to: "+14155550142",
  channel: "whatsapp",
  code: "493817",
  body: "Your verifyd code is 493817. It expires in 10 minutes.",
  locale: "de",
  expiresAt: Date.UTC(2030, 4, 6, 7, 8, 9, 123),
};

const never = new AbortController().signal;

describe("http sender", () => {
  let sink: WebhookSink;
  let sender: Sender;
  beforeEach(async () => {
    sink = await startWebhookSink();
    sender = createHttpSender({ url: sink.url, secret: SECRET, timeoutMs: 2000, clock });
  });
  afterEach(async () => sink.close());

  const onlyRequest = () => {
    expect(sink.requests).toHaveLength(1);
    const [req] = sink.requests;
    if (!req) throw new Error("the sink received nothing");
    return req;
  };

  it("POSTs the message as JSON with exactly the documented fields", async () => {
    sink.respondWith(200, { headers: { "x-message-id": "gw-77" } });
    const result = await sender.send(message, never);
    expect(result).toEqual({ kind: "accepted", providerMessageId: "gw-77" });
    const req = onlyRequest();
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/hook");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual({
      verification_id: message.verificationId,
      to: "+14155550142",
      channel: "whatsapp",
      code: "493817",
      message: message.body,
      locale: "de",
      expires_at: "2030-05-06T07:08:09.123Z",
    });
  });

  it("carries calls and emails too: an email adds its subject beside the plain-text body", async () => {
    expect(sender.channels).toEqual(["sms", "whatsapp", "rcs", "voice", "email"]);
    const email: OutboundMessage = {
      ...message,
      to: "ada@example.com",
      channel: "email",
      body: "493817\n\nYour verifyd code.",
      email: { subject: "493817 is your verifyd verification code", html: "<p>493817</p>", from: null },
    };
    expect(await sender.send(email, never)).toMatchObject({ kind: "accepted" });
    expect(JSON.parse(onlyRequest().body)).toMatchObject({
      to: "ada@example.com",
      channel: "email",
      message: email.body,
      subject: "493817 is your verifyd verification code",
    });
  });

  it("signs with Standard Webhooks headers that verify over the raw body", async () => {
    await sender.send(message, never);
    const req = onlyRequest();
    expect(req.headers["webhook-id"]).toBe(message.deliveryId);
    expect(req.headers["webhook-timestamp"]).toBe(String(Math.floor(clock.now() / 1000)));
    expect(req.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verified = new Webhook(SECRET).verify(req.body, req.headers);
    expect(verified).toMatchObject({ verification_id: message.verificationId, code: "493817" });
  });

  it("a tampered body, a changed id or another secret fails verification", async () => {
    await sender.send(message, never);
    const req = onlyRequest();
    const tampered = req.body.replace("493817", "000000");
    expect(tampered).not.toBe(req.body);
    expect(() => new Webhook(SECRET).verify(tampered, req.headers)).toThrow(WebhookVerificationError);
    const otherId = { ...req.headers, "webhook-id": "dlv_someoneelse" };
    expect(() => new Webhook(SECRET).verify(req.body, otherId)).toThrow(WebhookVerificationError);
    const otherSecret = `whsec_${randomBytes(32).toString("base64")}`;
    expect(() => new Webhook(otherSecret).verify(req.body, req.headers)).toThrow(WebhookVerificationError);
  });

  it("sends no signature headers without a secret", async () => {
    const unsigned = createHttpSender({ url: sink.url, timeoutMs: 2000, clock });
    expect(await unsigned.send(message, never)).toEqual({ kind: "accepted", providerMessageId: null });
    const req = onlyRequest();
    expect(req.headers).not.toHaveProperty("webhook-id");
    expect(req.headers).not.toHaveProperty("webhook-timestamp");
    expect(req.headers).not.toHaveProperty("webhook-signature");
    expect(JSON.parse(req.body).code).toBe("493817");
  });

  it.each([200, 201, 202, 204])("%i is accepted", async (status) => {
    sink.respondWith(status);
    expect(await sender.send(message, never)).toEqual({ kind: "accepted", providerMessageId: null });
  });

  it.each([400, 401, 404, 410, 422])("%i is rejected (permanent), carrying the gateway's answer", async (status) => {
    sink.respondWith(status, { body: "number not reachable" });
    expect(await sender.send(message, never)).toEqual({
      kind: "rejected",
      error: { code: `http_${status}`, message: "number not reachable" },
    });
  });

  it.each([408, 425, 429, 500, 502, 503])("%i is retried", async (status) => {
    sink.respondWith(status);
    // toEqual: no retryAfterMs key at all without a Retry-After header.
    expect(await sender.send(message, never)).toEqual({ kind: "retry", error: { code: `http_${status}`, message: "" } });
  });

  it.each([429, 503])("%i with Retry-After: 7 asks to wait 7000 ms", async (status) => {
    sink.respondWith(status, { headers: { "retry-after": "7" } });
    const result = await sender.send(message, never);
    expect(result).toMatchObject({ kind: "retry", retryAfterMs: 7000, error: { code: `http_${status}` } });
  });

  it("honours Retry-After given as an HTTP date", async () => {
    const at = new Date(clock.now() + 90_000).toUTCString();
    sink.respondWith(503, { headers: { "retry-after": at } });
    const result = await sender.send(message, never);
    expect(result.kind === "retry" && result.retryAfterMs).toBeGreaterThan(88_000);
    expect(result.kind === "retry" && result.retryAfterMs).toBeLessThanOrEqual(90_000);
  });

  it.each([301, 302, 307])("%i is a configuration problem, never followed", async (status) => {
    sink.respondWith(status, { headers: { location: "http://127.0.0.1:1/elsewhere" } });
    expect(await sender.send(message, never)).toMatchObject({ kind: "misconfigured", error: { code: `http_${status}` } });
    expect(sink.requests).toHaveLength(1);
  });

  it("keeps only the first 200 characters of an error body", async () => {
    sink.respondWith(500, { body: "x".repeat(5000) });
    const result = await sender.send(message, never);
    expect(result.kind).toBe("retry");
    expect(result.kind === "retry" && result.error.message).toBe("x".repeat(200));
  });

  it("a response slower than timeoutMs is a retry with code timeout", async () => {
    const quick = createHttpSender({ url: sink.url, secret: SECRET, timeoutMs: 150, clock });
    sink.respondWith(200, { delayMs: 5000 });
    const result = await quick.send(message, never);
    // Had the sender waited for the sink, the answer would be "accepted": it gave up on its own timeout.
    expect(result).toMatchObject({ kind: "retry", error: { code: "timeout" } });
    expect(sink.requests).toHaveLength(1);
  });

  it("a refused connection is a retry with code network_error", async () => {
    const port = await freePort(); // released at once: nothing listens there
    const dead = createHttpSender({ url: `http://127.0.0.1:${port}/hook`, secret: SECRET, timeoutMs: 2000, clock });
    const result = await dead.send(message, never);
    expect(result).toMatchObject({ kind: "retry", error: { code: "network_error" } });
  });

  it("an already aborted caller signal (shutdown) is a retry and sends nothing", async () => {
    const aborted = AbortSignal.abort();
    const result = await sender.send(message, aborted);
    expect(result).toMatchObject({ kind: "retry", error: { code: "aborted" } });
    expect(sink.requests).toHaveLength(0);
  });
});
