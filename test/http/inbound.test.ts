import Database from "better-sqlite3";
import QRCode from "qrcode";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { INBOUND_ALPHABET } from "../../src/core/inbound.js";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";

/** These tests read the SQLite file itself; the store contract holds PostgreSQL to the same. */
const sqliteFileOnly = onSharedBackends();

/**
 * Person-to-application verification end to end: start with `channel: inbound`, then the user's
 * message arrives as a signed Twilio incoming-message webhook and approves (or changes nothing).
 */

const PUBLIC_URL = "https://verify.example.com";
const SMS_NUMBER = "+15017122661";
const WA_NUMBER = "+14155238886";
const USER = "+14155550142";
const OTHER = "+14155550199";
const CODE = new RegExp(`^VERIFY ([${INBOUND_ALPHABET}]{6})$`);

interface View {
  id: string;
  status: string;
  to: string | null;
  channel: string | null;
  verified_number?: string | null;
  inbound?: {
    text: string;
    numbers: { channel: string; number: string; wa_me_url: string | null; sms_uri: string | null; qr_svg: string }[];
  };
}

describe("inbound verification", () => {
  let h: Harness;
  let fake: FakeTwilio;

  const boot = async (env: Record<string, string> = {}) => {
    fake = await startFakeTwilio();
    h = await createHarness(
      { VERIFYD_PUBLIC_URL: PUBLIC_URL, VERIFYD_INBOUND_NUMBERS: `whatsapp:${WA_NUMBER},sms:${SMS_NUMBER}`, ...env },
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
        route: [{ channel: "sms", providers: ["twilio"] }],
      },
    );
  };
  afterEach(async () => {
    await h?.close();
    await fake?.close();
  });

  const start = async (body: Record<string, unknown> = {}) => {
    const res = await h.json<View>("POST", "/v1/verifications", { channel: "inbound", ...body });
    expect(res.status).toBe(201);
    const code = CODE.exec(res.body.inbound?.text ?? "")?.[1];
    expect(code).toBeDefined();
    return { id: res.body.id, code: code as string, view: res.body };
  };
  /** The user's message, through Twilio's signed incoming-message webhook. */
  const message = async (from: string, body: string) => {
    const webhook = fake.inbound({ url: `${PUBLIC_URL}/webhooks/twilio/inbound`, from, to: SMS_NUMBER, body });
    const res = await h.runtime.app.request("/webhooks/twilio/inbound", {
      method: "POST",
      headers: webhook.headers,
      body: webhook.rawBody,
    });
    expect(res.status).toBe(200);
  };
  const view = async (id: string) => (await h.json<View>("GET", `/v1/verifications/${id}`)).body;
  const row = (id: string) => {
    const db = new Database(h.dbPath, { readonly: true });
    try {
      return db.prepare("select * from verifications where id = ?").get(id) as Record<string, unknown>;
    } finally {
      db.close();
    }
  };

  describe("with business numbers", () => {
    beforeEach(() => boot());

    it("answers with the text, deep links and QR codes, and sends nothing", async () => {
      const { code, view: v } = await start({ to: USER });
      expect(v).toMatchObject({ status: "pending", to: USER, channel: "inbound", verified_number: null });
      const encoded = encodeURIComponent(`VERIFY ${code}`);
      expect(encoded).toContain("VERIFY%20");
      const [wa, sms] = v.inbound?.numbers ?? [];
      expect(wa).toMatchObject({ channel: "whatsapp", number: WA_NUMBER, sms_uri: null });
      expect(wa?.wa_me_url).toBe(`https://wa.me/${WA_NUMBER.slice(1)}?text=${encoded}`);
      expect(sms).toMatchObject({ channel: "sms", number: SMS_NUMBER, wa_me_url: null });
      expect(sms?.sms_uri).toBe(`sms:${SMS_NUMBER}?&body=${encoded}`);
      for (const n of [wa, sms]) expect(n?.qr_svg).toMatch(/^<svg[\s\S]+<\/svg>\s*$/);
      // QR encoding is deterministic: each QR must be exactly the symbol of its own link.
      expect(wa?.qr_svg).toBe(await QRCode.toString(wa?.wa_me_url as string, { type: "svg" }));
      expect(sms?.qr_svg).toBe(await QRCode.toString(sms?.sms_uri as string, { type: "svg" }));
      expect(wa?.qr_svg).not.toBe(sms?.qr_svg);
      expect(fake.requests).toHaveLength(0);
      expect(h.sender.messages).toHaveLength(0);
    });

    it("narrows the numbers to inbound_channels", async () => {
      const { view: v } = await start({ inbound_channels: ["sms"] });
      expect(v.to).toBeNull();
      expect(v.inbound?.numbers.map((n) => n.channel)).toEqual(["sms"]);
    });

    it.skipIf(sqliteFileOnly)("approves from the expected sender's message, with words around a lower-case code", async () => {
      const { id, code } = await start({ to: USER });
      await message(USER, `hi VERIFY ${code.toLowerCase()} thanks`);
      const v = await view(id);
      expect(v).toMatchObject({ status: "approved", verified_number: USER });
      expect(row(id).inbound_code_hash).toBeNull();
    });

    it("approves a bare code with spaces from any sender when no number was given", async () => {
      const { id, code } = await start();
      await message(OTHER, `${code.slice(0, 3)} ${code.slice(3)}`);
      expect(await view(id)).toMatchObject({ status: "approved", verified_number: OTHER });
    });

    it.skipIf(sqliteFileOnly)("stores a keyed hash, never the code", async () => {
      const { id, code } = await start({ to: USER });
      const r = row(id);
      const hash = r.inbound_code_hash as Buffer;
      expect(Buffer.isBuffer(hash)).toBe(true);
      expect(hash).toHaveLength(32);
      expect(hash.toString("latin1")).not.toContain(code);
      expect(hash.equals(Buffer.from(code))).toBe(false);
      for (const value of Object.values(r)) expect(String(value)).not.toContain(code);
    });

    it("a message from another number changes nothing", async () => {
      const { id, code } = await start({ to: USER });
      await message(OTHER, `VERIFY ${code}`);
      expect(await view(id)).toMatchObject({ status: "pending", verified_number: null });
      await message(USER, `VERIFY ${code}`); // the code was right all along
      expect(await view(id)).toMatchObject({ status: "approved", verified_number: USER });
    });

    it.skipIf(sqliteFileOnly)("an expired code changes nothing", async () => {
      const { id, code } = await start({ to: USER });
      h.clock.advance(10 * 60_000 + 1);
      await message(USER, `VERIFY ${code}`);
      const v = await view(id);
      expect(v).toMatchObject({ status: "expired", verified_number: null });
      expect(row(id).status).toBe("pending"); // not approved behind the expiry
    });

    it("a used code changes nothing", async () => {
      const { id, code } = await start();
      await message(USER, `VERIFY ${code}`);
      const approved = await view(id);
      expect(approved).toMatchObject({ status: "approved", verified_number: USER });
      h.clock.advance(1000);
      await message(OTHER, `VERIFY ${code}`);
      expect(await view(id)).toEqual(approved);
    });

    it("garbled codes change nothing", async () => {
      const { id, code } = await start({ to: USER });
      const wrongLast = INBOUND_ALPHABET[(INBOUND_ALPHABET.indexOf(code.at(-1) as string) + 1) % INBOUND_ALPHABET.length];
      for (const text of [`VERIFY ${code.slice(0, 5)}${wrongLast}`, `VERIFY ${code.slice(0, 5)}`, "VERIFY", "hello"]) {
        await message(USER, text);
      }
      expect(await view(id)).toMatchObject({ status: "pending", verified_number: null });
    });

    it("a typed code neither approves nor closes an inbound verification", async () => {
      const { id, code } = await start({ to: USER });
      const res = await h.json("POST", `/v1/verifications/${id}/check`, { code });
      expect(res.body).toMatchObject({ valid: false, status: "pending" });
      expect((await view(id)).status).toBe("pending");
    });

    it("a long-poll returns as soon as the message approves", async () => {
      const { id, code } = await start({ to: USER });
      let settled = false;
      const began = Date.now();
      const polling = h.json<View>("GET", `/v1/verifications/${id}?wait=30`).then((r) => {
        settled = true;
        return r;
      });
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);
      await message(USER, `VERIFY ${code}`);
      const res = await polling;
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: "approved", verified_number: USER });
      expect(Date.now() - began).toBeLessThan(5_000);
    });

    it("rejects a wait beyond 30 s", async () => {
      const { id } = await start();
      expect((await h.call("GET", `/v1/verifications/${id}?wait=31`)).status).toBe(400);
    });
  });

  describe("limits", () => {
    it("one sender approves at most N verifications per window", async () => {
      await boot({ VERIFYD_LIMIT_INBOUND_APPROVALS_PER_SENDER: "2/1h" });
      const started = [await start(), await start(), await start()];
      for (const s of started) await message(USER, `VERIFY ${s.code}`);
      const statuses = await Promise.all(started.map(async (s) => (await view(s.id)).status));
      expect(statuses).toEqual(["approved", "approved", "pending"]);
      await message(OTHER, `VERIFY ${started[2]?.code}`);
      expect(await view(started[2]?.id as string)).toMatchObject({ status: "approved", verified_number: OTHER });
    });

    it("a sender sending unknown codes is cut off", async () => {
      await boot({ VERIFYD_LIMIT_INBOUND_UNKNOWN_PER_SENDER: "2/1h" });
      const { id, code } = await start();
      const other = code.replace(/^./, (ch) => (ch === "A" ? "C" : "A"));
      await message(USER, `VERIFY ${other}`);
      await message(USER, `VERIFY ${other}`);
      await message(USER, `VERIFY ${code}`);
      expect((await view(id)).status).toBe("pending");
      await message(OTHER, `VERIFY ${code}`);
      expect((await view(id)).status).toBe("approved");
    });
  });

  it("without business numbers an inbound start answers 503", async () => {
    await boot({ VERIFYD_INBOUND_NUMBERS: "" });
    const res = await h.json("POST", "/v1/verifications", { channel: "inbound" });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: "channel_unavailable" });
  });
});
