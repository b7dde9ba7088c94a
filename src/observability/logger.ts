import pino, { type DestinationStream, type Logger } from "pino";

/**
 * Paths that could ever hold a code or a credential. Nothing logs them on purpose; redaction is
 * the second line of defence should a future change pass a message or request body to the logger.
 */
export const REDACTED_PATHS = [
  "code",
  "*.code",
  "body",
  "*.body",
  "message",
  "*.message.body",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "secret",
  "*.secret",
  "otpauth_uri",
  "*.otpauth_uri",
];

/** Logs as JSON lines to `destination`, by default stdout (see `stdoutLogs`). */
export function createLogger(level: string, destination: DestinationStream = stdoutLogs()): Logger {
  return pino(
    {
      level,
      // `name` says whose line it is; `service` is kept for the service id a request acts for.
      base: { name: "verifyd" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** A log destination that can be waited on before the process exits. */
export interface DrainableDestination extends DestinationStream {
  /** Resolves once every line is written, the output is gone, or `timeoutMs` has passed. */
  drain(timeoutMs: number): Promise<void>;
}

/**
 * Log lines to a stream (stdout) that can never hold the process. pino's own stdout destination
 * flushes synchronously at exit and loops there forever when the pipe's reader has gone (EPIPE)
 * or does not read (a full pipe). Node's stdout instead queues what a full pipe does not take, and
 * drops it at exit; a write error (EPIPE) ends the output here instead of crashing the process.
 * `drain` before exiting, with a bound, to get the last lines out when they can be.
 */
export function streamDestination(out: NodeJS.WritableStream): DrainableDestination {
  let gone = false;
  let pending = 0;
  const waiters = new Set<() => void>();
  const settle = () => {
    if (pending > 0 && !gone) return;
    for (const resolve of waiters) resolve();
    waiters.clear();
  };
  const written = () => {
    pending--;
    settle();
  };
  out.on("error", () => {
    gone = true; // nobody will read what is left
    settle();
  });
  return {
    write(line: string) {
      if (gone) return;
      pending++;
      out.write(line, written);
    },
    drain(timeoutMs) {
      if (gone || pending === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        waiters.add(done);
      });
    },
  };
}

let stdout: DrainableDestination | undefined;

/** The process's stdout as a log destination, made on first use. */
export function stdoutLogs(): DrainableDestination {
  stdout ??= streamDestination(process.stdout);
  return stdout;
}
