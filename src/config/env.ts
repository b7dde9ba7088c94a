import { DEFAULT_REFUSED_TYPES, type ScreeningRules } from "../core/abuse.js";
import { ConfigError, type ReadFile, readTextFile } from "./errors.js";
import { type FileConfig, loadConfigFile, type RouteStepConfig } from "./file.js";
import { closestName, describeIssues, didYouMean } from "./issues.js";
import { envSchema, INPUTS, KNOWN_VARIABLES, SECRET_VARIABLES, SETTINGS } from "./settings.js";
import { type Values, valuesOf } from "./table.js";

/**
 * Everything verifyd reads from its environment, validated once at start.
 * Only this module touches `process.env` (through `loadConfig`'s argument);
 * the rest of the program receives a typed `Config`.
 */

type Inputs = Values<typeof INPUTS>;

/** The `SETTINGS` table's values, plus what `loadConfig` works out from `INPUTS` and the config file. */
export type Config = Values<typeof SETTINGS> & {
  /** The channel used when no route is configured (`VERIFYD_SENDER`). */
  sender: NonNullable<Inputs["sender"]>;
  /** The load-test channel (`VERIFYD_SENDER=dryrun`): on or off, and where it writes codes, if anywhere. */
  dryrun: { enabled: boolean; captureFile: string | undefined };
  /** verifyd's public base URL, for provider status callbacks (`VERIFYD_PUBLIC_URL` or the config file). */
  publicUrl: string | undefined;
  /** Providers from the config file, by configured name. */
  providers: FileConfig["providers"];
  /** The default route: the config file's, else one SMS step on `sender`. */
  route: RouteStepConfig[];
  countryRoutes: Record<string, RouteStepConfig[]>;
  /** The config file's price table (micro-units); absent: no costs are computed. */
  prices: FileConfig["prices"];
  /** The environment's screening settings and the line types each channel refuses. */
  screening: ScreeningRules;
  /** Serve HTTPS with these PEM files (re-read on SIGHUP); plain HTTP without. */
  tls: { certFile: string; keyFile: string } | undefined;
};

/** A business number end users write to, for person-to-application verification. */
export type InboundNumber = Config["inboundNumbers"][number];

/** The screening settings as the domain takes them; the line types each channel refuses are fixed. */
function screeningRules(s: Values<typeof SETTINGS>["screening"]) {
  const email = { refuseDisposable: s.disposableEmail === "refuse", allowDomains: s.allowEmailDomains };
  return { refusedTypes: DEFAULT_REFUSED_TYPES, ...s, email } satisfies ScreeningRules;
}

/** Every provider a route names must exist; the console channel never serves production. */
function checkRoutes(steps: RouteStepConfig[], known: Set<string>, production: boolean): string[] {
  const problems: string[] = [];
  for (const name of new Set(steps.flatMap((s) => s.providers))) {
    if (name === "console" && production) {
      problems.push(
        "route: the console channel prints codes and is refused in production (set VERIFYD_SENDER=http or configure a route)",
      );
    } else if (!known.has(name)) {
      problems.push(`route: provider "${name}" is not configured${didYouMean(name, [...known])}`);
    }
  }
  return problems;
}

/**
 * The dryrun channel delivers no code to anyone, and its capture file holds codes in clear. Production takes either only with an explicit opt-in.
 */
function checkDryrun(inputs: Inputs, sender: Config["sender"], production: boolean): string[] {
  if (inputs.dryrunCaptureFile && sender !== "dryrun")
    return ["VERIFYD_DRYRUN_CAPTURE_FILE: only used with VERIFYD_SENDER=dryrun"];
  if (production && inputs.allowDryrun !== "true" && sender === "dryrun") {
    return [
      "VERIFYD_SENDER: the dryrun channel sends nothing and is refused in production unless VERIFYD_ALLOW_DRYRUN=true (load tests only)",
    ];
  }
  return [];
}

/** What production cannot run without: secrets, and signatures on whatever verifyd posts. */
function checkProduction(s: Values<typeof SETTINGS>): string[] {
  const problems: string[] = [];
  if (!s.secret) problems.push("VERIFYD_SECRET: required in production (or VERIFYD_SECRET_FILE)");
  if (!s.adminKey) problems.push("VERIFYD_ADMIN_KEY: required in production (or VERIFYD_ADMIN_KEY_FILE)");
  if (s.httpChannel.url && !s.httpChannel.secret) {
    problems.push("VERIFYD_HTTP_CHANNEL_SECRET: required in production so the receiver can verify sends");
  }
  if (s.events.url && !s.events.secret) {
    problems.push("VERIFYD_EVENTS_SECRET: required in production so the receiver can verify events");
  }
  return problems;
}

