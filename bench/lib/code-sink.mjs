// The "SMS gateway" verifyd's http channel posts to (VERIFYD_HTTP_CHANNEL_URL): answers 200 and
// remembers each code by verification id, for benches whose servers run on the http channel.
import http from "node:http";

export async function startCodeSink() {
  const codes = new Map();
  const waiters = new Map();
  let received = 0;
  let malformed = 0;

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      try {
        const { verification_id: id, code } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        if (typeof id !== "string" || typeof code !== "string") throw new Error("no verification_id/code");
        received++;
        const waiter = waiters.get(id);
        if (waiter) {
          waiters.delete(id);
          waiter(code);
        } else {
          codes.set(id, code);
        }
      } catch {
        malformed++;
      }
      res.writeHead(200, { "content-type": "application/json", "x-message-id": `sink-${received}` });
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}/send`,
    stats: () => ({ received, malformed, unclaimed: codes.size }),
    /** The code sent for `id` (usually already here: a start waits for its first send). */
    take(id, timeoutMs = 5000) {
      const code = codes.get(id);
      if (code !== undefined) {
        codes.delete(id);
        return Promise.resolve(code);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(id);
          reject(new Error("no code reached the sink"));
        }, timeoutMs);
        waiters.set(id, (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
    },
    /** Hands over (and forgets) every code not taken yet, as `{ id, code }`. */
    drain() {
      const all = [...codes].map(([id, code]) => ({ id, code }));
      codes.clear();
      return all;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
