import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { afterEach, describe, expect, it } from "vitest";
import { serviceSid } from "../../src/http/twilio/sids.js";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";
import { ACCOUNT_SID } from "../helpers/twilio-sdk.js";
import { until } from "../helpers/waiting.js";

type Line = { level: number; msg: string; method?: string; status?: number };

const BEARER = { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" };
const BASIC = {
  authorization: `Basic ${Buffer.from(`${ACCOUNT_SID}:${ADMIN_KEY}`).toString("base64")}`,
  "content-type": "application/x-www-form-urlencoded",
};

/**
 * A client that hangs up in the middle of its request body has not met a server fault: the request
 * is logged and measured as 499 (nginx's "client closed request"), never as a 500 with an
 * error-level "unhandled error" that would page an operator.
 */
describe("a client that aborts in the middle of the body", () => {
  let h: Harness | undefined;
  let server: ServerType | undefined;
  afterEach(async () => {
    server?.close();
    await h?.close();
    h = server = undefined;
  });

  /** Serves a harness on a real socket; `inApp` resolves once the app has the request in hand. */
  async function start() {
    const harness = await createHarness();
    h = harness;
    let arrived!: () => void;
    const inApp = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const s = serve({
      fetch: (req, env) => {
        arrived();
        return harness.runtime.app.fetch(req, env);
      },
      port: 0,
      hostname: "127.0.0.1",
    });
    server = s;
    await new Promise<void>((resolve) => (s.listening ? resolve() : s.once("listening", () => resolve())));
    return { harness, port: (s.address() as AddressInfo).port, inApp };
  }

  /**
   * Sends the headers and the first part of the body (chunked, or short of its Content-Length),
   * waits until the app is handling the request, then drops the connection.
   */
  async function abortMidBody(
    server: { port: number; inApp: Promise<void> },
    path: string,
    headers: Record<string, string>,
    part: string,
    framing: "chunked" | "content-length",
  ) {
    const socket = connect(server.port, "127.0.0.1");
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const length = Buffer.byteLength(part);
    const framed =
      framing === "chunked"
        ? { head: { "transfer-encoding": "chunked" }, body: `${length.toString(16)}\r\n${part}\r\n` }
        : { head: { "content-length": String(length + 100) }, body: part };
    const head = Object.entries({ host: "127.0.0.1", ...framed.head, ...headers })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n${framed.body}`);
    await server.inApp;
    socket.destroy();
  }

  const lines = (harness: Harness) => harness.logs.map((l) => JSON.parse(l) as Line);

  /** The sum of the request-duration counts of POST requests that ended with `status`. */
  async function postCount(harness: Harness, status: number) {
    const text = await (await harness.runtime.app.request("/metrics")).text();
    return text
      .split("\n")
      .filter((l) => l.startsWith("verifyd_http_request_duration_seconds_count{"))
      .filter((l) => l.includes('method="POST"') && l.includes(`status="${status}"`))
      .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
  }

  it.each([
    ["a chunked JSON start", "/v1/verifications", BEARER, '{"to":"+1415', "chunked"],
    ["a JSON start short of its Content-Length", "/v1/verifications", BEARER, '{"to":"+1415', "content-length"],
    ["a chunked Twilio start", `/twilio/v2/Services/${serviceSid("svc_default")}/Verifications`, BASIC, "To=%2B1415", "chunked"],
    [
      "a Twilio start short of its Content-Length",
      `/twilio/v2/Services/${serviceSid("svc_default")}/Verifications`,
      BASIC,
      "To=%2B1415",
      "content-length",
    ],
  ] as const)(
    "logs and counts %s as 499 at info level",
    async (_name, path, headers, part, framing) => {
      const running = await start();
      const { harness } = running;
      await abortMidBody(running, path, headers, part, framing);
      // Generous: the server notices the closed socket whenever the machine gets to it.
      const line = await until(
        "the access-log line of the aborted request",
        () => lines(harness).find((l) => l.msg === "request" && l.method === "POST"),
        600,
      );
      expect(line.status).toBe(499);
      expect(lines(harness).filter((l) => l.msg === "unhandled error" || l.level >= 40)).toEqual([]);
      expect(lines(harness).filter((l) => l.msg === "client closed the connection before its request was read")).toEqual([
        expect.objectContaining({ level: 30 }),
      ]);
      expect(await postCount(harness, 499)).toBe(1);
      expect(await postCount(harness, 500)).toBe(0);
      expect(await postCount(harness, 400)).toBe(0);
    },
    90_000,
  );
});
