import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, transcript } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";

/** These tests read the SQLite file itself; the store contract holds PostgreSQL to the same. */
const sqliteFileOnly = onSharedBackends();

/**
 * Drives every endpoint, then proves no code that was sent appears in any response body, any log
 * line, or the database file. Ten-digit codes make a chance match with ids or times negligible.
 */
describe("codes stay secret", () => {
  let h: Harness;
  let dbFile: string;
  beforeAll(async () => {
    h = await createHarness({ VERIFYD_CODE_LENGTH: "10", VERIFYD_RESEND_POLICY: "new" });
    dbFile = h.dbPath;
    const to = "+14155550190";
    const { id, code } = await h.startVerification(to, { client_ip: "203.0.113.1" });
    await h.call("GET", `/v1/verifications/${id}`);
    await h.call("POST", `/v1/verifications/${id}/check`, { code: "0000000000" });
    h.clock.advance(30_000);
    await h.call("POST", `/v1/verifications/${id}/resend`, { client_ip: "203.0.113.1" });
    await h.call("POST", `/v1/verifications/${id}/check`, { code }); // the rotated-out code: wrong now
    await h.call("POST", "/v1/verification-checks", { to, code: h.sender.lastCode() });
    await h.call("POST", `/v1/verifications/${id}/check`, { code: h.sender.lastCode() }); // already approved
    const second = await h.startVerification("+14155550191", {});
    await h.call("POST", "/v1/verifications", { to: "+14155550191", code: second.code }); // rejected body echoing a code
    await h.call("POST", `/v1/verifications/${second.id}/cancel`);
    await h.call("POST", "/v1/verifications", { to: "+14155550192" }, { "idempotency-key": "k" });
    await h.call("POST", "/v1/verifications", { to: "+14155550192" }, { "idempotency-key": "k" });
  });
  afterAll(async () => h.close());

  it("sent codes through the channel (the test would prove nothing otherwise)", () => {
    expect(transcript.codes.size).toBeGreaterThanOrEqual(4);
    expect(transcript.bodies.length).toBeGreaterThan(10);
    expect(transcript.logs.length).toBeGreaterThan(10);
  });

  it("never returns a code in a response body", () => {
    for (const code of transcript.codes) for (const body of transcript.bodies) expect(body).not.toContain(code);
  });

  it("never writes a code to the log", () => {
    for (const code of transcript.codes) for (const line of transcript.logs) expect(line).not.toContain(code);
  });

  it.skipIf(sqliteFileOnly)("never stores a code in clear", () => {
    const files = [dbFile, `${dbFile}-wal`].filter(Boolean);
    expect(files.length).toBeGreaterThan(0);
    const bytes = files.map((f) => {
      try {
        return readFileSync(f).toString("latin1");
      } catch {
        return "";
      }
    });
    expect(bytes.join("").length).toBeGreaterThan(0);
    for (const code of transcript.codes) for (const content of bytes) expect(content).not.toContain(code);
  });
});
