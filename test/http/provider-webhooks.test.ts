import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../../src/core/ports.js";
import { signedRbmWebhook, startFakeRbm } from "../fakes/google-rbm.js";
import { startFakeMeta } from "../fakes/meta-whatsapp.js";
import { startFakeTwilio } from "../fakes/twilio.js";
import { startFakeVonage, statusError, statusEvent } from "../fakes/vonage.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import {
  keys,
  META,
  PRIVATE_PEM,
  PUBLIC_URL,
  RBM,
  RBM_AGENT,
  RBM_CLIENT_TOKEN,
  VONAGE_APP,
  VONAGE_SECRET,
} from "../helpers/provider-credentials.js";

/**
 * Each real provider adapter, configured from the config file against its fake, end to end through
 * `/webhooks/{name}/status`: a signed receipt settles the delivery or falls over to the backup SMS
 * step; a forged or unsigned one is refused and changes nothing.
 */

const TO = "+14155550142";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The default template (service "verifyd", 10-minute codes), and the code read back out of it. */
const text = (code: string) => `Your verifyd code is ${code}. It expires in 10 minutes. Do not share it.`;
const codeIn = (body: unknown) => /^Your verifyd code is (\d{6})\. /.exec(String(body))?.[1] ?? "no code";

interface Webhook {
  headers: Record<string, string>;
  rawBody: string;
}
interface Wired {
  /** The config file's provider entry. */
  settings: Record<string, unknown>;
  /** Checks the one send the fake received; returns the message id the provider answered and the code sent. */
  sent(): { id: string; code: string };
  /** The provider's own receipt for `id`, signed with `secret` (the configured one by default). */
  webhook(id: string, outcome: "delivered" | "failed", secret?: string): Webhook;
  close(): Promise<void>;
}
interface ProviderCase {
  name: string;
  channel: "sms" | "whatsapp" | "rcs";
  signatureHeader: string;
  /** What the failed receipt records on the delivery. */
  failure: { status: "failed" | "undelivered"; code: string };
  start(clock: Clock): Promise<Wired>;
}

const FROM = "+15017122661";
const twilio: ProviderCase = {
  name: "twilio",
  channel: "sms",
  signatureHeader: "x-twilio-signature",
  failure: { status: "undelivered", code: "30005" },
  async start() {
    const fake = await startFakeTwilio();
    return {
      settings: { type: "twilio", accountSid: fake.accountSid, authToken: fake.authToken, from: FROM, baseUrl: fake.baseUrl },
      sent() {
        expect(fake.requests).toHaveLength(1);
        const basic = Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString("base64");
        expect(fake.requests[0]).toMatchObject({
          method: "POST",
          path: `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`,
          headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
        });
        const form = fake.requests[0]?.form ?? {};
        const code = codeIn(form.Body);
        expect(form).toEqual({
          To: TO,
          From: FROM,
          Body: text(code),
          ValidityPeriod: "600",
          StatusCallback: `${PUBLIC_URL}/webhooks/twilio/status`,
        });
        return { id: fake.messages[0]?.sid ?? "none", code };
      },
      webhook: (sid, outcome, authToken) =>
        outcome === "delivered"
          ? fake.statusCallback(sid, "delivered", { authToken })
          : fake.statusCallback(sid, "undelivered", { errorCode: "30005", authToken }),
      close: () => fake.close(),
    };
  },
};

const vonage: ProviderCase = {
  name: "vonage",
  channel: "sms",
  signatureHeader: "authorization",
  failure: { status: "failed", code: "1260" },
  async start(clock) {
    const fake = await startFakeVonage({ application: { id: VONAGE_APP, publicKey: keys.publicKey }, now: () => clock.now() });
    return {
      settings: {
        type: "vonage",
        applicationId: VONAGE_APP,
        privateKey: PRIVATE_PEM,
        smsFrom: "Acme",
        signatureSecret: VONAGE_SECRET,
        baseUrl: fake.baseUrl,
      },
      sent() {
        expect(fake.requests).toHaveLength(1);
        const auth = { kind: "jwt", claims: { application_id: VONAGE_APP } };
        expect(fake.requests[0]).toMatchObject({ method: "POST", path: "/v1/messages", auth });
        const code = codeIn(fake.sent[0]?.text);
        expect(fake.sent[0]).toEqual({
          message_type: "text",
          to: TO.slice(1),
          from: "Acme",
          channel: "sms",
          client_ref: expect.stringMatching(/\S/),
          webhook_url: `${PUBLIC_URL}/webhooks/vonage/status`,
          webhook_version: "v1",
          text: text(code),
          ttl: 600,
        });
        expect(fake.answered).toEqual([expect.stringMatching(UUID)]);
        return { id: fake.answered[0] ?? "none", code };
      },
      webhook(uuid, outcome, secret = VONAGE_SECRET) {
        const body =
          outcome === "delivered"
            ? statusEvent(uuid, "delivered", { to: TO.slice(1) })
            : statusEvent(uuid, "rejected", { to: TO.slice(1), error: statusError(1260, "Destination unreachable") });
        return fake.webhook(body, { secret });
      },
      async close() {
        await fake.close();
      },
    };
  },
};

