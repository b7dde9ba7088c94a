import type { AddressInfo } from "node:net";
import { connect, createServer, type Server } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { VerifydClient, VerifydError, VerifydNetworkError } from "@verifyd/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";

const TO = "+14155550100";

const listen = (server: Server | ServerType) =>
  new Promise<number>((resolve) => {
    if (server.listening) resolve((server.address() as AddressInfo).port);
    else server.once("listening", () => resolve((server.address() as AddressInfo).port));
  });

/** A TCP proxy that passes the first connection's request on but drops its answer (a lost response). */
async function droppingProxy(upstreamPort: number) {
  let connections = 0;
  const server = createServer((socket) => {
    const first = connections++ === 0;
    const upstream = connect(upstreamPort, "127.0.0.1");
    socket.pipe(upstream);
    upstream.on("data", (chunk) => (first ? socket.destroy() : socket.write(chunk)));
    upstream.on("end", () => socket.end());
    socket.on("error", () => upstream.destroy());
    socket.on("close", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  });
  server.listen(0, "127.0.0.1");
  return { port: await listen(server), connections: () => connections, close: () => server.close() };
}

describe("the typed client against a running server", () => {
  let h: Harness;
  let server: ServerType;
  let base: string;
  let port: number;

  beforeEach(async () => {
    h = await createHarness();
    server = serve({ fetch: h.runtime.app.fetch, port: 0, hostname: "127.0.0.1" });
    port = await listen(server);
    base = `http://127.0.0.1:${port}`;
  });
  afterEach(async () => {
    server.close();
    await h.close();
  });

  it("starts, refuses a wrong code, approves the right one, reads and cancels", async () => {
    const client = new VerifydClient({ baseUrl: base, apiKey: ADMIN_KEY });
    const started = await client.start({ to: TO });
    expect(started).toMatchObject({ to: TO, status: "pending", attempts_remaining: 5 });
    const code = h.sender.lastCode(TO);

    const wrong = await client.check({ id: started.id, code: code === "000000" ? "111111" : "000000" });
    expect(wrong).toMatchObject({ valid: false, reason: "wrong_code", attempts_remaining: 4 });
    const right = await client.check({ to: TO, code });
    expect(right).toMatchObject({ valid: true, status: "approved", verification_id: started.id });
    const read = await client.get(started.id);
    expect(read.status).toBe("approved");
    expect(read.deliveries?.[0]?.status).toBe("accepted");

    const other = await client.start({ to: "+14155550101" });
    expect((await client.cancel(other.id)).status).toBe("canceled");
    const refused = await client.cancel(other.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(VerifydError);
    expect(refused).toMatchObject({ code: "verification_closed", status: 409 });
  });

  it("maps problem documents to typed errors", async () => {
    const client = new VerifydClient({ baseUrl: base, apiKey: ADMIN_KEY });
    const invalid = await client.start({ to: "not a number" }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(VerifydError);
    expect(invalid).toMatchObject({ code: "invalid_phone_number", status: 400 });
    expect((invalid as VerifydError).errors?.[0]?.pointer).toBe("/to");
    const missing = await client.get("ver_unknown").catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "verification_not_found", status: 404 });
    const unauthorized = await new VerifydClient({ baseUrl: base, apiKey: "wrong" }).get("x").catch((e: unknown) => e);
    expect(unauthorized).toMatchObject({ code: "unauthorized", status: 401 });
  });

  it("retries a lost answer with the same Idempotency-Key: one verification, one code sent", async () => {
    const proxy = await droppingProxy(port);
    try {
      const client = new VerifydClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, apiKey: ADMIN_KEY, retries: 2 });
      const started = await client.start({ to: TO });
      expect(proxy.connections()).toBe(2);
      expect(h.sender.messages).toHaveLength(1);
      const read = await client.get(started.id);
      expect(read.send_attempts).toBe(1);

      const code = h.sender.lastCode(TO);
      const wrong = await client.check({ id: started.id, code: code === "000000" ? "111111" : "000000" });
      expect(wrong.attempts_remaining).toBe(4);
    } finally {
      proxy.close();
    }
  });

  it("does not retry a channel the route does not carry: one request, channel_not_in_route", async () => {
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const client = new VerifydClient({ baseUrl: base, apiKey: ADMIN_KEY, retries: 2, fetch: counting });
    const refused = await client.start({ to: TO, channels: ["whatsapp"] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(VerifydError);
    expect(refused).toMatchObject({ code: "channel_not_in_route", status: 422 });
    expect(requests).toBe(1);
    expect(h.sender.messages).toHaveLength(0);
  });

  it("gives up with a network error when nothing answers", async () => {
    const proxy = await droppingProxy(port);
    proxy.close();
    server.close();
    const client = new VerifydClient({ baseUrl: base, apiKey: ADMIN_KEY, retries: 1 });
    await expect(client.get("ver_x")).rejects.toBeInstanceOf(VerifydNetworkError);
  });
});
