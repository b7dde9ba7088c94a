import { Worker } from "node:worker_threads";
import type { ProblemInput } from "./problem.js";
import { problemBody } from "./problem.js";

/**
 * Health probes on a port of their own (`VERIFYD_PROBE_PORT`), answered by a thread of their own.
 *
 * Why: on the API's port a probe waits for its turn of the event loop like any request, and under
 * overload a turn holds hundreds of refusals and a batch of admitted starts, so probes answered in
 * 50–100 ms (p99) and an orchestrator with a short probe timeout could restart a server that was only
 * busy shedding load, which turns an overload into an outage. The probe thread is scheduled by the
 * operating system beside the event loop, so its answers do not queue behind the API's work.
 *
 * What it answers still comes from the event loop, so a probe never says more than the server can:
 * - The loop stamps a heartbeat every 100 ms into memory shared with the thread. `/readyz` answers
 *   503 once the loop has not turned for 2 s (`READY_STALL_MS`): an instance that busy should leave
 *   the rotation; `/healthz` answers 503 after 30 s (`LIVE_STALL_MS`): a loop blocked that long is
 *   stuck, and a restart is the cure.
 * - Readiness (database and providers, as on the API's port) is checked by the loop every second
 *   and handed to the thread; a result older than 10 s counts as not ready.
 * - Shutting down turns `/readyz` to 503 at once, before the API's port stops accepting.
 */

const HEARTBEAT_EVERY_MS = 100;
const READINESS_EVERY_MS = 1_000;
/** How long the event loop may go without turning before `/readyz` answers 503. */
export const READY_STALL_MS = 2_000;
/** How long the event loop may go without turning before `/healthz` answers 503. */
export const LIVE_STALL_MS = 30_000;
/** How old the last readiness result may be before it counts as not ready. */
const READINESS_STALE_MS = 10_000;

export interface ProbeListenerOptions {
  port: number;
  host: string;
  version: string;
  /** The readiness checks the API's `/readyz` runs: `null` when ready, else the problem to answer. */
  readiness: () => Promise<ProblemInput | null>;
  /** Told if the thread fails once listening (it then answers no more: the probes fail, as they should). */
  onError: (err: Error) => void;
  /** @default READY_STALL_MS */
  readyStallMs?: number;
  /** @default LIVE_STALL_MS */
  liveStallMs?: number;
}

export interface ProbeListener {
  /** The port listened on (the one asked for, or the one given for port 0). */
  port: number;
  /** `/readyz` answers 503 with this detail from now on (shutdown). */
  notReady(detail: string): void;
  close(): Promise<void>;
}

/** An answer as the probe thread keeps it: built on the loop, served as it is. */
interface Answer {
  status: number;
  type: string;
  body: string;
  /** When it was computed (`process.hrtime`, ms): the same monotonic clock in every thread. */
  at: number;
}

const READY_BODY = JSON.stringify({ status: "ready" });

const nowMs = () => Number(process.hrtime.bigint() / 1_000_000n);

const problemAnswer = (input: ProblemInput, path: string, at: number): Answer => ({
  status: 503,
  type: "application/problem+json",
  body: JSON.stringify(problemBody(input, path)),
  at,
});

/** A problem body about a stalled check, with `__MS__` where the thread writes for how long. */
const stalledTemplate = (path: string, name: string, detail: string) =>
  JSON.stringify(
    problemBody({ code: "service_unavailable", detail: `not ready: ${name}`, extensions: { checks: [{ name, detail }] } }, path),
  );