const SENT_AT = "2026-01-15T12:00:03.123456Z";
const googleRbm: ProviderCase = {
  name: "google-rbm",
  channel: "rcs",
  signatureHeader: "x-goog-signature",
  failure: { status: "failed", code: "TTL_EXPIRATION_REVOKED" },
  async start(clock) {
    const fake = await startFakeRbm({ clock, publicKey: keys.publicKey, ...RBM, capable: [TO] });
    return {
      settings: {
        type: "google-rbm",
        agentId: RBM_AGENT,
        serviceAccount: { clientEmail: RBM.clientEmail, privateKey: PRIVATE_PEM, tokenUri: fake.tokenUri },
        clientToken: RBM_CLIENT_TOKEN,
        baseUrl: fake.baseUrl,
      },
      sent() {
        expect(fake.sendRequests()).toHaveLength(1);
        const send = fake.sendRequests()[0];
        expect(send).toMatchObject({
          method: "POST",
          pathname: `/v1/phones/${TO}/agentMessages`,
          query: { messageId: expect.stringMatching(UUID), agentId: RBM_AGENT },
          headers: { authorization: `Bearer ${fake.issued[0]}` },
        });
        const body = JSON.parse(send?.body ?? "{}") as { contentMessage?: { text?: string } };
        const code = codeIn(body.contentMessage?.text);
        expect(body).toEqual({ contentMessage: { text: text(code) }, messageTrafficType: "AUTHENTICATION", ttl: "600s" });
        return { id: send?.query.messageId ?? "none", code };
      },
      webhook(messageId, outcome, secret = RBM_CLIENT_TOKEN) {
        const event = { eventId: "MxQw5Tt2t0RRKqLz9bpg", messageId, agentId: `${RBM_AGENT}@rbm.goog`, sendTime: SENT_AT };
        // A user event names the sender; the TTL server event names the phone instead.
        const payload =
          outcome === "delivered"
            ? { ...event, senderPhoneNumber: TO, eventType: "DELIVERED" }
            : { ...event, phoneNumber: TO, eventType: "TTL_EXPIRATION_REVOKED" };
        return signedRbmWebhook(secret, payload);
      },
      close: () => fake.close(),
    };
  },
};

const metaWhatsapp: ProviderCase = {
  name: "meta-whatsapp",
  channel: "whatsapp",
  signatureHeader: "x-hub-signature-256",
  failure: { status: "failed", code: "131026" },
  async start() {
    const fake = await startFakeMeta(META);
    return {
      settings: { type: "meta-whatsapp", ...META, baseUrl: fake.baseUrl },
      sent() {
        expect(fake.requests).toHaveLength(1);
        expect(fake.requests[0]).toMatchObject({
          method: "POST",
          path: `/${META.apiVersion}/${META.phoneNumberId}/messages`,
          headers: { authorization: `Bearer ${META.accessToken}`, "content-type": "application/json" },
        });
        const body = JSON.parse(fake.requests[0]?.body ?? "{}");
        const code: string = body.template?.components?.[0]?.parameters?.[0]?.text ?? "no code";
        expect(code).toMatch(/^\d{6}$/);
        const parameters = [{ type: "text", text: code }];
        expect(body).toEqual({
          messaging_product: "whatsapp",
          recipient_type: "individual",
          to: TO.slice(1),
          type: "template",
          template: {
            name: META.templateName,
            language: { code: META.templateLanguage },
            components: [
              { type: "body", parameters },
              { type: "button", sub_type: "url", index: "0", parameters },
            ],
          },
        });
        expect(fake.accepted).toHaveLength(1);
        return { id: fake.accepted[0]?.id ?? "none", code };
      },
      webhook(id, outcome, secret) {
        const status =
          outcome === "delivered" ? { id, status: "delivered" as const } : { id, status: "failed" as const, errorCode: 131026 };
        return fake.signedWebhook(fake.statusBody([{ ...status, recipient: TO.slice(1) }]), secret);
      },
      close: () => fake.close(),
    };
  },
};

