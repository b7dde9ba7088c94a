// A closed-loop load generator: N workers, each sends its next request when the previous one answered.
import http from "node:http";

/** A tiny JSON client over node:http with a keep-alive pool of `connections` sockets, 127.0.0.1 only. */
export function createClient({ port, connections, apiKey, timeoutMs = 10_000 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const authorization = `Bearer ${apiKey}`;

  const post = (path, payload) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(payload);
      const req = http.request(
        {
          agent,
          host: "127.0.0.1",
          port,
          method: "POST",
          path,
          timeout: timeoutMs,
          headers: { authorization, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () => {
            let json = null;
            try {
              json = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode, json });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });

  return { post, close: () => agent.destroy() };
}

/** Why a response is not the expected one, e.g. "HTTP 429 rate_limited", for the error summary. */
export function describe(res) {
  return `HTTP ${res.status}${res.json?.code ? ` ${res.json.code}` : ""}`;
}

/**
 * Runs `op` from `connections` workers: first for `warmupMs` (not recorded), then for `durationMs`.
 * `op()` resolves to `{ ok, why? }`, or to null when it has no more work (a consumed pool).
 * Stops at the deadline or after `maxOps` operations in all, whichever comes first.
 * `onMeasureStart` is called when the warm-up ends. `keepLatencies`: the result also holds every
 * measured latency (`latencies`, ascending), to sum runs.
 */
export async function closedLoop({ connections, warmupMs, durationMs, maxOps, op, onMeasureStart, keepLatencies = false }) {
  const begin = performance.now();
  const measureFrom = begin + warmupMs;
  const deadline = measureFrom + durationMs;
  const latencies = [];
  const reasons = new Map();
  let started = 0;
  let errors = 0;
  let lastEnd = measureFrom;
  let exhausted = false;
  const mark = setTimeout(() => onMeasureStart?.(), warmupMs);

  async function worker() {
    while (!exhausted && started < maxOps) {
      const t0 = performance.now();
      if (t0 >= deadline) return;
      started++;
      let result;
      try {
        result = await op();
      } catch (err) {
        result = { ok: false, why: err.message };
      }
      if (result === null) {
        exhausted = true;
        return;
      }
      const t1 = performance.now();
      if (t0 < measureFrom) continue;
      latencies.push(t1 - t0);
      if (t1 > lastEnd) lastEnd = t1;
      if (!result.ok) {
        errors++;
        const why = result.why ?? "unexpected answer";
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, worker));
  clearTimeout(mark);

  latencies.sort((a, b) => a - b);
  const elapsedMs = Math.max(1, lastEnd - measureFrom);
  return {
    ops: latencies.length,
    errors,
    reasons: [...reasons].sort((a, b) => b[1] - a[1]),
    elapsedMs,
    opsPerSec: (latencies.length / elapsedMs) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? Number.NaN,
    endedEarly: exhausted ? "pool used up" : started >= maxOps ? "max requests reached" : null,
    warmupOps: started - latencies.length,
    ...(keepLatencies ? { latencies } : {}),
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
