import { afterEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

type Line = {
  msg: string;
  request_id?: string;
  route?: string;
  status?: number;
  duration_ms?: number;
  service?: string;
  to?: string;
};

/** One JSON line per request, with the service and the number masked: never the full number. */
describe("access log", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const requestLines = (harness: Harness) => harness.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === "request");

  it("names the route pattern, status, duration, service and masked number of each request", async () => {
    h = await createHarness();
    const { id, code } = await h.startVerification("+14155550188");
    await h.call("GET", `/v1/verifications/${id}`);
    await h.call("POST", "/v1/verification-checks", { to: "+14155550188", code });
    const lines = requestLines(h);
    expect(lines.map((l) => [l.route, l.status])).toEqual([
      ["/v1/verifications", 201],
      ["/v1/verifications/:id", 200],
      ["/v1/verification-checks", 200],
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({ service: "svc_default", to: "+1415***0188" });
      expect(line.request_id).toMatch(/\S/);
      expect(line.duration_ms).toBeGreaterThanOrEqual(0);
    }
    // One key per meaning: `service` is the service id, `name` says the line is verifyd's.
    for (const raw of h.logs.filter((l) => l.includes('"msg":"request"'))) {
      expect(raw.match(/"service":/g)).toHaveLength(1);
      expect(raw).toContain('"name":"verifyd"');
    }
    for (const raw of h.logs) {
      expect(raw).not.toContain("14155550188");
      expect(raw).not.toContain(code);
    }
  });
});
