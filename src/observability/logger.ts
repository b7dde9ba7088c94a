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

export function createLogger(level: string, destination?: DestinationStream): Logger {
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
