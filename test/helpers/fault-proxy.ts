import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP proxy in front of a fake provider that answers each request with a chosen fault.
 * Faults that refuse before forwarding (`error500`, `rate429`, `reset`) never reach the provider;
 * `malformed` and `slow` forward first and then spoil the answer, so the provider did accept the
 * message although the caller cannot know it (the at-least-once case).
 */
export type Fault = "pass" | "error500" | "rate429" | "reset" | "malformed" | "slow";

export interface ProxiedRequest {
  fault: Fault;
  /** The decoded form (or JSON) body the caller sent. */
  form: Record<string, string>;
  /** Whether the request reached the provider. */
  forwarded: boolean;
  /** Whether the caller got the provider's own 2xx answer, unspoiled. */
  acknowledged: boolean;
  /** Whether the caller got a 2xx status at all (unspoiled, or with a spoiled body). */
  answered2xx: boolean;
}

export interface FaultProxy {
  baseUrl: string;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  target: string;
  /** Picks the fault for the next request. */
  choose: (form: Record<string, string>) => Fault;
  /** How long a `slow` answer is held back; longer than the caller's timeout. */
  slowMs: number;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function decode(body: string, type: string | undefined): Record<string, string> {
  if (type?.includes("json")) {
    try {
      return JSON.parse(body) as Record<string, string>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(body));
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const requests: ProxiedRequest[] = [];

  async function forward(req: IncomingMessage, body: string) {
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === "string" && e[0] !== "host"),
    );
    const res = await fetch(`${options.target}${req.url ?? "/"}`, { method: req.method, headers, body: body || undefined });
    return { status: res.status, type: res.headers.get("content-type") ?? "application/json", text: await res.text() };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const body = await readBody(req);
    const form = decode(body, req.headers["content-type"]);
    const fault = options.choose(form);
    const record: ProxiedRequest = { fault, form, forwarded: false, acknowledged: false, answered2xx: false };
    requests.push(record);
    switch (fault) {
      case "reset":
        req.socket.destroy();
        return;
      case "error500":
        res.writeHead(500, { "content-type": "text/html" }).end("<html>Internal Server Error</html>");
        return;
      case "rate429":
        res
          .writeHead(429, { "content-type": "application/json", "retry-after": "1" })
          .end(JSON.stringify({ code: 20429, message: "Too Many Requests", more_info: "", status: 429 }));
        return;
    }
    const answer = await forward(req, body);
    record.forwarded = true;
    if (fault === "malformed") {
      record.answered2xx = answer.status >= 200 && answer.status < 300;
      res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.text.slice(0, 12));
      return;
    }
    if (fault === "slow") {
      await new Promise((resolve) => setTimeout(resolve, options.slowMs));
      if (!res.destroyed) res.writeHead(answer.status, { "content-type": answer.type }).end(answer.text);
      return;
    }
    record.acknowledged = answer.status >= 200 && answer.status < 300;
    record.answered2xx = record.acknowledged;
    res.writeHead(answer.status, { "content-type": answer.type }).end(answer.text);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
