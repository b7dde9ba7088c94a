import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createVonageSender, vonageConfigSchema } from "../../src/channels/vonage.js";
import { renderMessage } from "../../src/core/messages/render.js";
import type { OutboundMessage, Sender } from "../../src/core/sender.js";
import { type FakeVonage, startFakeVonage } from "../fakes/vonage.js";
import type { VonageCallOutcome } from "../fakes/vonage-calls.js";
import { FakeClock } from "../helpers/clock.js";

const APP_ID = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab";
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const SIGNATURE_SECRET = "wQ5b8mZp3XvL1tK9rN2cY7uE4hJ6sA0d";
const PUBLIC_URL = "https://verify.example.com";
const never = new AbortController().signal;

describe("vonage voice", () => {
  let clock: FakeClock;
  let fake: FakeVonage;
  let sender: Sender;

  const spoken = (locale: string) =>
    renderMessage({ channel: "voice", locale, serviceName: "Acme", code: "482913", secondsLeft: 600 });
  const call = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
    deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
    verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
    to: "+493012345678",
    channel: "voice",
    code: "482913",
    body: spoken("en"),
    locale: "en",
    expiresAt: clock.now() + 600_000,
    ...overrides,
  });
  const make = (voice: Record<string, unknown> = {}, publicUrl: string | undefined = PUBLIC_URL) =>
    createVonageSender(
      vonageConfigSchema.parse({
        applicationId: APP_ID,
        privateKey: PRIVATE_PEM,
        signatureSecret: SIGNATURE_SECRET,
        baseUrl: fake.baseUrl,
        voice: { from: "+447700900001", ...voice },
      }),
      { clock, publicUrl },
    );
  const statuses = async (outcome: VonageCallOutcome) => {
    await sender.send(call(), never);
    const uuid = fake.calls[0]?.uuid as string;
    const out = [];
    for (const body of fake.callEvents(uuid, outcome)) {
      const result = await sender.handleWebhook?.(fake.webhook(body, { secret: SIGNATURE_SECRET }));
      if (result?.kind !== "accepted") throw new Error(`webhook refused: ${JSON.stringify(result)}`);
      out.push(...result.statuses);
    }
    return { uuid, out };
  };

  beforeEach(async () => {
    clock = new FakeClock();
    fake = await startFakeVonage({ application: { id: APP_ID, publicKey }, now: () => clock.now() });
    sender = make();
  });
  afterEach(async () => fake.close());

  it("places a call with an application JWT and an NCCO that says the code digit by digit, three times", async () => {
    const result = await sender.send(call(), never);
    expect(fake.calls).toHaveLength(1);
    const placed = fake.calls[0];
    expect(result).toEqual({ kind: "accepted", providerMessageId: placed?.uuid });
    const req = fake.requests[0];
    expect(req?.path).toBe("/v1/calls");
    expect(req?.auth).toMatchObject({ kind: "jwt", claims: { application_id: APP_ID } });
    expect(placed?.body).toEqual({
      to: [{ type: "phone", number: "493012345678" }],
      from: { type: "phone", number: "447700900001" },
      ncco: [
        {
          action: "talk",
          text: "Your Acme verification code is: 4, 8, 2. 9, 1, 3. Do not share it.",
          language: "en-US",
          style: 0,
          premium: false,
          loop: 3,
        },
      ],
      event_url: [`${PUBLIC_URL}/webhooks/vonage/status`],
      event_method: "POST",
      ringing_timer: 25,
      length_timer: 90,
    });
    expect(sender.channels).toEqual(["voice"]);
  });

  it.each([
    ["ar", "ar"],
    ["zh", "cmn-CN"],
    ["zh-TW", "cmn-TW"],
    ["pt-PT", "pt-PT"],
    ["hi", "hi-IN"],
  ])("speaks %s as Vonage's %s", async (locale, language) => {
    await sender.send(call({ locale, body: spoken(locale) }), never);
    const ncco = fake.calls[0]?.body.ncco as { language: string }[] | undefined;
    expect(ncco?.[0]?.language).toBe(language);
  });

  it("asks Vonage to hang up on a machine, and takes a configured language and style", async () => {
    sender = make({ machineDetection: true, voices: { en: { language: "en-GB", style: 2 } } });
    await sender.send(call(), never);
    expect(fake.calls[0]?.body).toMatchObject({
      machine_detection: "hangup",
      ncco: [{ language: "en-GB", style: 2 }],
    });
  });

  it("needs application auth for calls", () => {
    const parsed = vonageConfigSchema.safeParse({ apiKey: "k", apiSecret: "s", voice: { from: "447700900001" } });
    expect(parsed.error?.issues.map((i) => i.message)).toContain("voice needs application auth: applicationId + privateKey");
  });

  it("a refused body is rejected; a 401 is misconfigured", async () => {
    expect(await sender.send(call({ to: "+1" }), never)).toMatchObject({ kind: "rejected" });
    fake.failNext(401, { type: "https://developer.vonage.com/api-errors#unauthorized", title: "Unauthorized" });
    expect(await sender.send(call(), never)).toMatchObject({ kind: "misconfigured", error: { code: "unauthorized" } });
  });

  it("answered then completed is sent, then delivered", async () => {
    const { uuid, out } = await statuses("completed");
    expect(out).toEqual([
      { providerMessageId: uuid, status: "sent" },
      { providerMessageId: uuid, status: "delivered" },
    ]);
  });

  it.each([
    ["busy", "undelivered", "busy", false],
    ["timeout", "undelivered", "no_answer", false],
    ["unanswered", "undelivered", "no_answer", false],
    ["rejected", "failed", "call_rejected", true],
    ["failed", "failed", "call_failed", true],
  ] as const)("%s is %s with code %s", async (outcome, status, errorCode, permanent) => {
    const { uuid, out } = await statuses(outcome);
    expect(out).toEqual([{ providerMessageId: uuid, status, errorCode, errorMessage: expect.any(String), permanent }]);
  });

  it("a machine (named by call_uuid) is undelivered; the short completion after it and an early hang-up are not delivered", async () => {
    const { uuid, out } = await statuses("machine");
    expect(out).toEqual([
      { providerMessageId: uuid, status: "sent" },
      expect.objectContaining({ providerMessageId: uuid, status: "undelivered", errorCode: "answered_by_machine" }),
      expect.objectContaining({ providerMessageId: uuid, status: "undelivered", errorCode: "hung_up_early" }),
    ]);
    fake.calls.length = 0;
    expect((await statuses("hung-up-early")).out.at(-1)).toMatchObject({ status: "undelivered", errorCode: "hung_up_early" });
  });

  it("refuses a call event signed with another secret or whose body was changed", async () => {
    await sender.send(call(), never);
    const [, , answered] = fake.callEvents(fake.calls[0]?.uuid as string, "completed");
    expect(await sender.handleWebhook?.(fake.webhook(answered, { secret: "not-the-secret" }))).toMatchObject({
      kind: "rejected",
    });
    const tampered = fake.webhook(answered, { secret: SIGNATURE_SECRET, rawBody: JSON.stringify({ ...answered, status: "x" }) });
    expect(await sender.handleWebhook?.(tampered)).toMatchObject({ kind: "rejected", reason: "payload hash mismatch" });
  });
});
