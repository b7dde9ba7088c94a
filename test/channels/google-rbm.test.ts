import { createHmac, generateKeyPairSync } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createGoogleRbmSender, type GoogleRbmConfig, googleRbmConfigSchema } from "../../src/channels/google-rbm.js";
import type { OutboundMessage, Sender } from "../../src/core/sender.js";
import { type FakeRbm, googleErrorBody, RBM_SCOPE, rbmHandshake, signedRbmWebhook, startFakeRbm } from "../fakes/google-rbm.js";
import { FakeClock } from "../helpers/clock.js";
import { freePort } from "../helpers/webhook-sink.js";

const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIVATE_KEY = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const CLIENT_EMAIL = "verifyd-rbm@verifyd-test.iam.gserviceaccount.com";
const AGENT_ID = "verifyd_otp_agent";
const CLIENT_TOKEN = "rbm-client-token-2Yc8";
const TO = "+14155550142";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const HOUR_MS = 3_600_000;

const never = new AbortController().signal;

describe("google rbm sender", () => {
  let clock: FakeClock;
  let fake: FakeRbm;
  let sender: Sender;

  const configFor = (overrides: Partial<GoogleRbmConfig> = {}): GoogleRbmConfig =>
    googleRbmConfigSchema.parse({
      agentId: AGENT_ID,
      serviceAccount: { clientEmail: CLIENT_EMAIL, privateKey: PRIVATE_KEY, tokenUri: fake.tokenUri },
      clientToken: CLIENT_TOKEN,
      baseUrl: fake.baseUrl,
      timeoutMs: 2000,
      ...overrides,
    });

  const messageFor = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
    deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
    verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
    to: TO,
    channel: "rcs",
    code: "493817",
    body: "493817 is your verifyd code. It expires in 9 minutes.",
    locale: "en",
    expiresAt: clock.now() + 540_700,
    ...overrides,
  });

  beforeEach(async () => {
    clock = new FakeClock();
    fake = await startFakeRbm({ clock, publicKey: keys.publicKey, clientEmail: CLIENT_EMAIL, agentId: AGENT_ID, capable: [TO] });
    sender = createGoogleRbmSender(configFor(), { clock });
  });
  afterEach(async () => fake.close());

  describe("config", () => {
    it("fills the documented defaults", () => {
      const config = googleRbmConfigSchema.parse({
        agentId: AGENT_ID,
        serviceAccount: { clientEmail: CLIENT_EMAIL, privateKey: PRIVATE_KEY },
        clientToken: CLIENT_TOKEN,
      });
      expect(config).toMatchObject({
        serviceAccount: { tokenUri: "https://oauth2.googleapis.com/token" },
        baseUrl: "https://rcsbusinessmessaging.googleapis.com",
        timeoutMs: 5000,
        capabilityCacheMs: 24 * HOUR_MS,
      });
    });

    it("reads a one-line PEM with literal \\n and refuses something that is not a key", () => {
      const oneLine = PRIVATE_KEY.replace(/\n/g, "\\n");
      const parsed = googleRbmConfigSchema.parse({
        agentId: AGENT_ID,
        serviceAccount: { clientEmail: CLIENT_EMAIL, privateKey: oneLine },
        clientToken: CLIENT_TOKEN,
      });
      expect(parsed.serviceAccount.privateKey).toBe(PRIVATE_KEY);
      const bad = googleRbmConfigSchema.safeParse({
        agentId: AGENT_ID,
        serviceAccount: { clientEmail: CLIENT_EMAIL, privateKey: "not a key" },
        clientToken: CLIENT_TOKEN,
      });
      expect(bad.success).toBe(false);
    });
  });

  describe("send", () => {
    it("exchanges a signed JWT for a token, then POSTs the text with its own messageId", async () => {
      const result = await sender.send(messageFor(), never);

      const [tokenRequest] = fake.tokenRequests();
      expect(fake.tokenRequests()).toHaveLength(1);
      expect(tokenRequest?.method).toBe("POST");
      expect(tokenRequest?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      const form = new URLSearchParams(tokenRequest?.body);
      expect([...form.keys()].sort()).toEqual(["assertion", "grant_type"]);
      expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
      const iat = Math.floor(clock.now() / 1000);
      expect(tokenRequest?.jwt).toEqual({
        header: { alg: "RS256", typ: "JWT" },
        claims: { iss: CLIENT_EMAIL, scope: RBM_SCOPE, aud: fake.tokenUri, iat, exp: iat + 3600 },
      });

      expect(fake.sendRequests()).toHaveLength(1);
      const [req] = fake.sendRequests();
      expect(req?.method).toBe("POST");
      expect(req?.path).toMatch(/^\/v1\/phones\/\+14155550142\/agentMessages\?/);
      expect(Object.keys(req?.query ?? {}).sort()).toEqual(["agentId", "messageId"]);
      expect(req?.query.agentId).toBe(AGENT_ID);
      expect(req?.query.messageId).toMatch(UUID);
      expect(req?.headers.authorization).toBe(`Bearer ${fake.issued[0]}`);
      expect(req?.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(req?.body ?? "")).toEqual({
        contentMessage: { text: "493817 is your verifyd code. It expires in 9 minutes." },
        messageTrafficType: "AUTHENTICATION",
        ttl: "540s",
      });
      expect(result).toEqual({ kind: "accepted", providerMessageId: req?.query.messageId });
    });

    it("offers an action opening the service's site when it has a WebOTP origin", async () => {
      await sender.send(messageFor({ openUrl: "https://example.com" }), never);
      const [req] = fake.sendRequests();
      expect(JSON.parse(req?.body ?? "").contentMessage).toEqual({
        text: "493817 is your verifyd code. It expires in 9 minutes.",
        suggestions: [
          { action: { text: "Open example.com", postbackData: "open_url", openUrlAction: { url: "https://example.com" } } },
        ],
      });
    });

    it("uses a new messageId for every send", async () => {
      const first = await sender.send(messageFor(), never);
      const second = await sender.send(messageFor(), never);
      expect(first.kind === "accepted" && first.providerMessageId).toMatch(UUID);
      expect(second.kind === "accepted" && second.providerMessageId).toMatch(UUID);
      expect(first).not.toEqual(second);
    });

    it.each([
      [600_000, "600s"],
      [59_999, "59s"],
      [1_000, "1s"],
      [30 * 24 * HOUR_MS, "1296000s"], // capped at Google's 15 days
    ])("with %i ms of the code left, ttl is %s", async (remainingMs, ttl) => {
      await sender.send(messageFor({ expiresAt: clock.now() + remainingMs }), never);
      expect(JSON.parse(fake.sendRequests()[0]?.body ?? "").ttl).toBe(ttl);
    });

    it("does not send a code with less than a second left", async () => {
      const result = await sender.send(messageFor({ expiresAt: clock.now() + 999 }), never);
      expect(result).toMatchObject({ kind: "rejected", error: { code: "expired" } });
      expect(fake.requests).toHaveLength(0);
    });

    it("refuses a destination that is not E.164 without calling Google", async () => {
      const result = await sender.send(messageFor({ to: "+1/../../v1/agents" }), never);
      expect(result).toMatchObject({ kind: "rejected", error: { code: "invalid_number" } });
      expect(fake.requests).toHaveLength(0);
    });

    it("is misconfigured when routed a channel other than rcs", async () => {
      const result = await sender.send(messageFor({ channel: "sms" }), never);
      expect(result).toMatchObject({ kind: "misconfigured", error: { code: "unsupported_channel" } });
      expect(fake.requests).toHaveLength(0);
    });

    it("a number Google cannot reach over RCS is rejected with NOT_FOUND", async () => {
      fake.capable.clear();
      expect(await sender.send(messageFor(), never)).toEqual({
        kind: "rejected",
        error: { code: "NOT_FOUND", message: "Requested entity was not found." },
      });
    });

    it.each([
      [404, "NOT_FOUND", "rejected"],
      [400, "INVALID_ARGUMENT", "rejected"],
      [400, "FAILED_PRECONDITION", "rejected"],
      [403, "PERMISSION_DENIED", "misconfigured"],
      [429, "RESOURCE_EXHAUSTED", "retry"],
      [409, "ABORTED", "retry"],
      [500, "INTERNAL", "retry"],
      [503, "UNAVAILABLE", "retry"],
      [504, "DEADLINE_EXCEEDED", "retry"],
    ] as const)("%i %s is %s, with one request and no token refresh", async (status, code, kind) => {
      fake.failNext("send", { status, body: googleErrorBody(status, code, `the ${code} message`) });
      expect(await sender.send(messageFor(), never)).toEqual({ kind, error: { code, message: `the ${code} message` } });
      expect(fake.sendRequests()).toHaveLength(1);
      expect(fake.tokenRequests()).toHaveLength(1);
    });

    it("a duplicate messageId (409 ALREADY_EXISTS) counts as accepted", async () => {
      fake.failNext("send", { status: 409, body: googleErrorBody(409, "ALREADY_EXISTS", "Duplicate message id.") });
      const result = await sender.send(messageFor(), never);
      expect(result).toEqual({ kind: "accepted", providerMessageId: fake.sendRequests()[0]?.query.messageId });
    });

    it("an error without Google's JSON keeps the HTTP status as its code", async () => {
      fake.failNext("send", { status: 502, body: "" });
      expect(await sender.send(messageFor(), never)).toEqual({ kind: "retry", error: { code: "http_502", message: "" } });
    });

    it("429 with Retry-After asks to wait that long", async () => {
      fake.failNext("send", {
        status: 429,
        body: googleErrorBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded."),
        headers: { "retry-after": "30" },
      });
      expect(await sender.send(messageFor(), never)).toMatchObject({ kind: "retry", retryAfterMs: 30_000 });
    });

    it("never copies the code into the error message, even when Google quotes it", async () => {
      fake.failNext("send", {
        status: 400,
        body: googleErrorBody(400, "INVALID_ARGUMENT", "Invalid text '493817 is your verifyd code.'"),
      });
      const result = await sender.send(messageFor(), never);
      expect(result).toEqual({
        kind: "rejected",
        error: { code: "INVALID_ARGUMENT", message: "Invalid text '[code] is your verifyd code.'" },
      });
    });

    it("a refused connection is a retry", async () => {
      const dead = createGoogleRbmSender(configFor({ baseUrl: `http://127.0.0.1:${await freePort()}` }), { clock });
      expect(await dead.send(messageFor(), never)).toMatchObject({ kind: "retry", error: { code: "network_error" } });
    });

    it("an aborted caller signal sends nothing", async () => {
      expect(await sender.send(messageFor(), AbortSignal.abort())).toMatchObject({ kind: "retry", error: { code: "aborted" } });
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe("access token", () => {
    it("is reused until a minute before it expires, then refreshed", async () => {
      await sender.send(messageFor(), never);
      clock.advance(3599_000 - 60_000 - 1);
      await sender.send(messageFor(), never);
      expect(fake.tokenRequests()).toHaveLength(1);
      clock.advance(1);
      expect(await sender.send(messageFor(), never)).toMatchObject({ kind: "accepted" });
      expect(fake.tokenRequests()).toHaveLength(2);
      // The refresh signs a new assertion for the new time.
      expect(fake.tokenRequests()[1]?.jwt?.claims.iat).toBe(Math.floor(clock.now() / 1000));
      expect(fake.sendRequests().map((r) => r.headers.authorization)).toEqual([
        `Bearer ${fake.issued[0]}`,
        `Bearer ${fake.issued[0]}`,
        `Bearer ${fake.issued[1]}`,
      ]);
    });

    it("concurrent sends share one token request", async () => {
      const results = await Promise.all(Array.from({ length: 5 }, () => sender.send(messageFor(), never)));
      expect(results.every((r) => r.kind === "accepted")).toBe(true);
      expect(fake.tokenRequests()).toHaveLength(1);
      expect(new Set(fake.sendRequests().map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${fake.issued[0]}`]));
    });

    it("a waiter that aborts gives up alone; the others still get the shared token", async () => {
      const release = fake.holdTokens();
      const leaving = new AbortController();
      const aborted = sender.send(messageFor(), leaving.signal);
      const staying = sender.send(messageFor(), never);
      leaving.abort();
      expect(await aborted).toMatchObject({ kind: "retry", error: { code: "aborted" } });
      release();
      expect(await staying).toMatchObject({ kind: "accepted" });
      expect(fake.tokenRequests()).toHaveLength(1);
      expect(fake.sendRequests()).toHaveLength(1);
    });

    it("a 401 refreshes the token once and retries the send", async () => {
      await sender.send(messageFor(), never);
      fake.revokeTokens();
      const result = await sender.send(messageFor(), never);
      expect(result).toMatchObject({ kind: "accepted" });
      expect(fake.tokenRequests()).toHaveLength(2);
      const [, refused, retried] = fake.sendRequests();
      expect(refused?.headers.authorization).toBe(`Bearer ${fake.issued[0]}`);
      expect(retried?.headers.authorization).toBe(`Bearer ${fake.issued[1]}`);
      // The retry is the same message: the platform de-duplicates on messageId.
      expect(retried?.query.messageId).toBe(refused?.query.messageId);
      expect(result.kind === "accepted" && result.providerMessageId).toBe(retried?.query.messageId);
    });

    it("a 401 that survives a fresh token is misconfigured", async () => {
      const unauthenticated = { status: 401, body: googleErrorBody(401, "UNAUTHENTICATED", "Bad credentials.") };
      fake.failNext("send", unauthenticated);
      fake.failNext("send", unauthenticated);
      expect(await sender.send(messageFor(), never)).toEqual({
        kind: "misconfigured",
        error: { code: "UNAUTHENTICATED", message: "Bad credentials." },
      });
      expect(fake.tokenRequests()).toHaveLength(2);
      expect(fake.sendRequests()).toHaveLength(2);
    });

    it("an assertion signed with another key is refused: misconfigured, nothing sent", async () => {
      const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" });
      const serviceAccount = { clientEmail: CLIENT_EMAIL, privateKey: other.toString(), tokenUri: fake.tokenUri };
      const wrongKey = createGoogleRbmSender(configFor({ serviceAccount }), { clock });
      expect(await wrongKey.send(messageFor(), never)).toMatchObject({ kind: "misconfigured", error: { code: "invalid_grant" } });
      expect(fake.sendRequests()).toHaveLength(0);
    });

    it("an unknown service account is misconfigured", async () => {
      const serviceAccount = {
        clientEmail: "someone@else.iam.gserviceaccount.com",
        privateKey: PRIVATE_KEY,
        tokenUri: fake.tokenUri,
      };
      const unknown = createGoogleRbmSender(configFor({ serviceAccount }), { clock });
      expect(await unknown.send(messageFor(), never)).toMatchObject({ kind: "misconfigured", error: { code: "invalid_grant" } });
    });

    it.each([
      [400, { error: "invalid_grant", error_description: "Invalid JWT Signature." }, "misconfigured", "invalid_grant"],
      [401, { error: "invalid_client", error_description: "The OAuth client was not found." }, "misconfigured", "invalid_client"],
      [429, { error: "rate_limit_exceeded" }, "retry", "rate_limit_exceeded"],
      [500, { error: "internal_failure" }, "retry", "internal_failure"],
      [503, {}, "retry", "token_http_503"],
    ] as const)("token endpoint %i %j is %s", async (status, body, kind, code) => {
      fake.failNext("token", { status, body });
      expect(await sender.send(messageFor(), never)).toMatchObject({ kind, error: { code } });
      expect(fake.sendRequests()).toHaveLength(0);
      // Failures are not cached: the next send asks again and goes through.
      expect(await sender.send(messageFor(), never)).toMatchObject({ kind: "accepted" });
      expect(fake.tokenRequests()).toHaveLength(2);
    });

    it("an unreachable token endpoint is a retry", async () => {
      const serviceAccount = {
        clientEmail: CLIENT_EMAIL,
        privateKey: PRIVATE_KEY,
        tokenUri: `http://127.0.0.1:${await freePort()}/token`,
      };
      const dead = createGoogleRbmSender(configFor({ serviceAccount }), { clock });
      expect(await dead.send(messageFor(), never)).toMatchObject({ kind: "retry", error: { code: "network_error" } });
      expect(fake.sendRequests()).toHaveLength(0);
    });
  });

  describe("capability", () => {
    it("asks Google once with a fresh requestId, then answers from the cache for 24 h", async () => {
      expect(await sender.capability?.(TO, "rcs", never)).toBe("capable");
      const [req] = fake.capabilityRequests();
      expect(req?.method).toBe("GET");
      expect(req?.path).toMatch(/^\/v1\/phones\/\+14155550142\/capabilities\?/);
      expect(Object.keys(req?.query ?? {}).sort()).toEqual(["agentId", "requestId"]);
      expect(req?.query.agentId).toBe(AGENT_ID);
      expect(req?.query.requestId).toMatch(UUID);
      expect(req?.headers.authorization).toBe(`Bearer ${fake.issued[0]}`);

      clock.advance(24 * HOUR_MS - 1);
      fake.capable.clear(); // a cached answer does not see this
      expect(await sender.capability?.(TO, "rcs", never)).toBe("capable");
      expect(fake.capabilityRequests()).toHaveLength(1);

      clock.advance(1);
      expect(await sender.capability?.(TO, "rcs", never)).toBe("not_capable");
      expect(fake.capabilityRequests()).toHaveLength(2);
      expect(fake.capabilityRequests()[1]?.query.requestId).not.toBe(req?.query.requestId);
    });

    it("caches a 404 (not capable) too, per number", async () => {
      const other = "+447700900123";
      expect(await sender.capability?.(other, "rcs", never)).toBe("not_capable");
      fake.capable.add(other);
      expect(await sender.capability?.(other, "rcs", never)).toBe("not_capable");
      expect(await sender.capability?.(TO, "rcs", never)).toBe("capable");
      expect(fake.capabilityRequests()).toHaveLength(2);
    });

    it("honours a shorter capabilityCacheMs", async () => {
      const brief = createGoogleRbmSender(configFor({ capabilityCacheMs: 60_000 }), { clock });
      await brief.capability?.(TO, "rcs", never);
      clock.advance(60_000);
      await brief.capability?.(TO, "rcs", never);
      expect(fake.capabilityRequests()).toHaveLength(2);
    });

    it.each([
      [500, "INTERNAL"],
      [429, "RESOURCE_EXHAUSTED"],
      [403, "PERMISSION_DENIED"],
    ] as const)("%i %s is unknown and not cached", async (status, code) => {
      fake.failNext("capability", { status, body: googleErrorBody(status, code, "no") });
      expect(await sender.capability?.(TO, "rcs", never)).toBe("unknown");
      expect(await sender.capability?.(TO, "rcs", never)).toBe("capable");
      expect(fake.capabilityRequests()).toHaveLength(2);
    });

    it("is unknown when no token can be had", async () => {
      fake.failNext("token", { status: 500, body: { error: "internal_failure" } });
      expect(await sender.capability?.(TO, "rcs", never)).toBe("unknown");
      expect(fake.capabilityRequests()).toHaveLength(0);
    });

    it("refreshes the token on a 401 and asks again", async () => {
      await sender.send(messageFor(), never);
      fake.revokeTokens();
      expect(await sender.capability?.(TO, "rcs", never)).toBe("capable");
      expect(fake.tokenRequests()).toHaveLength(2);
      expect(fake.capabilityRequests()).toHaveLength(2);
    });

    it("has nothing to say about other channels", async () => {
      expect(await sender.capability?.(TO, "sms", never)).toBe("unknown");
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe("webhook", () => {
    const messageId = "8c4e2b1a-3f6d-4a7e-9b0c-5d2e1f3a4b6c";
    const event = (eventType: string) => ({
      senderPhoneNumber: TO,
      eventType,
      eventId: "MxQw5Tt2t0RRKqLz9bpg",
      messageId,
      sendTime: "2026-01-15T12:00:03.123456Z",
      agentId: `${AGENT_ID}@rbm.goog`,
    });

    it.each([
      ["DELIVERED", { providerMessageId: messageId, status: "delivered" }],
      ["READ", { providerMessageId: messageId, status: "read" }],
    ])("a signed %s event is a status update", async (eventType, update) => {
      const result = await sender.handleWebhook?.(signedRbmWebhook(CLIENT_TOKEN, event(eventType)));
      expect(result).toEqual({ kind: "accepted", statuses: [update], inbound: [] });
    });

    it("a signed TTL_EXPIRATION_REVOKED server event is a permanent failure", async () => {
      const { senderPhoneNumber: _, ...rest } = event("TTL_EXPIRATION_REVOKED");
      const result = await sender.handleWebhook?.(signedRbmWebhook(CLIENT_TOKEN, { ...rest, phoneNumber: TO }));
      expect(result).toEqual({
        kind: "accepted",
        statuses: [
          {
            providerMessageId: messageId,
            status: "failed",
            errorCode: "TTL_EXPIRATION_REVOKED",
            errorMessage: "expired before delivery and revoked",
            permanent: true,
          },
        ],
        inbound: [],
      });
    });

    it.each(["IS_TYPING", "TTL_EXPIRATION_REVOKE_FAILED"])("a signed %s event is acknowledged and ignored", async (eventType) => {
      const result = await sender.handleWebhook?.(signedRbmWebhook(CLIENT_TOKEN, event(eventType)));
      expect(result).toEqual({ kind: "accepted", statuses: [], inbound: [] });
    });

    it("a user's text message is an inbound message", async () => {
      const payload = {
        senderPhoneNumber: TO,
        messageId: "MxZ0s2VYjUQ_-7zBOGkKNpDA",
        sendTime: "2026-01-15T12:01:00.000Z",
        agentId: `${AGENT_ID}@rbm.goog`,
        text: "STOP",
      };
      const result = await sender.handleWebhook?.(signedRbmWebhook(CLIENT_TOKEN, payload));
      expect(result).toEqual({
        kind: "accepted",
        statuses: [],
        inbound: [{ providerMessageId: "MxZ0s2VYjUQ_-7zBOGkKNpDA", channel: "rcs", from: TO, to: AGENT_ID, text: "STOP" }],
      });
    });

    it.each([
      ["missing", signedRbmWebhook(CLIENT_TOKEN, event("DELIVERED"), { signature: null })],
      ["empty", signedRbmWebhook(CLIENT_TOKEN, event("DELIVERED"), { signature: "" })],
      ["made with another client token", signedRbmWebhook("someone-elses-token", event("DELIVERED"))],
      ["garbage", signedRbmWebhook(CLIENT_TOKEN, event("DELIVERED"), { signature: "c2lnbmF0dXJl" })],
    ])("a %s signature is rejected", async (_, request) => {
      expect(await sender.handleWebhook?.(request)).toMatchObject({ kind: "rejected" });
    });

    it("a signature over other data is rejected", async () => {
      const genuine = signedRbmWebhook(CLIENT_TOKEN, event("DELIVERED"));
      const forged = signedRbmWebhook(CLIENT_TOKEN, event("TTL_EXPIRATION_REVOKED"), {
        signature: genuine.headers["x-goog-signature"] ?? "",
      });
      expect(await sender.handleWebhook?.(forged)).toMatchObject({ kind: "rejected" });
    });

    it("matches a signature computed independently (openssl dgst -sha512 -hmac)", async () => {
      const data =
        "eyJzZW5kZXJQaG9uZU51bWJlciI6IisxNDE1NTU1MDE0MiIsImV2ZW50VHlwZSI6IkRFTElWRVJFRCIsImV2ZW50SWQiOiJNeFF3NVR0MnQwUlJLcUx6OWJwZyIsIm1lc3NhZ2VJZCI6IjhjNGUyYjFhLTNmNmQtNGE3ZS05YjBjLTVkMmUxZjNhNGI2YyIsInNlbmRUaW1lIjoiMjAyNi0wMS0xNVQxMjowMDowMy4xMjM0NTZaIiwiYWdlbnRJZCI6InZlcmlmeWRfb3RwX2FnZW50QHJibS5nb29nIn0=";
      const signature = "zk4Za1dljh6QjSgdL/8zYdKyUTzB+f70ou/nXatvQvn9rGxENae5iF/aE3ND2J9poBf6/iF23E9iJu2BjltIRw==";
      const request = (sig: string) => ({
        method: "POST" as const,
        url: "https://verifyd.example.com/webhooks/google-rbm/status",
        headers: { "content-type": "application/json", "x-goog-signature": sig },
        rawBody: JSON.stringify({ message: { data, messageId: "1", publishTime: "2026-01-15T12:00:03Z" }, subscription: "s" }),
      });
      expect(await sender.handleWebhook?.(request(signature))).toEqual({
        kind: "accepted",
        statuses: [{ providerMessageId: messageId, status: "delivered" }],
        inbound: [],
      });
      expect(await sender.handleWebhook?.(request(`y${signature.slice(1)}`))).toMatchObject({ kind: "rejected" });
    });

    it("answers the console's handshake with the raw secret when the client token matches", async () => {
      expect(await sender.handleWebhook?.(rbmHandshake(CLIENT_TOKEN, "s3cr3t-4711"))).toEqual({
        kind: "challenge",
        body: "s3cr3t-4711",
      });
      expect(await sender.handleWebhook?.(rbmHandshake("wrong-token", "s3cr3t-4711"))).toMatchObject({ kind: "rejected" });
    });

    it("rejects a body that is not an RBM envelope, and a GET", async () => {
      const base = signedRbmWebhook(CLIENT_TOKEN, event("DELIVERED"));
      expect(await sender.handleWebhook?.({ ...base, rawBody: "not json" })).toMatchObject({ kind: "rejected" });
      expect(await sender.handleWebhook?.({ ...base, rawBody: '{"message":{}}' })).toMatchObject({ kind: "rejected" });
      expect(await sender.handleWebhook?.({ ...base, method: "GET" })).toMatchObject({ kind: "rejected" });
    });

    it("acknowledges signed data that is not JSON, so Google's queue does not stall", async () => {
      const data = Buffer.from("\u0000not json");
      const request = {
        method: "POST" as const,
        url: "https://verifyd.example.com/webhooks/google-rbm/status",
        headers: { "x-goog-signature": createHmac("sha512", CLIENT_TOKEN).update(data).digest("base64") },
        rawBody: JSON.stringify({ message: { data: data.toString("base64") } }),
      };
      expect(await sender.handleWebhook?.(request)).toEqual({ kind: "accepted", statuses: [], inbound: [] });
    });
  });
});
