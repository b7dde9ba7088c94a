import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { callProvider, type ProviderResponse } from "../../src/channels/http-client.js";

/**
 * The HTTP client every provider adapter and the events worker use, against a local server that
 * answers however a test asks: what comes back as an answer, and what as `unreachable` with which code.
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const never = new AbortController().signal;

describe("callProvider", () => {
  let server: http.Server;
  let url: string;
  let handler: Handler;
  const received: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  /** Resolves with each request as the server sees it, before it answers. */
  let arrived: Promise<void>;
  let signalArrival: () => void;

  beforeEach(async () => {
    received.length = 0;
    arrived = new Promise((resolve) => {
      signalArrival = resolve;
    });
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        received.push({ method: req.method, url: req.url, headers: req.headers, body });
        signalArrival();
        handler(req, res, body);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const answered = (r: ProviderResponse) => {
    if (r.kind !== "response") throw new Error(`expected an answer, got ${JSON.stringify(r)}`);
    return r;
  };

  it("sends an object as JSON and reads the answer's status, headers, text and JSON", async () => {
    handler = (_req, res) => {
      res.setHeader("X-Message-Id", "m-1");
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.writeHead(201, { "content-type": "application/json" });
      res.end('{"sid":"SM1"}');
    };
    const r = answered(await callProvider({ url, body: { to: "+14155550142" }, timeoutMs: 5_000, signal: never }));
    expect(r).toMatchObject({ ok: true, status: 201, text: '{"sid":"SM1"}', json: { sid: "SM1" } });
    expect(r.headers.get("x-message-id")).toBe("m-1");
    expect(r.headers.get("X-MESSAGE-ID")).toBe("m-1");
    expect(r.headers.get("set-cookie")).toBe("a=1, b=2");
    expect(r.headers.get("retry-after")).toBeNull();
    expect(received[0]).toMatchObject({ method: "POST", url: "/hook", body: '{"to":"+14155550142"}' });
    expect(received[0]?.headers).toMatchObject({ "content-type": "application/json", "user-agent": "verifyd" });
  });

  it("sends a form, a raw string, and a GET without a body; a caller's headers replace the defaults", async () => {
    handler = (_req, res) => res.end();
    await callProvider({ url, body: new URLSearchParams({ To: "+1 415", Body: "é" }), timeoutMs: 5_000, signal: never });
    await callProvider({
      url,
      body: { a: 1 },
      headers: { "Content-Type": "application/vnd.api+json", "User-Agent": "custom" },
      timeoutMs: 5_000,
      signal: never,
    });
    await callProvider({ url, body: "exact text", headers: { "content-type": "text/plain" }, timeoutMs: 5_000, signal: never });
    await callProvider({ url, timeoutMs: 5_000, signal: never });
    expect(received.map((r) => [r.method, r.headers["content-type"], r.body])).toEqual([
      ["POST", "application/x-www-form-urlencoded", "To=%2B1+415&Body=%C3%A9"],
      ["POST", "application/vnd.api+json", '{"a":1}'],
      ["POST", "text/plain", "exact text"],
      ["GET", undefined, ""],
    ]);
    expect(received[0]?.headers["content-length"]).toBe(String(Buffer.byteLength("To=%2B1+415&Body=%C3%A9")));
    // A caller's header replaces the default whatever its case: one value each, not two.
    expect(received[1]?.headers["user-agent"]).toBe("custom");
  });

  it("gives an error status as an answer, with Retry-After readable, and malformed JSON as no JSON", async () => {
    handler = (_req, res) => {
      res.writeHead(429, { "retry-after": "7" });
      res.end("{not json");
    };
    const r = answered(await callProvider({ url, body: "x", timeoutMs: 5_000, signal: never }));
    expect(r).toMatchObject({ ok: false, status: 429, text: "{not json", json: undefined });
    expect(r.headers.get("Retry-After")).toBe("7");
  });

  it("does not follow a redirect: a 3xx is the answer", async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: "/elsewhere" });
      res.end();
    };
    const r = answered(await callProvider({ url, body: "x", timeoutMs: 5_000, signal: never }));
    expect(r).toMatchObject({ ok: false, status: 302 });
    expect(r.headers.get("location")).toBe("/elsewhere");
    expect(received).toHaveLength(1);
  });

  it("reports a server that never answers as a timeout", async () => {
    handler = () => {}; // holds the request open
    const r = await callProvider({ url, body: "x", timeoutMs: 50, signal: never });
    expect(r).toMatchObject({ kind: "unreachable", error: { code: "timeout" } });
  });

  it("reports a connection reset before any answer as a network error", async () => {
    handler = (req) => req.socket.destroy();
    const r = await callProvider({ url, body: "x", timeoutMs: 5_000, signal: never });
    expect(r).toMatchObject({ kind: "unreachable", error: { code: "network_error" } });
  });

  it("reports a refused connection as a network error", async () => {
    const closed = url;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    server.listen(0, "127.0.0.1"); // so afterEach has a server to close
    await once(server, "listening");
    const r = await callProvider({ url: closed, body: "x", timeoutMs: 5_000, signal: never });
    expect(r).toMatchObject({ kind: "unreachable", error: { code: "network_error" } });
  });

  it("reports a caller's abort as aborted, before or during the call", async () => {
    const before = new AbortController();
    before.abort();
    expect(await callProvider({ url, body: "x", timeoutMs: 5_000, signal: before.signal })).toMatchObject({
      kind: "unreachable",
      error: { code: "aborted" },
    });
    expect(received).toHaveLength(0);

    handler = () => {};
    const during = new AbortController();
    const call = callProvider({ url, body: "x", timeoutMs: 5_000, signal: during.signal });
    await arrived;
    during.abort();
    expect(await call).toMatchObject({ kind: "unreachable", error: { code: "aborted" } });
  });

  it("gives an answer whose body is cut off (reset or timeout) with the empty text", async () => {
    handler = (req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      if (received.length === 1) setImmediate(() => req.socket.destroy());
    };
    const reset = answered(await callProvider({ url, body: "x", timeoutMs: 5_000, signal: never }));
    expect(reset).toMatchObject({ status: 200, text: "", json: undefined });
    const slow = answered(await callProvider({ url, body: "x", timeoutMs: 50, signal: never }));
    expect(slow).toMatchObject({ status: 200, text: "", json: undefined });
  });

  it("gives an unusable URL or header value as a network error without sending", async () => {
    const bad = await callProvider({ url: "not a url", timeoutMs: 5_000, signal: never });
    expect(bad).toMatchObject({ kind: "unreachable", error: { code: "network_error" } });
    const header = await callProvider({ url, headers: { "x-bad": "a\nb" }, timeoutMs: 5_000, signal: never });
    expect(header).toMatchObject({ kind: "unreachable", error: { code: "network_error" } });
    expect(received).toHaveLength(0);
  });

  it("lets many calls share one signal without leaking its listeners", async () => {
    handler = (_req, res) => res.end("ok");
    const shared = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, () => callProvider({ url, body: "x", timeoutMs: 5_000, signal: shared.signal })),
      );
      expect(results.every((r) => r.kind === "response" && r.text === "ok")).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.map((w) => w.name)).not.toContain("MaxListenersExceededWarning");
    // Finished calls no longer listen: aborting now changes nothing and throws nothing.
    shared.abort();
  });
});
