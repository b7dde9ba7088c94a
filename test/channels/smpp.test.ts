import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createSmppSender,
  parseReceiptText,
  type SmppConfig,
  type SmppSender,
  smppConfigSchema,
} from "../../src/channels/smpp.js";
import { encodeBody, encodeGsm7, gsm7Septets, isGsm7, relativeValidity } from "../../src/channels/smpp-encoding.js";
import type { InboundMessage, StatusUpdate } from "../../src/core/model.js";
import type { OutboundMessage } from "../../src/core/sender.js";
import { type FakeSmsc, receiptText, SUBMIT_SM, smpp, startFakeSmsc } from "../fakes/smpp-server.js";
import { FakeClock } from "../helpers/clock.js";
import { freePort } from "../helpers/webhook-sink.js";

const ACCOUNT = { systemId: "verifyd", password: "s3cret" };
const never = new AbortController().signal;

describe("GSM-7 detection and septet counting", () => {
  it("counts basic characters as one septet", () => {
    expect(gsm7Septets("Your code is 493817.")).toBe(20);
    expect(gsm7Septets("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ")).toBe(31);
    expect(gsm7Septets("¡ÄÖÑÜ§¿äöñüà¤")).toBe(13);
  });

  it.each(["€", "{", "}", "[", "]", "~", "\\", "^", "|", "\f"])("counts extension character %j as two septets", (char) => {
    expect(gsm7Septets(char)).toBe(2);
    expect(gsm7Septets(`a${char}b`)).toBe(4);
  });

  it.each(["ç", "á", "í", "ó", "ú", "`", "’", "“", "”", "\u00a0", "🔐", "क", "\u001b"])(
    "%j is not GSM-7, so the message goes UCS-2",
    (char) => {
      expect(isGsm7(`Code 493817 ${char}`)).toBe(false);
      expect(encodeBody(`Code 493817 ${char}`).dataCoding).toBe(0x08);
    },
  );

  it("encodes unpacked septets with extension characters escaped", () => {
    expect([...encodeGsm7("A@_§€[")]).toEqual([0x41, 0x00, 0x11, 0x5f, 0x1b, 0x65, 0x1b, 0x3c]);
  });

  it("measures one segment: 160 septets or 70 UTF-16 units", () => {
    expect(encodeBody("a".repeat(160))).toMatchObject({ dataCoding: 0, units: 160, maxUnits: 160 });
    expect(encodeBody("€".repeat(80))).toMatchObject({ dataCoding: 0, units: 160 });
    expect(encodeBody("€".repeat(81)).units).toBe(162);
    expect(encodeBody("क".repeat(70))).toMatchObject({ dataCoding: 8, units: 70, maxUnits: 70 });
    expect(encodeBody("🔐").units).toBe(2); // a surrogate pair
  });

  it("writes relative validity periods, rounded down to whole seconds", () => {
    expect(relativeValidity(5 * 60_000)).toBe("000000000500000R");
    expect(relativeValidity(10 * 60_000 + 30_999)).toBe("000000001030000R");
    expect(relativeValidity((2 * 86_400 + 3 * 3600 + 4 * 60 + 5) * 1000)).toBe("000002030405000R");
  });
});

describe("delivery receipt text", () => {
  it("reads the Appendix B format", () => {
    expect(parseReceiptText(receiptText({ id: "5f3a9c00", stat: "DELIVRD" }))).toEqual({
      id: "5f3a9c00",
      stat: "DELIVRD",
      err: "000",
    });
  });

  it("tolerates other field order, case and spelled-out states", () => {
    expect(parseReceiptText("Stat:delivered ERR:0 Id:AB12 sub:001")).toEqual({ id: "AB12", stat: "DELIVRD", err: "0" });
  });

  it("reports missing fields as null", () => {
    expect(parseReceiptText("hello")).toEqual({ id: null, stat: null, err: null });
  });
});

