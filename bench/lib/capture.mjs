// Codes from the server under test: it writes `<verification_id> <code>` lines to a FIFO (verifyd's
// dryrun channel with VERIFYD_DRYRUN_CAPTURE_FILE, the baseline's CAPTURE_FILE), read here into a map.
import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/**
 * Makes a FIFO at `path` and reads it until the writer closes it. A FIFO keeps the codes off the
 * disk and costs the server one buffered write per send.
 */
export function captureCodes(path) {
  const made = spawnSync("mkfifo", ["-m", "600", path], { encoding: "utf8" });
  if (made.error || made.status !== 0) throw new Error(`mkfifo ${path} failed: ${made.error?.message ?? made.stderr}`);
  const codes = new Map();
  const waiters = new Map();
  let received = 0;
  let malformed = 0;
  // Opening the read end waits (in libuv's thread pool) until the server opens the write end.
  const stream = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("line", (line) => {
    const [id, code] = line.split(" ");
    if (!id || !code) {
      malformed++;
      return;
    }
    received++;
    const waiter = waiters.get(id);
    if (waiter) {
      waiters.delete(id);
      waiter(code);
    } else {
      codes.set(id, code);
    }
  });

  return {
    path,
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
          reject(new Error("no code reached the capture FIFO"));
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
      lines.close();
      stream.destroy();
    },
  };
}
