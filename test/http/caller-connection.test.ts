import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import type { Context } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { connectionOf } from "../../src/http/admission.js";

/**
 * Whether a start's caller is still there, as the start asks it (`connectionOf`), over a real
 * socket: Node reads a hang-up in the event loop's poll phase but tells the response (its
 * `destroyed`, its `close` event) only in the loop's last phase, after the group commit has run.
 * The checks below run at the moment Node has read the hang-up, before it told the response.
 */

interface Held {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
  aborted: () => boolean;
}

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A server that holds its first request unanswered (body read); resolves to it and the port. */
async function holdFirstRequest(): Promise<{ port: number; held: Promise<Held> }> {
  let hold: (h: Held) => void = () => {};
  const held = new Promise<Held>((resolve) => {
    hold = resolve;
  });
  server = http.createServer((incoming, outgoing) => {
    incoming.resume();
    incoming.on("end", () => {
      const caller = connectionOf({ env: { incoming, outgoing } } as unknown as Context);
      hold({ incoming, outgoing, aborted: () => caller.aborted });
    });
  });
  const listening = server;
  await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
  return { port: (listening.address() as AddressInfo).port, held };
}

const START = "POST /v1/verifications HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}";

function connectAndSend(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(START);
      resolve(socket);
    });
    socket.on("error", () => {}); // the hang-up is ours
  });
}

describe("a start's caller, as its connection says", () => {
  it("is there while the connection is open and the answer not out", async () => {
    const { port, held } = await holdFirstRequest();
    const socket = await connectAndSend(port);
    const h = await held;
    expect(h.aborted()).toBe(false);
    h.outgoing.end("ok");
    await new Promise((resolve) => h.outgoing.once("finish", resolve));
    socket.destroy();
    await new Promise((resolve) => h.incoming.socket.once("close", resolve));
    // Answered before the hang-up: the caller did not leave before its answer was out.
    expect(h.aborted()).toBe(false);
  });

  it("is gone once the server has read the caller's FIN, before the response is told", async () => {
    const { port, held } = await holdFirstRequest();
    const socket = await connectAndSend(port);
    const h = await held;
    const seen = new Promise<{ aborted: boolean; responseDestroyed: boolean }>((resolve) =>
      h.incoming.socket.prependListener("end", () => resolve({ aborted: h.aborted(), responseDestroyed: h.outgoing.destroyed })),
    );
    socket.end();
    const at = await seen;
    expect(at.responseDestroyed).toBe(false);
    expect(at.aborted).toBe(true);
  });

  it("is gone once the server's socket is closed, before the response's close event", async () => {
    const { port, held } = await holdFirstRequest();
    const socket = await connectAndSend(port);
    const h = await held;
    const seen = new Promise<{ aborted: boolean; responseDestroyed: boolean }>((resolve) =>
      h.incoming.socket.prependListener("close", () =>
        resolve({ aborted: h.aborted(), responseDestroyed: h.outgoing.destroyed }),
      ),
    );
    socket.resetAndDestroy();
    const at = await seen;
    expect(at.responseDestroyed).toBe(false);
    expect(at.aborted).toBe(true);
  });
});