describe("config", () => {
  it("applies the defaults", () => {
    const config = smppConfigSchema.parse({ host: "smsc.example", systemId: "verifyd", password: "pw", sourceAddr: "Verifyd" });
    expect(config).toMatchObject({
      port: 2775,
      tls: false,
      systemType: "",
      registeredDelivery: 1,
      enquireLinkMs: 30_000,
      reconnectInitialMs: 1000,
      reconnectMaxMs: 30_000,
      timeoutMs: 10_000,
    });
  });

  it("refuses an alphanumeric sender over 11 characters and an over-long password", () => {
    const base = { host: "smsc.example", systemId: "verifyd", password: "pw", sourceAddr: "Verifyd" };
    expect(smppConfigSchema.safeParse({ ...base, sourceAddr: "VerifydCodes" }).success).toBe(false);
    expect(smppConfigSchema.safeParse({ ...base, sourceAddr: "+4915112345678" }).success).toBe(true);
    expect(smppConfigSchema.safeParse({ ...base, password: "123456789" }).success).toBe(false);
  });
});

describe("smpp sender against a fake SMSC", () => {
  const clock = new FakeClock();
  let smsc: FakeSmsc;
  let sender: SmppSender;
  const statuses: StatusUpdate[] = [];
  const inbound: InboundMessage[] = [];
  let onStatus: (update: StatusUpdate) => void | Promise<void>;

  const message = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
    deliveryId: "dlv_0192aaaabbbbccccddddeeeeffff0001",
    verificationId: "ver_0192aaaabbbbccccddddeeeeffff0002",
    to: "+14155550142",
    channel: "sms",
    code: "493817",
    body: "Your verifyd code is 493817.",
    locale: "en",
    expiresAt: clock.now() + 5 * 60_000,
    ...over,
  });

  const makeSender = (over: Partial<SmppConfig> = {}) =>
    createSmppSender(
      smppConfigSchema.parse({
        host: "127.0.0.1",
        port: smsc.port,
        systemId: ACCOUNT.systemId,
        password: ACCOUNT.password,
        sourceAddr: "verifyd",
        enquireLinkMs: 60_000,
        reconnectInitialMs: 10,
        reconnectMaxMs: 40,
        timeoutMs: 1000,
        ...over,
      }),
      {
        clock,
        onStatus: (update) => onStatus(update),
        onInbound: (m) => {
          inbound.push(m);
        },
      },
    );

  /** Resolves with the next status update handed to onStatus. */
  const nextStatus = () =>
    new Promise<StatusUpdate>((resolve) => {
      onStatus = (update) => {
        statuses.push(update);
        resolve(update);
      };
    });

  const onlySubmit = () => {
    expect(smsc.submits).toHaveLength(1);
    const [submit] = smsc.submits;
    if (!submit) throw new Error("no submit_sm");
    return submit;
  };

  beforeEach(async () => {
    statuses.length = 0;
    inbound.length = 0;
    onStatus = (update) => {
      statuses.push(update);
    };
    smsc = await startFakeSmsc(ACCOUNT);
    sender = makeSender();
  });

  afterEach(async () => {
    await sender.close();
    await smsc.close();
  });

  it("binds lazily, once, as a 3.4 transceiver", async () => {
    expect(smsc.binds).toHaveLength(0);
    const results = await Promise.all([sender.send(message(), never), sender.send(message(), never)]);
    expect(results.map((r) => r.kind)).toEqual(["accepted", "accepted"]);
    expect(smsc.binds).toEqual([
      {
        command: "bind_transceiver",
        systemId: "verifyd",
        password: "s3cret",
        systemType: "",
        interfaceVersion: 0x34,
        accepted: true,
      },
    ]);
    expect(smsc.submits).toHaveLength(2);
  });

  it("submits a GSM-7 body with data_coding 0, unpacked septets, addresses and a validity bounded by the expiry", async () => {
    smsc.queueSubmitReply({ messageId: "0a1b2c3d" });
    const result = await sender.send(message({ body: "Code 493817 @ €[x]" }), never);
    expect(result).toEqual({ kind: "accepted", providerMessageId: "0a1b2c3d" });
    const submit = onlySubmit();
    expect(submit).toMatchObject({
      commandId: SUBMIT_SM,
      serviceType: "",
      sourceAddrTon: 5,
      sourceAddrNpi: 0,
      sourceAddr: "verifyd",
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: "14155550142",
      esmClass: 0,
      scheduleDeliveryTime: "",
      validityPeriod: "000000000500000R",
      registeredDelivery: 1,
      dataCoding: 0x00,
    });
    const expected = Buffer.concat([
      Buffer.from("Code 493817 ", "ascii"),
      Buffer.from([0x00, 0x20, 0x1b, 0x65, 0x1b, 0x3c, 0x78, 0x1b, 0x3e]), // "@ €[x]"
    ]);
    expect(submit.shortMessage.equals(expected)).toBe(true);
    expect(submit.tlvs.size).toBe(0);
  });

  it("submits a Hindi body as UCS-2 (UTF-16BE) with data_coding 8", async () => {
    const body = "आपका कोड 493817 है";
    await sender.send(message({ body }), never);
    const submit = onlySubmit();
    expect(submit.dataCoding).toBe(0x08);
    expect([...submit.shortMessage.subarray(0, 4)]).toEqual([0x09, 0x06, 0x09, 0x2a]); // आ प
    expect(submit.shortMessage).toHaveLength(body.length * 2);
    expect(submit.shortMessage.equals(Buffer.from(body, "utf16le").swap16())).toBe(true);
  });

  it("sends an emoji as a UTF-16 surrogate pair", async () => {
    await sender.send(message({ body: "Code 493817 🔐" }), never);
    const submit = onlySubmit();
    expect(submit.dataCoding).toBe(0x08);
    expect([...submit.shortMessage.subarray(-4)]).toEqual([0xd8, 0x3d, 0xdd, 0x10]);
    expect([...submit.shortMessage.subarray(0, 2)]).toEqual([0x00, 0x43]); // "C"
  });

  it("uses TON 1 / NPI 1 without the + for a numeric sender, and honours explicit TON/NPI", async () => {
    const numeric = makeSender({ sourceAddr: "+4915112345678" });
    const shortCode = makeSender({ sourceAddr: "72345", sourceAddrTon: 3, sourceAddrNpi: 0 });
    try {
      await numeric.send(message(), never);
      await shortCode.send(message(), never);
    } finally {
      await numeric.close();
      await shortCode.close();
    }
    expect(smsc.submits.map((s) => [s.sourceAddr, s.sourceAddrTon, s.sourceAddrNpi])).toEqual([
      ["4915112345678", 1, 1],
      ["72345", 3, 0],
    ]);
  });

  it("bounds the validity period by the code's remaining lifetime", async () => {
    await sender.send(message({ expiresAt: clock.now() + 10 * 60_000 + 30_400 }), never);
    expect(onlySubmit().validityPeriod).toBe("000000001030000R");
  });

  it.each([
    [smpp.errors.ESME_RTHROTTLED, "retry", "0x00000058", "ESME_RTHROTTLED"],
    [smpp.errors.ESME_RMSGQFUL, "retry", "0x00000014", "ESME_RMSGQFUL"],
    [smpp.errors.ESME_RSYSERR, "retry", "0x00000008", "ESME_RSYSERR"],
    [smpp.errors.ESME_RSUBMITFAIL, "retry", "0x00000045", "ESME_RSUBMITFAIL"],
    [smpp.errors.ESME_RX_T_APPN, "retry", "0x00000064", "ESME_RX_T_APPN"],
    [smpp.errors.ESME_RUNKNOWNERR, "retry", "0x000000FF", "ESME_RUNKNOWNERR"],
    [smpp.errors.ESME_RINVDSTADR, "rejected", "0x0000000B", "ESME_RINVDSTADR"],
    [smpp.errors.ESME_RINVEXPIRY, "rejected", "0x00000062", "ESME_RINVEXPIRY"],
    [smpp.errors.ESME_RX_P_APPN, "rejected", "0x00000065", "ESME_RX_P_APPN"],
    [smpp.errors.ESME_RX_R_APPN, "rejected", "0x00000066", "ESME_RX_R_APPN"],
    [smpp.errors.ESME_RINVSRCADR, "misconfigured", "0x0000000A", "ESME_RINVSRCADR"],
    [smpp.errors.ESME_RINVBNDSTS, "misconfigured", "0x00000004", "ESME_RINVBNDSTS"],
    [smpp.errors.ESME_RALYBND, "misconfigured", "0x00000005", "ESME_RALYBND"],
    [smpp.errors.ESME_RINVSRCTON, "misconfigured", "0x00000048", "ESME_RINVSRCTON"],
  ])("submit_sm_resp status %i is %s", async (status, kind, code, name) => {
    smsc.queueSubmitReply({ status });
    expect(await sender.send(message(), never)).toEqual({ kind, error: { code, message: name } });
  });

  it("keeps the session after an error status", async () => {
    smsc.queueSubmitReply({ status: smpp.errors.ESME_RTHROTTLED });
    await sender.send(message(), never);
    expect(await sender.send(message(), never)).toMatchObject({ kind: "accepted" });
    expect(smsc.binds).toHaveLength(1);
  });

  it("no submit_sm_resp within timeoutMs is a retry with code timeout", async () => {
    const quick = makeSender({ timeoutMs: 150 });
    smsc.queueSubmitReply({ silent: true });
    try {
      expect(await quick.send(message(), never)).toMatchObject({ kind: "retry", error: { code: "timeout" } });
      expect(smsc.submits).toHaveLength(1);
    } finally {
      await quick.close();
    }
  });

  it("a wrong password is misconfigured, and binds are only retried after the backoff delay", async () => {
    const wrong = makeSender({ password: "nope", reconnectInitialMs: 60_000, reconnectMaxMs: 60_000 });
    try {
      expect(await wrong.send(message(), never)).toEqual({
        kind: "misconfigured",
        error: { code: "0x0000000E", message: "ESME_RINVPASWD" },
      });
      expect(await wrong.send(message(), never)).toMatchObject({ kind: "misconfigured", error: { code: "0x0000000E" } });
      expect(smsc.binds.map((b) => [b.password, b.accepted])).toEqual([["nope", false]]);
      // Once the backoff delay (at most reconnectInitialMs for the first failure) has passed, a send binds again.
      clock.advance(60_000);
      expect(await wrong.send(message(), never)).toMatchObject({ kind: "misconfigured" });
      expect(smsc.binds).toHaveLength(2);
      expect(smsc.submits).toHaveLength(0);
    } finally {
      await wrong.close();
    }
  });

  it("a wrong system id is misconfigured", async () => {
    const wrong = makeSender({ systemId: "someone" });
    try {
      expect(await wrong.send(message(), never)).toMatchObject({ kind: "misconfigured", error: { code: "0x0000000F" } });
    } finally {
      await wrong.close();
    }
  });

  it("nothing listening is a retry with code connection_failed", async () => {
    const dead = makeSender({ port: await freePort() });
    try {
      expect(await dead.send(message(), never)).toMatchObject({ kind: "retry", error: { code: "connection_failed" } });
    } finally {
      await dead.close();
    }
  });

  it("parses a delivered receipt pushed by the SMSC and answers it with deliver_sm_resp 0", async () => {
    smsc.queueSubmitReply({ messageId: "5f3a9c01" });
    await sender.send(message(), never);
    const status = nextStatus();
    const respStatus = await smsc.deliverSm({
      esmClass: 0x04,
      shortMessage: Buffer.from(receiptText({ id: "5f3a9c01", stat: "DELIVRD", text: "Your verifyd code is" }), "ascii"),
    });
    expect(await status).toEqual({ providerMessageId: "5f3a9c01", status: "delivered" });
    expect(respStatus).toBe(0);
  });

  it.each([
    ["UNDELIV", { status: "undelivered", permanent: true }],
    ["REJECTD", { status: "failed", permanent: true }],
    ["EXPIRED", { status: "undelivered", permanent: false }],
    ["DELETED", { status: "failed", permanent: false }],
    ["UNKNOWN", { status: "failed", permanent: false }],
    ["ENROUTE", { status: "sent" }],
  ])("a %s receipt becomes %o", async (stat, expected) => {
    await sender.send(message(), never);
    const status = nextStatus();
    await smsc.deliverSm({ esmClass: 0x04, shortMessage: Buffer.from(receiptText({ id: "abc123", stat, err: "027" })) });
    const update = await status;
    expect(update).toMatchObject({ providerMessageId: "abc123", ...expected });
    if (expected.status === "sent") expect(update).not.toHaveProperty("errorCode");
    else expect(update).toMatchObject({ errorCode: "027", errorMessage: stat });
  });

  it("prefers the receipted_message_id, message_state and network_error_code TLVs over the text", async () => {
    await sender.send(message(), never);
    const status = nextStatus();
    await smsc.deliverSm({
      esmClass: 0x04,
      shortMessage: Buffer.from(receiptText({ id: "stale", stat: "DELIVRD" })),
      receiptedMessageId: "tlv-id-7",
      messageState: 5, // UNDELIVERABLE
      networkErrorCode: Buffer.from([0x03, 0x00, 0x1b]), // GSM, error 27
    });
    expect(await status).toEqual({
      providerMessageId: "tlv-id-7",
      status: "undelivered",
      permanent: true,
      errorCode: "3:27",
      errorMessage: "UNDELIV",
    });
  });

  it("reports a receipt quoting the id in decimal under the hex id submit_sm_resp gave", async () => {
    smsc.queueSubmitReply({ messageId: "0A1B" });
    await sender.send(message(), never);
    const status = nextStatus();
    await smsc.deliverSm({ esmClass: 0x04, shortMessage: Buffer.from(receiptText({ id: "2587", stat: "DELIVRD" })) });
    expect(await status).toMatchObject({ providerMessageId: "0A1B", status: "delivered" });
  });

  it("reads receipt ids as the ASCII bytes sent, not as GSM 03.38", async () => {
    await sender.send(message(), never);
    const status = nextStatus();
    await smsc.deliverSm({
      esmClass: 0x04,
      dataCoding: 0,
      shortMessage: Buffer.from(receiptText({ id: "msg_42$@", stat: "DELIVRD" })),
    });
    expect(await status).toMatchObject({ providerMessageId: "msg_42$@", status: "delivered" });
  });

  it("answers ESME_RX_T_APPN when onStatus fails, so the SMSC delivers the receipt again", async () => {
    await sender.send(message(), never);
    onStatus = () => Promise.reject(new Error("database down"));
    const respStatus = await smsc.deliverSm({
      esmClass: 0x04,
      shortMessage: Buffer.from(receiptText({ id: "x1", stat: "DELIVRD" })),
    });
    expect(respStatus).toBe(smpp.errors.ESME_RX_T_APPN);
  });

  it("answers and drops a receipt it cannot read", async () => {
    await sender.send(message(), never);
    expect(await smsc.deliverSm({ esmClass: 0x04, shortMessage: Buffer.from("garbage") })).toBe(0);
    expect(statuses).toHaveLength(0);
  });

  it("hands a mobile-originated message to onInbound", async () => {
    await sender.send(message(), never);
    const respStatus = await smsc.deliverSm({
      esmClass: 0x00,
      sourceAddr: "4915112345678",
      sourceAddrTon: 1,
      destinationAddr: "72345",
      dataCoding: 0x08,
      shortMessage: Buffer.from("STOP ✋", "utf16le").swap16(),
    });
    expect(respStatus).toBe(0);
    expect(inbound).toEqual([
      { providerMessageId: expect.any(String), channel: "sms", from: "+4915112345678", to: "72345", text: "STOP ✋" },
    ]);
    expect(statuses).toHaveLength(0);
  });

  it("answers the SMSC's enquire_link", async () => {
    await sender.send(message(), never);
    expect(await smsc.enquireLink()).toEqual({ command: "enquire_link_resp", status: 0 });
  });

  it("sends enquire_link every enquireLinkMs", async () => {
    const chatty = makeSender({ enquireLinkMs: 20 });
    try {
      await chatty.send(message(), never);
      await smsc.next("enquire_link");
      await smsc.next("enquire_link");
      expect(smsc.enquireLinks).toBeGreaterThanOrEqual(2);
      expect(smsc.binds).toHaveLength(1);
    } finally {
      await chatty.close();
    }
  });

  it("reconnects when enquire_link goes unanswered", async () => {
    const chatty = makeSender({ enquireLinkMs: 20, timeoutMs: 100 });
    try {
      await chatty.send(message(), never);
      smsc.ignoreEnquireLink();
      await smsc.next("bind");
      expect(smsc.binds).toHaveLength(2);
    } finally {
      await chatty.close();
    }
  });

  it("an in-flight send on a dropped connection is a retry (connection_lost); the next send reconnects and succeeds", async () => {
    smsc.queueSubmitReply({ drop: true });
    expect(await sender.send(message(), never)).toMatchObject({ kind: "retry", error: { code: "connection_lost" } });
    smsc.queueSubmitReply({ messageId: "after-reconnect" });
    expect(await sender.send(message(), never)).toEqual({ kind: "accepted", providerMessageId: "after-reconnect" });
    expect(smsc.binds.map((b) => b.accepted)).toEqual([true, true]);
    expect(smsc.submits).toHaveLength(2);
  });

  it("rebinds by itself after the SMSC drops an idle connection, so receipts keep flowing", async () => {
    await sender.send(message(), never);
    const rebound = smsc.next("bind");
    smsc.dropConnections();
    await rebound;
    const status = nextStatus();
    await smsc.deliverSm({ esmClass: 0x04, shortMessage: Buffer.from(receiptText({ id: "r1", stat: "DELIVRD" })) });
    expect(await status).toMatchObject({ providerMessageId: "r1", status: "delivered" });
  });

  it("close() unbinds; later sends are retries with code closed", async () => {
    await sender.send(message(), never);
    await sender.close();
    expect(smsc.unbinds).toBe(1);
    expect(await sender.send(message(), never)).toMatchObject({ kind: "retry", error: { code: "closed" } });
    expect(smsc.submits).toHaveLength(1);
  });

  it("refuses a body longer than one segment with code too_long, without connecting", async () => {
    expect(await sender.send(message({ body: "a".repeat(161) }), never)).toMatchObject({
      kind: "rejected",
      error: { code: "too_long" },
    });
    expect(await sender.send(message({ body: "क".repeat(71) }), never)).toMatchObject({
      kind: "rejected",
      error: { code: "too_long" },
    });
    expect(await sender.send(message({ body: `${"a".repeat(159)}€` }), never)).toMatchObject({ kind: "rejected" });
    expect(smsc.binds).toHaveLength(0);
  });

  it("does not send a code that has expired", async () => {
    expect(await sender.send(message({ expiresAt: clock.now() + 500 }), never)).toMatchObject({
      kind: "rejected",
      error: { code: "expired" },
    });
    expect(smsc.binds).toHaveLength(0);
  });

  it("an already aborted signal (shutdown) is a retry and sends nothing", async () => {
    expect(await sender.send(message(), AbortSignal.abort())).toMatchObject({ kind: "retry", error: { code: "aborted" } });
    expect(smsc.binds).toHaveLength(0);
  });

  it("never puts the code or the body into error messages", async () => {
    smsc.queueSubmitReply({ status: smpp.errors.ESME_RINVDSTADR });
    const rejected = await sender.send(message(), never);
    const tooLong = await sender.send(message({ body: `493817 ${"a".repeat(160)}` }), never);
    for (const result of [rejected, tooLong]) {
      expect(result.kind !== "accepted" && result.error.message).not.toContain("493817");
    }
  });
});