export async function startProbeListener(options: ProbeListenerOptions): Promise<ProbeListener> {
  const heartbeat = new BigInt64Array(new SharedArrayBuffer(8));
  const beat = () => Atomics.store(heartbeat, 0, process.hrtime.bigint());
  beat();
  const worker = new Worker(PROBE_THREAD, {
    eval: true,
    // Not the server's flags (a --cpu-prof, a test runner's loaders): the thread needs none.
    execArgv: [],
    // The thread serves three fixed paths: a small heap is plenty.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    workerData: {
      port: options.port,
      host: options.host,
      heartbeat: heartbeat.buffer,
      readyStallMs: options.readyStallMs ?? READY_STALL_MS,
      liveStallMs: options.liveStallMs ?? LIVE_STALL_MS,
      readinessStaleMs: READINESS_STALE_MS,
      health: JSON.stringify({ status: "ok", version: options.version }),
      stalledReady: stalledTemplate("/readyz", "event_loop", "the event loop has not turned for __MS__ ms"),
      stalledLive: stalledTemplate("/healthz", "event_loop", "the event loop has not turned for __MS__ ms"),
      staleReadiness: stalledTemplate("/readyz", "readiness", "readiness has not been checked for __MS__ ms"),
      notFound: JSON.stringify(
        problemBody({ code: "route_not_found", detail: "this port answers GET /healthz and GET /readyz only" }, "/"),
      ),
      starting: problemAnswer({ code: "service_unavailable", detail: "not ready: starting" }, "/readyz", nowMs()),
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (message: { listening?: number; code?: string; message?: string }) => {
      if (message.listening !== undefined) resolve(message.listening);
      else reject(Object.assign(new Error(message.message), { code: message.code }));
    });
  }).catch(async (err) => {
    await worker.terminate();
    throw err;
  });
  worker.on("error", options.onError);

  let closing = false;
  let checking = false;
  const check = async () => {
    if (checking || closing) return;
    checking = true;
    try {
      const failing = await options.readiness();
      const at = nowMs();
      if (!closing)
        worker.postMessage(
          failing
            ? problemAnswer(failing, "/readyz", at)
            : ({ status: 200, type: "application/json", body: READY_BODY, at } satisfies Answer),
        );
    } finally {
      checking = false;
    }
  };
  const heartbeats = setInterval(beat, HEARTBEAT_EVERY_MS);
  const checks = setInterval(() => void check(), READINESS_EVERY_MS);
  heartbeats.unref();
  checks.unref();
  void check();

  return {
    port,
    notReady(detail) {
      closing = true;
      worker.postMessage(problemAnswer({ code: "service_unavailable", detail }, "/readyz", nowMs()));
    },
    async close() {
      closing = true;
      clearInterval(heartbeats);
      clearInterval(checks);
      await worker.terminate();
    },
  };
}

/**
 * The probe thread's code, the source of a worker (`eval`): kept as text, so that no build step
 * (tsc, the bundle, the test runner's transform) rewrites it and it needs no file of its own in the
 * bundle or the single executable. It uses only what it imports itself and `workerData`.
 */
const PROBE_THREAD = `
(async () => {
  const { parentPort, workerData: data } = await import("node:worker_threads");
  const http = await import("node:http");
  const heartbeat = new BigInt64Array(data.heartbeat);
  let readiness = data.starting;
  parentPort.on("message", (answer) => {
    readiness = answer;
  });
  const nowMs = () => Number(process.hrtime.bigint() / 1000000n);
  const quietMs = () => nowMs() - Number(Atomics.load(heartbeat, 0) / 1000000n);
  const send = (res, status, type, body) => {
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
    res.end(body);
  };
  const problem = "application/problem+json";
  const server = http.createServer((req, res) => {
    const url = req.url || "/";
    const path = url.includes("?") ? url.slice(0, url.indexOf("?")) : url;
    const read = req.method === "GET" || req.method === "HEAD";
    const quiet = quietMs();
    if (read && path === "/healthz") {
      if (quiet > data.liveStallMs) send(res, 503, problem, data.stalledLive.replaceAll("__MS__", String(quiet)));
      else send(res, 200, "application/json", data.health);
    } else if (read && path === "/readyz") {
      const age = nowMs() - readiness.at;
      if (quiet > data.readyStallMs) send(res, 503, problem, data.stalledReady.replaceAll("__MS__", String(quiet)));
      else if (age > data.readinessStaleMs) send(res, 503, problem, data.staleReadiness.replaceAll("__MS__", String(age)));
      else send(res, readiness.status, readiness.type, readiness.body);
    } else send(res, 404, problem, data.notFound);
  });
  server.keepAliveTimeout = 65000;
  server.once("error", (err) => parentPort.postMessage({ code: err.code, message: err.message }));
  server.listen({ port: data.port, host: data.host }, () => parentPort.postMessage({ listening: server.address().port }));
})();
`;
