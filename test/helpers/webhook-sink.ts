import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";

/** One request as the sink saw it: the raw body string is kept as-is so signatures can be verified over it. */
export interface SinkRequest {
  method: string;
  path: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  receivedAt: number;
}

export interface SinkReply {
  /** Wait this long before answering (to provoke client timeouts). */
  delayMs?: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface WebhookSink {
  /** `http://127.0.0.1:<port>/hook` */
  url: string;
  requests: SinkRequest[];
  /** Queues one answer; queued answers are used in order, one per request, before the default. */
  respondWith(status: number, reply?: SinkReply): void;
  /** The answer used when the queue is empty (initially 200). */
  setDefault(status: number, reply?: SinkReply): void;
  close(): Promise<void>;
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** A real HTTP receiver on 127.0.0.1 (port chosen by the OS) standing in for an operator's SMS gateway. */
export async function startWebhookSink(): Promise<WebhookSink> {
  const requests: SinkRequest[] = [];
  const queue: Array<{ status: number } & SinkReply> = [];
  let fallback: { status: number } & SinkReply = { status: 200 };
  const timers = new Set<NodeJS.Timeout>();

  const answer = (res: ServerResponse, reply: { status: number } & SinkReply) => {
    if (res.destroyed) return; // the client gave up (timeout test): nothing to answer
    res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
    res.end(reply.body ?? "");
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      // Recorded before any delay, so a test can see the request even when the client times out.
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: flatten(req.headers),
        body: Buffer.concat(chunks).toString("utf8"),
        receivedAt: Date.now(),
      });
      const reply = queue.shift() ?? fallback;
      if (!reply.delayMs) return answer(res, reply);
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(res, reply);
      }, reply.delayMs);
      timers.add(timer);
      res.on("close", () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    respondWith(status, reply = {}) {
      queue.push({ status, ...reply });
    },
    setDefault(status, reply = {}) {
      fallback = { status, ...reply };
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections(); // keep-alive sockets from fetch would otherwise hold close() open
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP port that was free a moment ago: the OS picks it, we release it. Used to start the server on a
 * known port (it does not report a port chosen for PORT=0) and to get a port nobody listens on.
 */
export async function freePort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
