// An open-loop load generator: requests leave on a fixed schedule whatever the server answers, as
// from a fleet of login services, and each caller gives up (closes its connection) after a timeout.
import http from "node:http";
import { Pool } from "undici";
import { percentile } from "./load.mjs";

/**
 * A JSON POST client over a keep-alive pool of up to `sockets` connections (undici's Pool: at
 * 10 000 requests/s node:http's Agent took the whole of the generator's core, and its lateness
 * was counted as the server's). `post` resolves to `{ status, headers, json }`, or to
 * `{ status: 0, why }` when the caller gave up at `deadline` (performance.now() time; `leftAt` then
 * says when, in wall-clock ms, to set against the server's timestamps) or the connection failed.
 * `writtenAt` (performance.now() time): when one of the pool's connections took the request; NaN
 * while it still waited for one. Giving up aborts the request: its connection closes, as a caller's would, and
 * the server sees the request aborted.
 */
export function createOpenClient({ port, sockets, apiKey }) {
  const pool = new Pool(`http://127.0.0.1:${port}`, {
    connections: sockets,
    pipelining: 1,
    keepAliveTimeout: 120_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const authorization = `Bearer ${apiKey}`;
  // Callers waiting for an answer, in the order they were sent, which is their deadlines' order (an
  // open loop's callers all wait as long): one sweep every 5 ms gives up on the overdue ones, where
  // a timer each cost the generator a timer object and a list insertion a request, at 10 000–14 000
  // requests a second. A deadline earlier than one sent before it would wait for that one.
  const waiting = [];
  let head = 0;
  const sweep = setInterval(() => {
    const now = performance.now();
    while (head < waiting.length && waiting[head].deadline <= now) waiting[head++].giveUp();
    if (head > 4096 && head * 2 > waiting.length) {
      waiting.splice(0, head);
      head = 0;
    }
  }, 5);
  sweep.unref();

  // undici's dispatch with a handler of our own (one object a request, its methods shared): no
  // AbortController, body stream or promise chain per request. At 10× the generator's core was
  // 70–100 % busy with `pool.request`, and its lateness in reading answers counted as the server's.
  const post = (path, payload, deadline) =>
    new Promise((resolve) => {
      const body = JSON.stringify(payload);
      const call = new Call(resolve, deadline);
      waiting.push(call);
      pool.dispatch(
        {
          method: "POST",
          path,
          headers: { authorization, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
          body,
        },
        call,
      );
    });

  /**
   * Opens every connection of the pool (a burst of GET /healthz, which admission control lets
   * through), as a fleet of clients with warm pools has them: a server under load accepts one new
   * connection per turn of its event loop, so a pool that grows during the load measures that instead.
   */
  const warm = () =>
    Promise.all(
      Array.from({ length: sockets }, () =>
        pool.request({ method: "GET", path: "/healthz" }).then(
          (res) => res.body.dump(),
          () => {},
        ),
      ),
    );

  return {
    post,
    warm,
    close: () => {
      clearInterval(sweep);
      return pool.destroy();
    },
  };
}

/** One request's handler for undici's dispatch, and its caller's deadline (see `post`). */
class Call {
  constructor(resolve, deadline) {
    this.resolve = resolve;
    this.deadline = deadline;
    this.abort = null;
    this.settled = false;
    this.status = 0;
    this.rawHeaders = null;
    this.chunks = null;
    this.writtenAt = Number.NaN; // when a connection took the request (undici writes it then)
  }
  settle(result) {
    if (this.settled) return;
    this.settled = true;
    this.resolve(result);
    // Kept in the sweep's queue until its deadline: let go of what the answer was made from.
    this.resolve = null;
    this.rawHeaders = null;
    this.chunks = null;
  }
  giveUp() {
    if (this.settled) return;
    this.settle({ status: 0, why: "timeout", leftAt: Date.now(), writtenAt: this.writtenAt });
    this.abort?.(new Error("gave up"));
  }
  onConnect(abortRequest) {
    this.abort = abortRequest;
    this.writtenAt = performance.now();
    if (this.settled) abortRequest(new Error("gave up"));
  }
  onHeaders(statusCode, headers) {
    this.status = statusCode;
    this.rawHeaders = headers;
    return true;
  }
  onData(chunk) {
    if (this.chunks) this.chunks.push(chunk);
    else this.chunks = [chunk];
    return true;
  }
  onComplete() {
    let json = null;
    const chunks = this.chunks ?? [];
    try {
      json = JSON.parse((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString("utf8"));
    } catch {}
    this.settle({ status: this.status, headers: headersOf(this.rawHeaders), json, writtenAt: this.writtenAt });
  }
  onError(err) {
    this.settle({ status: 0, why: err.code ?? err.message, writtenAt: this.writtenAt });
  }
}

/** undici's raw header list (name, value, name, value… as Buffers) as an object with lower-case names. */
function headersOf(raw) {
  const headers = {};
  for (let i = 0; raw && i + 1 < raw.length; i += 2)
    headers[raw[i].toString("latin1").toLowerCase()] = raw[i + 1].toString("latin1");
  return headers;
}

/**
 * Calls `send(scheduledAt)` `rate` times a second for `durationMs`, on schedule: a request late
 * because the generator fell behind leaves at once and its latency still counts from its
 * scheduled time. Resolves when every request has settled, with one record per request:
 * `{ at, ms, result }` (`ms` from the scheduled time to the answer).
 */
export async function openLoop({ rate, durationMs, send }) {
  const begin = performance.now();
  const total = Math.floor((rate * durationMs) / 1000);
  const records = new Array(total);
  let next = 0;
  let settled = 0;
  let worstLag = 0;
  // Settles once the schedule is done and every request has settled; counted rather than kept as a
  // promise a request, which at 10× held a few hundred thousand of them to the end.
  await new Promise((resolve) => {
    const record = (i, at) => (result) => {
      records[i] = { at, ms: performance.now() - at, result };
      if (++settled === total) resolve();
    };
    const tick = () => {
      const now = performance.now();
      while (next < total) {
        const at = begin + (next * 1000) / rate;
        if (at > now) break;
        worstLag = Math.max(worstLag, now - at);
        send(at).then(record(next++, at));
      }
      if (next < total) setTimeout(tick, 1);
      else if (total === 0) resolve();
    };
    tick();
  });
  return { records, worstLagMs: worstLag };
}

/**
 * GETs `path` every `everyMs` until `stop()`, over one kept-alive connection (`fresh: false`: a
 * tick is skipped while the previous probe is still out, so probes never queue behind one another
 * in the client) or a new connection each time, as an orchestrator's probe does (`fresh: true`);
 * `stop()` resolves to the latencies' p50, p99 and max and the non-200 count.
 */
export function probe({ port, path, everyMs, fresh }) {
  const agent = fresh ? false : new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let failures = 0;
  let stopped = false;
  const inFlight = new Set();
  const once = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.get({ host: "127.0.0.1", port, path, agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on("end", () => {
          latencies.push(performance.now() - t0);
          if (res.statusCode !== 200) failures++;
          resolve();
        });
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        latencies.push(performance.now() - t0);
        failures++;
        resolve();
      });
    });
  const timer = setInterval(() => {
    if (stopped || (!fresh && inFlight.size > 0)) return;
    const p = once();
    inFlight.add(p);
    p.then(() => inFlight.delete(p));
  }, everyMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await Promise.all(inFlight);
    if (agent) agent.destroy();
    latencies.sort((a, b) => a - b);
    return {
      count: latencies.length,
      failures,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? Number.NaN,
    };
  };
}
