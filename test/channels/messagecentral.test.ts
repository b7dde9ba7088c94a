import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createMessageCentralSender,
  createMessageCentralVerifier,
  type MessageCentralConfig,
  messageCentralConfigSchema,
} from "../../src/channels/messagecentral.js";
import type { DelegatedVerifier, OutboundMessage, Sender } from "../../src/core/sender.js";
import { type MessageCentralFake, startMessageCentralFake } from "../fakes/messagecentral.js";
import { FakeClock } from "../helpers/clock.js";
import { freePort } from "../helpers/webhook-sink.js";

const CUSTOMER_ID = "C-5A8E3C1B2D4F607";
const PASSWORD = "s3cret pässword";
const never = new AbortController().signal;

const message: OutboundMessage = {
  deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
  verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
  to: "+14155550142",
  channel: "sms",
  code: "493817",
  body: "Your Acme code is 493817. It expires in 10 minutes.",
  locale: "en",
  expiresAt: Date.UTC(2026, 0, 15, 12, 10, 0),
};

/** Section 4.5's table as a send (custom SMS or VerifyNow start) must read it. */
const SEND_CODES = [
  [400, "BAD_REQUEST", "rejected"],
  [409, "DUPLICATE_RESOURCE", "rejected"],
  [500, "SERVER_ERROR", "retry"],
  [501, "INVALID_CUSTOMER_ID", "misconfigured"],
  [505, "INVALID_VERIFICATION_ID", "rejected"],
  [506, "REQUEST_ALREADY_EXISTS", "retry"],
  [511, "INVALID_COUNTRY_CODE", "rejected"],
  [700, "VERIFICATION_FAILED", "rejected"],
  [702, "WRONG_OTP_PROVIDED", "rejected"],
  [703, "ALREADY_VERIFIED", "rejected"],
  [705, "VERIFICATION_EXPIRED", "rejected"],
  [800, "MAXIMUM_LIMIT_REACHED", "rejected"],
] as const;

/** The same table as a check must read it. */
const CHECK_CODES = [
  [400, { kind: "error", error: { code: "400", message: "BAD_REQUEST" }, retryable: false }],
  [409, { kind: "error", error: { code: "409", message: "DUPLICATE_RESOURCE" }, retryable: false }],
  [500, { kind: "error", error: { code: "500", message: "SERVER_ERROR" }, retryable: true }],
  [501, { kind: "error", error: { code: "501", message: "INVALID_CUSTOMER_ID" }, retryable: false }],
  [505, { kind: "expired" }],
  [506, { kind: "error", error: { code: "506", message: "REQUEST_ALREADY_EXISTS" }, retryable: false }],
  [511, { kind: "error", error: { code: "511", message: "INVALID_COUNTRY_CODE" }, retryable: false }],
  [700, { kind: "expired" }],
  [702, { kind: "wrong_code" }],
  [703, { kind: "expired" }],
  [705, { kind: "expired" }],
  [800, { kind: "expired" }],
] as const;

let clock: FakeClock;
let fake: MessageCentralFake;

function config(overrides: Record<string, unknown> = {}): MessageCentralConfig {
  return messageCentralConfigSchema.parse({
    customerId: CUSTOMER_ID,
    password: PASSWORD,
    senderId: "ACMEOT",
    baseUrl: fake.baseUrl,
    timeoutMs: 2000,
    ...overrides,
  });
}

beforeEach(async () => {
  clock = new FakeClock();
  fake = await startMessageCentralFake({ clock, customerId: CUSTOMER_ID, password: PASSWORD });
});
afterEach(async () => fake.close());

describe("config", () => {
  it("defaults to the real base URL, 5 s timeout, 6-digit VerifyNow codes and account country 91", () => {
    const parsed = messageCentralConfigSchema.parse({ customerId: CUSTOMER_ID, password: PASSWORD });
    expect(parsed).toMatchObject({
      baseUrl: "https://cpaas.messagecentral.com",
      timeoutMs: 5000,
      otpLength: 6,
      country: "91",
      tokenTtlMs: 86_400_000,
    });
  });

  it.each([3, 9])("refuses otpLength %i (VerifyNow allows 4 to 8)", (otpLength) => {
    expect(() => messageCentralConfigSchema.parse({ customerId: CUSTOMER_ID, password: PASSWORD, otpLength })).toThrow();
  });

  it("the own-code sender needs a senderId", () => {
    expect(() => createMessageCentralSender(config({ senderId: undefined }), { clock })).toThrow(/senderId/);
  });
});

