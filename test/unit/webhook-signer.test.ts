import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { createWebhookSigner } from "../../src/delivery/webhook-signer.js";

describe("webhook signer", () => {
  const at = new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678));

  it("signs exactly as the standardwebhooks package does", () => {
    for (const bytes of [24, 32, 64]) {
      const raw = randomBytes(bytes).toString("base64");
      for (const secret of [`whsec_${raw}`, raw]) {
        for (const payload of ['{"type":"verification.started"}', '{"text":"Grüße, 世界 🚀"}', ""]) {
          expect(createWebhookSigner(secret).sign("evt_1", at, payload)).toBe(new Webhook(secret).sign("evt_1", at, payload));
        }
      }
    }
  });

  it("gives a signature that a receiver verifies with the package, and another secret does not", () => {
    const secret = `whsec_${randomBytes(32).toString("base64")}`;
    const now = new Date();
    const body = '{"type":"delivery.sent","data":{"to_masked":"+1415***0100"}}';
    const headers = {
      "webhook-id": "evt_2",
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": createWebhookSigner(secret).sign("evt_2", now, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    const other = `whsec_${randomBytes(32).toString("base64")}`;
    expect(() => new Webhook(other).verify(body, headers)).toThrow();
  });

  it("refuses a secret the package refuses", () => {
    expect(() => createWebhookSigner("whsec_")).toThrow();
    expect(() => createWebhookSigner("whsec_not*base64")).toThrow();
  });
});
