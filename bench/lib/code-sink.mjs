// The "SMS gateway" verifyd's http channel posts to (VERIFYD_HTTP_CHANNEL_URL): answers 200 and
// remembers each code by verification id, for benches whose servers run on the http channel.
import http from "node:http";
import { codeMailbox } from "./capture.mjs";

export async function startCodeSink() {
  const box = codeMailbox("the sink");
  let sent = 0;

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      try {
        const { verification_id: id, code } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        if (typeof id !== "string" || typeof code !== "string") throw new Error("no verification_id/code");
        box.put(id, code);
      } catch {
        box.malformed();
      }
      sent++;
      res.writeHead(200, { "content-type": "application/json", "x-message-id": `sink-${sent}` });
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}/send`,
    stats: box.stats,
    take: box.take,
    drain: box.drain,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
