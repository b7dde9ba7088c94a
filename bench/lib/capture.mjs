// Codes from the server under test: it writes `<verification_id> <code> [<to>]` lines to a FIFO
// (verifyd's dryrun channel with VERIFYD_DRYRUN_CAPTURE_FILE, the baseline's CAPTURE_FILE), read here
// into a map.
import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/**
 * Codes by verification id as they arrive, for whoever waits for them: `put` one (with the number it
 * went to, when the source says), `take` (waiting up to `timeoutMs`), `drain` the rest. `where` names
 * the source in the timeout's message.
 */
export function codeMailbox(where) {
  const codes = new Map(); // id → { code, to }, for the codes not taken yet
  const waiters = new Map();
  let received = 0;
  let malformed = 0;
  return {
    put(id, code, to) {
      received++;
      const waiter = waiters.get(id);
      if (waiter) {
        waiters.delete(id);
        waiter(code);
      } else {
        codes.set(id, { code, to });
      }
    },
    malformed() {
      malformed++;
    },
    stats: () => ({ received, malformed, unclaimed: codes.size }),
    /** The code sent for `id` (usually already here: a start waits for its first send). */
    take(id, timeoutMs = 5000) {
      const known = codes.get(id);
      if (known !== undefined) {
        codes.delete(id);
        return Promise.resolve(known.code);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(id);
          reject(new Error(`no code reached ${where}`));
        }, timeoutMs);
        waiters.set(id, (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
    },
    /** Hands over (and forgets) every code not taken yet, as `{ id, code, to }` (`to` when known). */
    drain() {
      const all = [...codes].map(([id, { code, to }]) => ({ id, code, to }));
      codes.clear();
      return all;
    },
  };
}

/**
 * Makes a FIFO at `path` and reads it until the writer closes it. A FIFO keeps the codes off the
 * disk and costs the server one buffered write per send.
 */
export function captureCodes(path) {
  const made = spawnSync("mkfifo", ["-m", "600", path], { encoding: "utf8" });
  if (made.error || made.status !== 0) throw new Error(`mkfifo ${path} failed: ${made.error?.message ?? made.stderr}`);
  const box = codeMailbox("the capture FIFO");
  // Opening the read end waits (in libuv's thread pool) until the server opens the write end.
  const stream = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("line", (line) => {
    const [id, code, to] = line.split(" ");
    if (!id || !code) box.malformed();
    else box.put(id, code, to);
  });

  return {
    path,
    stats: box.stats,
    take: box.take,
    drain: box.drain,
    close() {
      lines.close();
      stream.destroy();
    },
  };
}