type View = { deliveries: { step: number; channel: string; provider: string; status: string; error_code: string | null }[] };

/** The provider message id stored for a verification's first delivery (the API does not show it). */
async function storedMessageId(h: Harness, verificationId: string): Promise<unknown> {
  const list = await h.withStore((store) => store.listDeliveries(verificationId));
  return list.find((d) => d.step === 0)?.providerMessageId;
}

describe.each([twilio, vonage, googleRbm, metaWhatsapp])("$name status webhooks through the whole service", (p) => {
  let h: Harness;
  let wired: Wired;
  const clock: Clock = { now: () => h.clock.now() };

  beforeEach(async () => {
    wired = await p.start(clock);
    h = await createHarness(
      { VERIFYD_PUBLIC_URL: PUBLIC_URL },
      {
        providers: { [p.name]: wired.settings, backup: { type: "capture" } },
        route: [
          { channel: p.channel, providers: [p.name], fallbackAfter: "30s" },
          { channel: "sms", providers: ["backup"] },
        ],
      },
    );
  });
  afterEach(async () => {
    await h.close();
    await wired.close();
  });

  /** Starts a verification; checks the real API request and the accepted delivery with the provider's id. */
  const start = async () => {
    const res = await h.json<{ id: string }>("POST", "/v1/verifications", { to: TO });
    expect(res.status).toBe(201);
    const sent = wired.sent();
    expect(await storedMessageId(h, res.body.id)).toBe(sent.id);
    expect((await view(res.body.id)).deliveries).toMatchObject([
      { step: 0, channel: p.channel, provider: p.name, status: "accepted" },
    ]);
    return { id: res.body.id, messageId: sent.id, code: sent.code };
  };
  const view = async (id: string) => (await h.json<View>("GET", `/v1/verifications/${id}`)).body;
  const post = (webhook: Webhook) =>
    h.runtime.app.request(`/webhooks/${p.name}/status`, { method: "POST", headers: webhook.headers, body: webhook.rawBody });

  it("a signed delivered receipt settles the delivery: no fallback once the 30 s pass", async () => {
    const v = await start();
    const res = await post(wired.webhook(v.messageId, "delivered"));
    expect(res.status).toBe(200);
    expect((await view(v.id)).deliveries).toMatchObject([{ provider: p.name, status: "delivered", error_code: null }]);
    h.clock.advance(31_000);
    await h.runtime.outbox.runOnce();
    expect(h.provider("backup").messages).toHaveLength(0);
    expect((await view(v.id)).deliveries.map((d) => d.status)).toEqual(["delivered"]);
  });

  it("a signed failed receipt records the provider's error and falls over to the backup SMS with the same code", async () => {
    const v = await start();
    const res = await post(wired.webhook(v.messageId, "failed"));
    expect(res.status).toBe(200);
    expect((await view(v.id)).deliveries).toMatchObject([
      { step: 0, provider: p.name, status: p.failure.status, error_code: p.failure.code },
      { step: 1, channel: "sms", provider: "backup", status: "accepted" },
    ]);
    expect(h.provider("backup").messages.map((m) => [m.to, m.channel, m.code])).toEqual([[TO, "sms", v.code]]);
  });

  it("a forged or unsigned failed receipt is refused with 401 and changes nothing", async () => {
    const v = await start();
    const forged = wired.webhook(v.messageId, "failed", "not-the-real-secret");
    const { [p.signatureHeader]: signature, ...unsignedHeaders } = forged.headers;
    expect(signature).toBeTruthy();
    for (const webhook of [forged, { ...forged, headers: unsignedHeaders }]) {
      const res = await post(webhook);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe("webhook_signature_invalid");
    }
    expect((await view(v.id)).deliveries).toMatchObject([{ provider: p.name, status: "accepted", error_code: null }]);
    expect(h.provider("backup").messages).toHaveLength(0);
    // Control: the same receipt, correctly signed, is acted on.
    expect((await post(wired.webhook(v.messageId, "failed"))).status).toBe(200);
    expect(h.provider("backup").messages).toHaveLength(1);
  });
});
