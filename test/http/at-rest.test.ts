import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { parsePhoneNumberWithError } from "libphonenumber-js/max";
import { afterEach, describe, expect, it } from "vitest";
import { INBOUND_ALPHABET } from "../../src/core/inbound.js";
import { startFakeSendgrid } from "../fakes/sendgrid.js";
import { startFakeSmtp } from "../fakes/smtp.js";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";
import { startWebhookSink, type WebhookSink } from "../helpers/webhook-sink.js";

/**
 * Data at rest: after a realistic flow (starts, an idempotent replay, checks, a resend, a STOP, an API
 * opt-out, a person-to-application verification, event webhooks), the raw bytes of the database file
 * and of its WAL hold neither a phone number in any form a reader could use nor a code; nor, after
 * an email flow (a bounce, a fallback, a resend), the address, its local part or its domain.
 */

const PUBLIC_URL = "https://verify.example.com";
const SMS_NUMBER = "+15017122661";
const USER = "+14155550137";
const P2A_USER = "+14155550138";
const OPTED_OUT = "+14155550139";
const EVENTS_SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const EMAIL = "ada.lovelace+verify@analytical-engine.example";

/** Every spelling of a number worth searching for: E.164 with and without `+`, national, formatted, the prefix. */
function spellings(e164: string): string[] {
  const parsed = parsePhoneNumberWithError(e164);
  return [
    e164,
    e164.slice(1),
    parsed.nationalNumber,
    parsed.formatNational(),
    parsed.formatInternational(),
    e164.slice(0, -4), // the velocity prefix key (VERIFYD_PREFIX_DIGITS=4)
  ];
}

/** The database file, its WAL and its shared-memory index, as they are on disk now (nothing checkpointed). */
function rawFiles(dbPath: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(dbPath + suffix)) files[`verifyd.db${suffix}`] = readFileSync(dbPath + suffix);
  }
  return files;
}

/** Where each needle occurs, in UTF-8 and UTF-16LE, across the files: `file: needle (encoding)`. */
function occurrences(files: Record<string, Buffer>, needles: string[]): string[] {
  const found: string[] = [];
  for (const [name, bytes] of Object.entries(files)) {
    for (const needle of needles) {
      for (const encoding of ["utf8", "utf16le"] as const) {
        if (bytes.includes(Buffer.from(needle, encoding))) found.push(`${name}: ${needle} (${encoding})`);
      }
    }
  }
  return found;
}