describe("authToken", () => {
  let sender: Sender;
  beforeEach(() => {
    sender = createMessageCentralSender(config({ email: "ops@example.com", tokenTtlMs: 3_600_000 }), { clock });
  });

  it("asks for a token with customerId, base64 password as key, scope NEW, country and email, then sends it as authToken", async () => {
    expect(await sender.send(message, never)).toMatchObject({ kind: "accepted" });
    const [tokenRequest, ...others] = fake.tokenRequests();
    expect(others).toHaveLength(0);
    expect(tokenRequest?.method).toBe("GET");
    expect(tokenRequest?.headers.accept).toBe("*/*");
    expect(tokenRequest?.query).toEqual({
      customerId: CUSTOMER_ID,
      key: Buffer.from(PASSWORD, "utf8").toString("base64"),
      scope: "NEW",
      country: "91",
      email: "ops@example.com",
    });
    const [api] = fake.apiRequests();
    expect(api?.headers.authtoken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(api?.headers).not.toHaveProperty("authorization");
  });

  it("reuses the cached token until tokenTtlMs, then fetches a new one", async () => {
    await sender.send(message, never);
    clock.advance(3_599_999);
    await sender.send(message, never);
    expect(fake.tokenRequests()).toHaveLength(1);
    clock.advance(1);
    await sender.send(message, never);
    expect(fake.tokenRequests()).toHaveLength(2);
    const [first, second, third] = fake.apiRequests().map((r) => r.headers.authtoken);
    expect(second).toBe(first);
    expect(third).not.toBe(first);
  });

  it("refreshes earlier when the token's own exp comes first (one minute ahead of it)", async () => {
    await fake.close();
    fake = await startMessageCentralFake({ clock, customerId: CUSTOMER_ID, password: PASSWORD, tokenLifetimeSeconds: 600 });
    const shortLived = createMessageCentralSender(config({ tokenTtlMs: 86_400_000 }), { clock });
    await shortLived.send(message, never);
    clock.advance(539_000);
    await shortLived.send(message, never);
    expect(fake.tokenRequests()).toHaveLength(1);
    clock.advance(1_000);
    await shortLived.send(message, never);
    expect(fake.tokenRequests()).toHaveLength(2);
  });

  it("concurrent sends share one token request", async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => sender.send(message, never)));
    expect(results.map((r) => r.kind)).toEqual(["accepted", "accepted", "accepted", "accepted"]);
    expect(fake.tokenRequests()).toHaveLength(1);
  });

  it("on a 401 fetches a fresh token once and repeats the call", async () => {
    await sender.send(message, never);
    fake.revokeTokens();
    expect(await sender.send(message, never)).toMatchObject({ kind: "accepted" });
    expect(fake.tokenRequests()).toHaveLength(2);
    const calls = fake.apiRequests();
    expect(calls).toHaveLength(3);
    expect(calls[2]?.headers.authtoken).not.toBe(calls[1]?.headers.authtoken);
    expect(calls[2]?.rawQuery).toBe(calls[1]?.rawQuery);
    expect(fake.sms).toHaveLength(2);
  });

  it("a 401 with a fresh token is a configuration problem, after exactly one refresh", async () => {
    fake.refuseAllTokens(true);
    expect(await sender.send(message, never)).toEqual({
      kind: "misconfigured",
      error: { code: "http_401", message: "authToken refused" },
    });
    expect(fake.tokenRequests()).toHaveLength(2);
    expect(fake.apiRequests()).toHaveLength(2);
  });

  it("a wrong password is misconfigured and nothing is sent", async () => {
    const wrong = createMessageCentralSender(config({ password: "not it" }), { clock });
    expect(await wrong.send(message, never)).toMatchObject({ kind: "misconfigured", error: { code: "401" } });
    expect(fake.apiRequests()).toHaveLength(0);
  });

  it("an unknown customerId is misconfigured with the provider's code", async () => {
    const wrong = createMessageCentralSender(config({ customerId: "C-0000000000000" }), { clock });
    expect(await wrong.send(message, never)).toMatchObject({ kind: "misconfigured", error: { code: "501" } });
    expect(fake.apiRequests()).toHaveLength(0);
  });

  it("a failing token endpoint is a retry, and the failure is not cached", async () => {
    fake.answerNextToken(503, { status: 503, message: "Service Unavailable" });
    expect(await sender.send(message, never)).toMatchObject({ kind: "retry", error: { code: "503" } });
    expect(fake.apiRequests()).toHaveLength(0);
    expect(await sender.send(message, never)).toMatchObject({ kind: "accepted" });
    expect(fake.tokenRequests()).toHaveLength(2);
  });

  it("a 200 without a token is misconfigured", async () => {
    fake.answerNextToken(200, { status: 200 });
    expect(await sender.send(message, never)).toMatchObject({ kind: "misconfigured", error: { code: "http_200" } });
  });
});

