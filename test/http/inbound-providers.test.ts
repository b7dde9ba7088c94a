import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { INBOUND_ALPHABET } from "../../src/core/inbound.js";
import type { Clock } from "../../src/core/ports.js";
import { signedRbmWebhook, startFakeRbm } from "../fakes/google-rbm.js";
import { startFakeMeta } from "../fakes/meta-whatsapp.js";
import { startFakeVonage } from "../fakes/vonage.js";
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
 * Person-to-application verification through each webhook provider other than Twilio: the user's
 * message arrives as that provider's own signed inbound-message webhook, in its real payload shape,
 * and approves the verification whose code it carries (or, from the wrong sender or unsigned, changes nothing).
 */

const SMS_NUMBER = "+15017122661";
const WA_NUMBER = "+14155238886";
const USER = "+14155550142";
const OTHER = "+14155550199";
const CODE = new RegExp(`^VERIFY ([${INBOUND_ALPHABET}]{6})$`);

interface Webhook {
  headers: Record<string, string>;
  rawBody: string;
}
interface Wired {
  /** The config file's provider entry. */
  settings: Record<string, unknown>;
  /** The user's text message from `from` (E.164), as the provider posts it, signed with `secret` (the configured one by default). */
  message(from: string, text: string, secret?: string): Webhook;
  close(): Promise<void>;
}
interface ProviderCase {
  name: string;
  channel: "sms" | "whatsapp" | "rcs";
  /** The webhook path kind the provider is pointed at for user messages. */
  kind: "status" | "inbound";
  signatureHeader: string;
  start(clock: Clock): Promise<Wired>;
}

const metaWhatsapp: ProviderCase = {
  name: "meta-whatsapp",
  channel: "whatsapp",
  kind: "status", // one callback URL for statuses and messages
  signatureHeader: "x-hub-signature-256",
  async start() {
    const fake = await startFakeMeta({ ...META, displayPhoneNumber: WA_NUMBER.slice(1) });
    return {
      settings: { type: "meta-whatsapp", ...META, baseUrl: fake.baseUrl },
      message(from, text, secret) {
        // entry[].changes[].value.messages[] with type "text" from the user's wa_id (digits, no "+").
        const id = `wamid.${Buffer.from(randomUUID()).toString("base64url")}`;
        return fake.signedWebhook(fake.inboundBody([{ id, from: from.slice(1), type: "text", text }]), secret);
      },
      close: () => fake.close(),
    };
  },
};

const vonage: ProviderCase = {
  name: "vonage",
  channel: "sms",
  kind: "inbound", // the application's Inbound URL
  signatureHeader: "authorization",
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
      message(from, text, secret = VONAGE_SECRET) {
        // A Messages API v1 inbound SMS: numbers as digits without "+".
        const body = {
          channel: "sms",
          message_uuid: randomUUID(),
          to: SMS_NUMBER.slice(1),
          from: from.slice(1),
          timestamp: "2026-01-15T12:00:05Z",
          text,
          sms: { num_messages: "1", count_total: "1" },
          message_type: "text",
          context_status: "none",
        };
        return fake.webhook(body, { secret });
      },
      close: () => fake.close(),
    };
  },
};

const googleRbm: ProviderCase = {
  name: "google-rbm",
  channel: "rcs",
  kind: "status", // one webhook per partner for events and user messages
  signatureHeader: "x-goog-signature",
  async start(clock) {
    const fake = await startFakeRbm({ clock, publicKey: keys.publicKey, ...RBM, capable: [USER] });
    return {
      settings: {
        type: "google-rbm",
        agentId: RBM_AGENT,
        serviceAccount: { clientEmail: RBM.clientEmail, privateKey: PRIVATE_PEM, tokenUri: fake.tokenUri },
        clientToken: RBM_CLIENT_TOKEN,
        baseUrl: fake.baseUrl,
      },
      message(from, text, secret = RBM_CLIENT_TOKEN) {
        // A UserMessage: no eventType, the sender's E.164 number and the typed text.
        return signedRbmWebhook(secret, {
          senderPhoneNumber: from,
          messageId: `MxA${randomUUID().replaceAll("-", "")}`,
          sendTime: "2026-01-15T12:00:05.123456Z",
          agentId: `${RBM_AGENT}@rbm.goog`,
          text,
        });
      },
      close: () => fake.close(),
    };
  },
};

interface View {
  id: string;
  status: string;
  to: string | null;
  channel: string | null;
  verified_number?: string | null;
  inbound?: { text: string };
}

describe.each([metaWhatsapp, vonage, googleRbm])("inbound verification through $name webhooks", (p) => {
  let h: Harness;
  let wired: Wired;
  const clock: Clock = { now: () => h.clock.now() };

  beforeEach(async () => {
    wired = await p.start(clock);
    h = await createHarness(
      { VERIFYD_PUBLIC_URL: PUBLIC_URL, VERIFYD_INBOUND_NUMBERS: `whatsapp:${WA_NUMBER},sms:${SMS_NUMBER}` },
      { providers: { [p.name]: wired.settings }, route: [{ channel: p.channel, providers: [p.name] }] },
    );
  });
  afterEach(async () => {
    await h?.close();
    await wired?.close();
  });

  const start = async () => {
    const res = await h.json<View>("POST", "/v1/verifications", { channel: "inbound", to: USER });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "pending", to: USER, channel: "inbound", verified_number: null });
    const code = CODE.exec(res.body.inbound?.text ?? "")?.[1];
    expect(code).toBeDefined();
    return { id: res.body.id, code: code as string };
  };
  const post = (webhook: Webhook) =>
    h.runtime.app.request(`/webhooks/${p.name}/${p.kind}`, { method: "POST", headers: webhook.headers, body: webhook.rawBody });
  const view = async (id: string) => (await h.json<View>("GET", `/v1/verifications/${id}`)).body;
  const say = (code: string) => `hello VERIFY ${code.toLowerCase()} thanks`;

  it("the expected sender's signed message approves, with the sender as the verified number", async () => {
    const { id, code } = await start();
    const res = await post(wired.message(USER, say(code)));
    expect(res.status).toBe(200);
    expect(await view(id)).toMatchObject({ status: "approved", verified_number: USER });
  });

  it("the same message from another sender changes nothing", async () => {
    const { id, code } = await start();
    expect((await post(wired.message(OTHER, say(code)))).status).toBe(200);
    expect(await view(id)).toMatchObject({ status: "pending", verified_number: null });
  });

  it("a forged or unsigned message is refused with 401 and changes nothing", async () => {
    const { id, code } = await start();
    const forged = wired.message(USER, say(code), "not-the-real-secret");
    const { [p.signatureHeader]: signature, ...unsignedHeaders } = forged.headers;
    expect(signature).toBeTruthy();
    for (const webhook of [forged, { ...forged, headers: unsignedHeaders }]) {
      const res = await post(webhook);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe("webhook_signature_invalid");
    }
    expect(await view(id)).toMatchObject({ status: "pending", verified_number: null });
    // Control: the same message, correctly signed, approves.
    expect((await post(wired.message(USER, say(code)))).status).toBe(200);
    expect(await view(id)).toMatchObject({ status: "approved", verified_number: USER });
  });
});