// Scans the SQLite file and its WAL; on PostgreSQL the store contract checks what is stored.
describe.skipIf(onSharedBackends())("data at rest", () => {
  let h: Harness;
  let fake: FakeTwilio;
  let sink: WebhookSink;
  afterEach(async () => {
    await h?.close();
    await fake?.close();
    await sink?.close();
  });

  it("leaves no phone number and no code readable in the database file or its WAL", async () => {
    fake = await startFakeTwilio();
    sink = await startWebhookSink();
    h = await createHarness(
      {
        VERIFYD_CODE_LENGTH: "10", // ten digits: an accidental match in random bytes is out of reach
        VERIFYD_EVENTS_URL: sink.url,
        VERIFYD_EVENTS_SECRET: EVENTS_SECRET,
        VERIFYD_PUBLIC_URL: PUBLIC_URL,
        VERIFYD_INBOUND_NUMBERS: `sms:${SMS_NUMBER}`,
      },
      {
        providers: {
          twilio: {
            type: "twilio",
            accountSid: fake.accountSid,
            authToken: fake.authToken,
            from: SMS_NUMBER,
            baseUrl: fake.baseUrl,
          },
        },
        route: [{ channel: "sms", providers: ["console"] }],
      },
    );
    const userMessage = async (from: string, body: string) => {
      const webhook = fake.inbound({ url: `${PUBLIC_URL}/webhooks/twilio/inbound`, from, to: SMS_NUMBER, body });
      const res = await h.runtime.app.request("/webhooks/twilio/inbound", {
        method: "POST",
        headers: webhook.headers,
        body: webhook.rawBody,
      });
      expect(res.status).toBe(200);
    };

    // Start with an idempotency key, replay it, guess wrong, resend, then check by number.
    const started = await h.json<{ id: string; to: string }>(
      "POST",
      "/v1/verifications",
      { to: USER },
      { "idempotency-key": "k1" },
    );
    expect(started.status).toBe(201);
    const id = started.body.id;
    const code = h.sender.lastCode(USER);
    expect(code).toMatch(/^\d{10}$/);
    const replay = await h.json<{ id: string; to: string }>(
      "POST",
      "/v1/verifications",
      { to: USER },
      { "idempotency-key": "k1" },
    );
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toMatchObject({ id, to: USER });
    const wrong = `${code.slice(0, 9)}${(Number(code[9]) + 1) % 10}`;
    expect((await h.json("POST", `/v1/verifications/${id}/check`, { code: wrong })).body).toMatchObject({ valid: false });
    h.clock.advance(31_000);
    expect((await h.call("POST", `/v1/verifications/${id}/resend`)).status).toBe(200);
    expect(h.sender.lastCode(USER)).toBe(code);
    const checked = await h.json("POST", "/v1/verification-checks", { to: USER, code });
    expect(checked.body).toMatchObject({ valid: true, verification_id: id });
    expect((await h.json("GET", `/v1/verifications/${id}`)).body).toMatchObject({ to: USER, status: "approved" });

    // Person-to-application: the user texts the code shown to them.
    const p2a = await h.json<{ id: string; inbound: { text: string } }>("POST", "/v1/verifications", {
      channel: "inbound",
      to: P2A_USER,
    });
    expect(p2a.status).toBe(201);
    const inboundCode = new RegExp(`^VERIFY ([${INBOUND_ALPHABET}]{6})$`).exec(p2a.body.inbound.text)?.[1] as string;
    await userMessage(P2A_USER, `VERIFY ${inboundCode}`);
    expect((await h.json("GET", `/v1/verifications/${p2a.body.id}`)).body).toMatchObject({
      status: "approved",
      verified_number: P2A_USER,
    });

    // Opt-outs: a STOP keyword and the admin API; both list back in clear.
    await userMessage(USER, "STOP");
    expect((await h.json("POST", "/v1/opt-outs", { phone: OPTED_OUT, channel: "whatsapp" })).status).toBe(201);
    const listed = await h.json<{ data: { phone: string; channel: string }[] }>("GET", "/v1/opt-outs");
    expect(listed.body.data.map((o) => `${o.phone}:${o.channel}`).sort()).toEqual([`${USER}:sms`, `${OPTED_OUT}:whatsapp`]);

    // Event webhooks are opened and sent as enqueued (masked number only).
    await h.runtime.outbox.runOnce();
    const events = sink.requests.map((r) => JSON.parse(r.body) as { type: string; data: { to_masked: string } });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(["verification.started", "verification.approved"]));
    expect(events.find((e) => e.type === "verification.started")?.data.to_masked).toBe("+1415***0137");

    const files = rawFiles(h.dbPath);
    expect(files["verifyd.db-wal"]?.length ?? 0).toBeGreaterThan(0);
    const needles = [...spellings(USER), ...spellings(P2A_USER), ...spellings(OPTED_OUT), code, inboundCode];
    expect(occurrences(files, needles)).toEqual([]);
  });

  it("leaves no email address (nor its local part or domain) and no code readable in the database file or its WAL", async () => {
    const smtp = await startFakeSmtp();
    const sendgrid = await startFakeSendgrid({ now: () => h.clock.now() });
    try {
      sink = await startWebhookSink();
      h = await createHarness(
        {
          VERIFYD_CODE_LENGTH: "10",
          VERIFYD_EVENTS_URL: sink.url,
          VERIFYD_EVENTS_SECRET: EVENTS_SECRET,
          VERIFYD_PUBLIC_URL: PUBLIC_URL,
          // The conversion guard counts per domain from the first send.
          VERIFYD_CONVERSION_MIN_SENDS: "1",
        },
        {
          providers: {
            sendgrid: {
              type: "sendgrid",
              apiKey: sendgrid.apiKey,
              from: "no-reply@auth.acme.example",
              webhookPublicKey: sendgrid.publicKey,
              baseUrl: sendgrid.baseUrl,
            },
            mail: { type: "smtp", host: smtp.host, port: smtp.port, ca: smtp.ca, from: "no-reply@auth.acme.example" },
          },
          route: [
            { channel: "email", providers: ["sendgrid"] },
            { channel: "email", providers: ["mail"] },
          ],
        },
      );
      // Start (idempotently, with a tagged address), replay, guess wrong, bounce to SMTP, resend, check by address.
      const started = await h.json<{ id: string; to: string }>(
        "POST",
        "/v1/verifications",
        { to: EMAIL },
        { "idempotency-key": "e1" },
      );
      expect(started.status).toBe(201);
      const id = started.body.id;
      const code = /^(\d{10}) /.exec(String(sendgrid.sent[0]?.body.subject))?.[1] as string;
      expect(code).toMatch(/^\d{10}$/);
      const replay = await h.json("POST", "/v1/verifications", { to: EMAIL }, { "idempotency-key": "e1" });
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      const wrong = `${code.slice(0, 9)}${(Number(code[9]) + 1) % 10}`;
      expect((await h.json("POST", "/v1/verification-checks", { to: EMAIL, code: wrong })).body).toMatchObject({ valid: false });
      const bounce = sendgrid.events([
        {
          messageId: sendgrid.sent[0]?.messageId as string,
          event: "bounce",
          extra: { type: "bounce", reason: `550 ${EMAIL} unknown` },
        },
      ]);
      const res = await h.runtime.app.request("/webhooks/sendgrid/status", {
        method: "POST",
        headers: bounce.headers,
        body: bounce.rawBody,
      });
      expect(res.status).toBe(200);
      expect(smtp.received).toHaveLength(1);
      h.clock.advance(31_000);
      expect((await h.call("POST", `/v1/verifications/${id}/resend`)).status).toBe(200);
      expect(smtp.received).toHaveLength(2);
      const checked = await h.json("POST", "/v1/verification-checks", { to: EMAIL, code });
      expect(checked.body).toMatchObject({ valid: true, verification_id: id });
      expect((await h.json("GET", `/v1/verifications/${id}`)).body).toMatchObject({ to: EMAIL, status: "approved" });

      await h.runtime.outbox.runOnce();
      const events = sink.requests.map((r) => JSON.parse(r.body) as { type: string; data: { to_masked: string } });
      expect(events.find((e) => e.type === "verification.started")?.data.to_masked).toBe("a***@analytical-engine.example");

      const needles = [EMAIL, EMAIL.toUpperCase(), "ada.lovelace", "analytical-engine", "adalovelace@", code];
      expect(occurrences(rawFiles(h.dbPath), needles)).toEqual([]);
    } finally {
      await smtp.close();
      await sendgrid.close();
    }
  });

  it("finds a number written in clear, in the WAL before any checkpoint (the scan can fail)", async () => {
    h = await createHarness();
    await h.startVerification(USER);
    const sentinel = "+16175550199";
    const second = new Database(h.dbPath);
    try {
      second.pragma("wal_autocheckpoint = 0");
      second.prepare("insert into rate_limits (key, points, expire) values (?, 1, null)").run(`control:${sentinel}`);
      // A UTF-16 copy as raw bytes (a blob), as a UTF-16 database would hold it.
      second.prepare("insert into rate_limits (key, points, expire) values (?, 1, null)").run(Buffer.from(sentinel, "utf16le"));
    } finally {
      second.close();
    }
    const found = occurrences(rawFiles(h.dbPath), spellings(sentinel));
    expect(found).toContain(`verifyd.db-wal: ${sentinel} (utf8)`);
    expect(found).toContain(`verifyd.db-wal: ${sentinel.slice(1)} (utf8)`);
    expect(found).toContain(`verifyd.db-wal: ${sentinel.slice(2)} (utf8)`);
    expect(found).toContain(`verifyd.db-wal: ${sentinel} (utf16le)`);
    expect(occurrences(rawFiles(h.dbPath), spellings(USER))).toEqual([]);
  });
});
