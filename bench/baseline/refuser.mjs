// The floor of a refusal: a bare node:http server that answers every request but the probes with
// the 503 problem document verifyd's admission control sends (same headers, a body of the same
// size), reading nothing else. `npm run bench:overload` offers it the same load as verifyd to show
// what refusing costs in Node's HTTP handling alone, before any of verifyd's work.
import http from "node:http";

const refusal = JSON.stringify({
  type: "https://verifyd.dev/problems/overloaded",
  title: "Too many requests are in progress; retry later",
  status: 503,
  code: "overloaded",
  detail: "too many requests are in progress; retry later",
  instance: "/v1/verifications",
});
const ready = JSON.stringify({ status: "ready" });

const server = http.createServer((req, res) => {
  if (req.url === "/healthz" || req.url === "/readyz") {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(ready) });
    res.end(ready);
    return;
  }
  res.writeHead(503, {
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(refusal),
    "retry-after": 1,
  });
  res.end(refusal);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
