// The environment the overload bench starts verifyd with, as `npm run bench` does (bench/run.mjs):
// as in production (every limit, the outbox and event webhooks on), the dryrun channel writing codes
// to a capture FIFO, the volume limits raised so one API key and one synthetic number range are not
// refused (but still counted).
import { join } from "node:path";

/** `dir` holds the database; `extra` overrides any variable (`--server-env`). */
export function verifydEnv({ dir, secret, apiKey, captureFile, eventsUrl, extra = {} }) {
  return {
    VERIFYD_ENV: "development",
    VERIFYD_HOST: "127.0.0.1",
    VERIFYD_DB: join(dir, "verifyd.db"),
    VERIFYD_SECRET: secret,
    VERIFYD_ADMIN_KEY: apiKey,
    VERIFYD_SENDER: "dryrun",
    VERIFYD_DRYRUN_CAPTURE_FILE: captureFile,
    VERIFYD_EVENTS_URL: eventsUrl,
    VERIFYD_LOG_LEVEL: "warn",
    VERIFYD_LIMIT_STARTS_PER_IP: "100000000/1h",
    VERIFYD_LIMIT_REQUESTS_PER_KEY: "100000000/1m",
    VERIFYD_LIMIT_SENDS_PER_DESTINATION: "1000/10m",
    // The load sends to one number range: velocity rules stay on (and counted) but must not bite.
    VERIFYD_LIMIT_SENDS_PER_PREFIX: "100000000/1h",
    VERIFYD_LIMIT_SENDS_PER_COUNTRY: "100000000/1h",
    VERIFYD_LIMIT_FAILED_CHECKS_PER_DESTINATION: "10/1h",
    // Nobody answers these starts: the conversion guard counts them but must not judge them pumping.
    VERIFYD_CONVERSION_MIN_SENDS: "1000000",
    VERIFYD_CONVERSION_PROBATION_SENDS: "1000000",
    ...extra,
  };
}

/** `--server-env KEY=VALUE` pairs as an object. */
export function parseServerEnv(pairs) {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf("=");
      if (at < 1) throw new Error(`--server-env takes KEY=VALUE, not "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}