describe("own-code sender (custom SMS)", () => {
  let sender: Sender;
  beforeEach(() => {
    sender = createMessageCentralSender(config(), { clock, name: "mc-sms" });
  });

  it("POSTs our text with type/flowType SMS, the sender id and the split number, all in the query", async () => {
    const result = await sender.send(message, never);
    expect(result).toEqual({ kind: "accepted", providerMessageId: "12072243" });
    expect(sender.provider).toBe("mc-sms");
    expect(sender.channels).toEqual(["sms"]);
    const [req, ...others] = fake.apiRequests();
    expect(others).toHaveLength(0);
    expect(req?.method).toBe("POST");
    expect(req?.path).toBe("/verification/v3/send");
    expect(req?.body).toBe("");
    expect(req?.query).toEqual({
      countryCode: "1",
      mobileNumber: "4155550142",
      customerId: CUSTOMER_ID,
      type: "SMS",
      flowType: "SMS",
      senderId: "ACMEOT",
      message: message.body,
    });
    // Spaces as %20, not '+', so no server can read them any other way.
    expect(req?.rawQuery).toContain("message=Your%20Acme%20code%20is%20493817.");
    expect(fake.sms).toEqual([
      { verificationId: "12072243", countryCode: "1", mobileNumber: "4155550142", senderId: "ACMEOT", text: message.body },
    ]);
    // Message Central generated no code of its own.
    expect(fake.verifications.size).toBe(0);
  });

  it("splits an Indian number into 91 and its ten national digits", async () => {
    await sender.send({ ...message, to: "+919876543210" }, never);
    expect(fake.apiRequests()[0]?.query).toMatchObject({ countryCode: "91", mobileNumber: "9876543210" });
  });

  it("an unparseable number is rejected without a call", async () => {
    expect(await sender.send({ ...message, to: "+999123" }, never)).toMatchObject({
      kind: "rejected",
      error: { code: "invalid_number" },
    });
    expect(fake.requests).toHaveLength(0);
  });

  it.each(["whatsapp", "rcs"] as const)("%s is not this sender's channel: misconfigured", async (channel) => {
    expect(await sender.send({ ...message, channel }, never)).toMatchObject({
      kind: "misconfigured",
      error: { code: "unsupported_channel" },
    });
    expect(fake.requests).toHaveLength(0);
  });

  it.each(SEND_CODES)("responseCode %i (%s) is %s", async (code, name, kind) => {
    fake.answerNext(code);
    expect(await sender.send(message, never)).toEqual({ kind, error: { code: String(code), message: name } });
  });

  it.each([500, 501, 702])("responseCode %i is read from the body even under HTTP 200", async (code) => {
    fake.answerNext(code, { httpStatus: 200 });
    const expected = SEND_CODES.find(([c]) => c === code)?.[2];
    expect((await sender.send(message, never)).kind).toBe(expected);
  });

  it("REQUEST_ALREADY_EXISTS waits data.timeout seconds", async () => {
    fake.answerNext(506, { data: { timeout: "45" } });
    expect(await sender.send(message, never)).toEqual({
      kind: "retry",
      error: { code: "506", message: "REQUEST_ALREADY_EXISTS" },
      retryAfterMs: 45_000,
    });
  });

  it.each([
    [502, "retry"],
    [503, "retry"],
    [429, "retry"],
    [404, "rejected"],
    [302, "misconfigured"],
  ] as const)("a non-JSON HTTP %i falls back on the status: %s", async (httpStatus, kind) => {
    fake.answerNext(0, { httpStatus, rawBody: "<html>gateway</html>" });
    expect(await sender.send(message, never)).toMatchObject({ kind, error: { code: `http_${httpStatus}` } });
  });

  it("an unknown responseCode keeps the provider's message, with our code scrubbed out", async () => {
    fake.answerNext(599, { message: `cannot deliver "${message.body}"` });
    const result = await sender.send(message, never);
    expect(result).toMatchObject({ kind: "retry", error: { code: "599" } });
    expect(JSON.stringify(result)).not.toContain(message.code);
  });

  it("a refused connection is a retry with code network_error", async () => {
    const port = await freePort();
    const dead = createMessageCentralSender(config({ baseUrl: `http://127.0.0.1:${port}` }), { clock });
    expect(await dead.send(message, never)).toMatchObject({ kind: "retry", error: { code: "network_error" } });
  });

  it("an aborted signal (shutdown) is a retry and sends nothing", async () => {
    expect(await sender.send(message, AbortSignal.abort())).toMatchObject({ kind: "retry", error: { code: "aborted" } });
    expect(fake.requests).toHaveLength(0);
  });
});