/** Resolves `NAME_FILE` into `NAME` for every secret variable; both at once is an error. */
function resolveSecretFiles(env: Record<string, string | undefined>, readFile: ReadFile, problems: string[]) {
  const resolved = { ...env };
  for (const name of SECRET_VARIABLES) {
    const path = env[`${name}_FILE`];
    if (!path) continue;
    if (env[name]) {
      problems.push(`${name} and ${name}_FILE are both set; keep one`);
      continue;
    }
    try {
      resolved[name] = readFile(path).trim();
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${path} (${(err as Error).message})`);
    }
  }
  return resolved;
}

/** One error for every problem found, so that one restart shows them all. */
function configError(problems: string[]): ConfigError {
  if (problems.length === 1) return new ConfigError(problems[0] as string);
  return new ConfigError(`invalid configuration (${problems.length} problems)\n  ${problems.join("\n  ")}`);
}

/** `VERIFYD_*` variables verifyd does not read: typos, named with the closest variable it does read. */
export function unknownVariableWarnings(env: Record<string, string | undefined>): string[] {
  const known = new Set(KNOWN_VARIABLES);
  return Object.keys(env)
    .filter((name) => name.startsWith("VERIFYD_") && !known.has(name))
    .sort()
    .map((name) => {
      const best = closestName(name, KNOWN_VARIABLES);
      return best
        ? `${name} is not a verifyd setting and is ignored; did you mean ${best}?`
        : `${name} is not a verifyd setting and is ignored`;
    });
}

/**
 * Parses and checks the environment. Throws one `ConfigError` naming every bad variable.
 * @example loadConfig(process.env)
 */
export function loadConfig(rawEnv: Record<string, string | undefined>, readFile: ReadFile = readTextFile): Config {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(resolveSecretFiles(rawEnv, readFile, problems));
  if (!parsed.success) {
    problems.push(...describeIssues(parsed.error.issues, envSchema, "").map((line) => line.replace(/^: /, "(environment): ")));
    throw configError(problems);
  }
  const settings = valuesOf(SETTINGS, parsed.data);
  const inputs = valuesOf(INPUTS, parsed.data);
  const sender = inputs.sender ?? (settings.httpChannel.url ? "http" : "console");
  if (sender === "http" && !settings.httpChannel.url) {
    problems.push("VERIFYD_HTTP_CHANNEL_URL: required when VERIFYD_SENDER=http");
  }
  if (Boolean(inputs.tlsCertFile) !== Boolean(inputs.tlsKeyFile)) {
    problems.push("VERIFYD_TLS_CERT_FILE and VERIFYD_TLS_KEY_FILE: set both (HTTPS) or neither (HTTP)");
  }
  let file: FileConfig | undefined;
  let fileRead = true;
  try {
    file = inputs.configFile ? loadConfigFile(inputs.configFile, rawEnv, readFile) : undefined;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(err.message);
    fileRead = false;
  }
  const production = settings.env === "production";
  const route = file?.route ?? [{ channel: "sms" as const, providers: [sender], fallbackAfterMs: null }];
  const countryRoutes = file?.countryRoutes ?? {};
  const known = new Set([
    ...Object.keys(file?.providers ?? {}),
    ...(production ? [] : ["console"]),
    ...(settings.httpChannel.url ? ["http"] : []),
  ]);
  if (sender === "dryrun") known.add("dryrun");
  // Routes are checked against the file's providers: without a readable file there is nothing to check them by.
  if (fileRead)
    problems.push(...new Set([route, ...Object.values(countryRoutes)].flatMap((steps) => checkRoutes(steps, known, production))));
  for (const name of Object.keys(file?.prices?.providers ?? {})) {
    if (!known.has(name))
      problems.push(`config.prices.providers: provider "${name}" is not configured${didYouMean(name, [...known])}`);
  }
  problems.push(...checkDryrun(inputs, sender, production));
  if (production) problems.push(...checkProduction(settings));
  if (problems.length > 0) throw configError(problems);
  return {
    ...settings,
    sender,
    dryrun: { enabled: sender === "dryrun", captureFile: inputs.dryrunCaptureFile },
    publicUrl: inputs.publicUrl ?? file?.publicUrl,
    providers: file?.providers ?? {},
    route,
    countryRoutes,
    prices: file?.prices,
    screening: screeningRules(settings.screening),
    tls: inputs.tlsCertFile && inputs.tlsKeyFile ? { certFile: inputs.tlsCertFile, keyFile: inputs.tlsKeyFile } : undefined,
  };
}