describe("delegated verifier (VerifyNow)", () => {
  let verifier: DelegatedVerifier;
  beforeEach(() => {
    verifier = createMessageCentralVerifier(config(), { clock });
  });

  const start = async (to = message.to) => {
    const result = await verifier.start(to, "sms", never);
    if (result.kind !== "accepted") throw new Error(`start was ${result.kind}`);
    return result.reference;
  };

  it("starts with the documented query and keeps data.verificationId as the reference", async () => {
    const result = await verifier.start("+919876543210", "sms", never);
    expect(result).toEqual({ kind: "accepted", reference: "12072243", providerMessageId: "12072243" });
    expect(verifier.provider).toBe("messagecentral");
    const [req] = fake.apiRequests();
    expect(req?.method).toBe("POST");
    expect(req?.path).toBe("/verification/v3/send");
    expect(req?.body).toBe("");
    expect(req?.query).toEqual({
      countryCode: "91",
      customerId: CUSTOMER_ID,
      flowType: "SMS",
      mobileNumber: "9876543210",
      otpLength: "6",
    });
    expect(fake.codeFor("12072243")).toMatch(/^\d{6}$/);
  });

  it("whatsapp is flowType WHATSAPP, with the configured otpLength", async () => {
    const eight = createMessageCentralVerifier(config({ otpLength: 8 }), { clock });
    const result = await eight.start(message.to, "whatsapp", never);
    expect(result.kind).toBe("accepted");
    expect(fake.apiRequests()[0]?.query).toMatchObject({ flowType: "WHATSAPP", otpLength: "8" });
    expect(fake.codeFor("12072243")).toMatch(/^\d{8}$/);
  });

  it("rcs is not offered: misconfigured without a call", async () => {
    expect(await verifier.start(message.to, "rcs", never)).toMatchObject({
      kind: "misconfigured",
      error: { code: "unsupported_channel" },
    });
    expect(fake.requests).toHaveLength(0);
  });

  it("a wrong code, then the right one, then the right one replayed", async () => {
    const reference = await start();
    const code = fake.codeFor(reference);
    const wrong = code === "000000" ? "111111" : "000000";
    expect(await verifier.check(reference, wrong, never)).toEqual({ kind: "wrong_code" });
    expect(await verifier.check(reference, code, never)).toEqual({ kind: "approved" });
    // Already verified: a replay must not approve a second time.
    expect(await verifier.check(reference, code, never)).toEqual({ kind: "expired" });
    const [, check] = fake.apiRequests();
    expect(check?.method).toBe("GET");
    expect(check?.path).toBe("/verification/v3/validateOtp");
    expect(check?.query).toEqual({ verificationId: reference, code: wrong, customerId: CUSTOMER_ID });
    expect(check?.headers.authtoken).toBe(fake.apiRequests()[0]?.headers.authtoken);
  });

  it("an expired code is expired, even when right", async () => {
    const reference = await start();
    clock.advance(300_000);
    expect(await verifier.check(reference, fake.codeFor(reference), never)).toEqual({ kind: "expired" });
  });

  it("after the provider's attempt limit even the right code is expired", async () => {
    const reference = await start();
    const code = fake.codeFor(reference);
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 3; i++) expect(await verifier.check(reference, wrong, never)).toEqual({ kind: "wrong_code" });
    expect(await verifier.check(reference, code, never)).toEqual({ kind: "expired" });
  });

  it("an unknown reference is expired", async () => {
    expect(await verifier.check("99999999", "123456", never)).toEqual({ kind: "expired" });
  });

  it("a second start within data.timeout is a retry after that wait, then goes through", async () => {
    await start();
    clock.advance(15_000);
    expect(await verifier.start(message.to, "sms", never)).toEqual({
      kind: "retry",
      error: { code: "506", message: "REQUEST_ALREADY_EXISTS" },
      retryAfterMs: 45_000,
    });
    clock.advance(45_000);
    expect(await verifier.start(message.to, "sms", never)).toMatchObject({ kind: "accepted", reference: "12072244" });
  });

  it.each(SEND_CODES)("start: responseCode %i (%s) is %s", async (code, name, kind) => {
    fake.answerNext(code);
    expect(await verifier.start(message.to, "sms", never)).toEqual({ kind, error: { code: String(code), message: name } });
  });

  it("start: success without a verificationId is rejected (it could never be checked)", async () => {
    fake.answerNext(200, { data: { mobileNumber: "4155550142" } });
    expect(await verifier.start(message.to, "sms", never)).toMatchObject({
      kind: "rejected",
      error: { code: "no_verification_id" },
    });
  });

  it.each(CHECK_CODES)("check: responseCode %i maps to %o", async (code, expected) => {
    const reference = await start();
    fake.answerNext(code);
    expect(await verifier.check(reference, fake.codeFor(reference), never)).toEqual(expected);
  });

  it("check: a 200 without VERIFICATION_COMPLETED never approves", async () => {
    const reference = await start();
    fake.answerNext(200, { data: { verificationId: reference, verificationStatus: "VERIFICATION_PENDING" } });
    expect(await verifier.check(reference, fake.codeFor(reference), never)).toMatchObject({
      kind: "error",
      retryable: false,
      error: { code: "unexpected_status" },
    });
  });

  it.each([
    [502, true],
    [404, false],
  ] as const)("check: a non-JSON HTTP %i is an error, retryable %s", async (httpStatus, retryable) => {
    const reference = await start();
    fake.answerNext(0, { httpStatus, rawBody: "<html>gateway</html>" });
    expect(await verifier.check(reference, "123456", never)).toMatchObject({
      kind: "error",
      retryable,
      error: { code: `http_${httpStatus}` },
    });
  });

  it("check: a 401 is refreshed once, then the check goes through", async () => {
    const reference = await start();
    fake.revokeTokens();
    expect(await verifier.check(reference, fake.codeFor(reference), never)).toEqual({ kind: "approved" });
    expect(fake.tokenRequests()).toHaveLength(2);
  });

  it("check: unreachable is a retryable error; refused auth is not", async () => {
    const reference = await start();
    fake.refuseAllTokens(true);
    expect(await verifier.check(reference, "123456", never)).toMatchObject({ kind: "error", retryable: false });
    const port = await freePort();
    const dead = createMessageCentralVerifier(config({ baseUrl: `http://127.0.0.1:${port}` }), { clock });
    expect(await dead.check(reference, "123456", never)).toMatchObject({
      kind: "error",
      retryable: true,
      error: { code: "network_error" },
    });
  });
});
