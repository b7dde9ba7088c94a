import type { z } from "zod";
import type { Config } from "../config/env.js";
import { ConfigError } from "../config/errors.js";
import { describeIssues, didYouMean } from "../config/issues.js";
import type { InboundMessage, StatusUpdate } from "../core/model.js";
import type { Clock } from "../core/ports.js";
import { routeChannelProblems } from "../core/route-providers.js";
import type { Sender } from "../core/sender.js";
import { createConsoleSender } from "./console.js";
import { createDryrunSender } from "./dryrun.js";
import { createHttpSender } from "./http.js";

/** What an adapter factory receives besides its own settings. */
export interface AdapterDeps {
  clock: Clock;
  name: string;
  publicUrl?: string;
  /** For adapters whose receipts arrive on their own connection (SMPP), not a webhook. */
  /** A rejected promise asks the adapter to have the receipt sent again (SMPP answers with a temporary error). */
  onStatus: (update: StatusUpdate) => Promise<void>;
  onInbound: (message: InboundMessage) => void;
  /** Something an operator should see that fails no send (logged as a warning, with the provider's name). */
  onWarning?: (message: string) => void;
}

export interface AdapterType {
  schema: z.ZodType;
  create(settings: never, deps: AdapterDeps): Sender & { close?: () => Promise<void> | void };
}

/** An adapter type, or how to import it (built-in adapters load only when a provider uses them). */
export type LazyAdapterType = AdapterType | (() => Promise<AdapterType>);

/**
 * Builds every configured sender: the console (development), dryrun and http channels from the
 * environment, and each provider of the config file through its adapter type.
 */
export async function buildSenders(
  config: Config,
  types: Record<string, LazyAdapterType>,
  deps: Omit<AdapterDeps, "name" | "onStatus" | "onInbound" | "onWarning"> & {
    onStatus: (provider: string, update: StatusUpdate) => Promise<void>;
    onInbound: (provider: string, message: InboundMessage) => void;
    onWarning?: (provider: string, message: string) => void;
  },
): Promise<(Sender & { close?: () => Promise<void> | void })[]> {
  const senders: (Sender & { close?: () => Promise<void> | void })[] = [];
  if (config.env === "development") senders.push(createConsoleSender());
  if (config.dryrun.enabled) {
    const { captureFile } = config.dryrun;
    const onCaptureError = (err: Error) =>
      process.emitWarning(`dryrun capture file ${captureFile}: ${err.message}; codes are no longer captured`);
    senders.push(createDryrunSender({ captureFile, onCaptureError }));
  }
  if (config.httpChannel.url) {
    const { url, secret, timeoutMs } = config.httpChannel;
    senders.push(createHttpSender({ url, secret, timeoutMs, clock: deps.clock }));
  }
  for (const [name, settings] of Object.entries(config.providers)) {
    const known = types[settings.type];
    if (!known) {
      const names = Object.keys(types);
      throw new ConfigError(
        `config.providers.${name}.type: unknown provider type "${settings.type}"${didYouMean(settings.type, names)} (known: ${names.join(", ")})`,
      );
    }
    const type = typeof known === "function" ? await known() : known;
    const { type: _type, ...rest } = settings;
    const parsed = type.schema.safeParse(rest);
    if (!parsed.success) {
      const lines = describeIssues(parsed.error.issues, type.schema, `config.providers.${name}`);
      throw new ConfigError(`invalid provider settings\n  ${lines.join("\n  ")}`);
    }
    try {
      senders.push(
        type.create(parsed.data as never, {
          clock: deps.clock,
          name,
          publicUrl: deps.publicUrl,
          onStatus: (update) => deps.onStatus(name, update),
          onInbound: (message) => deps.onInbound(name, message),
          onWarning: (message) => deps.onWarning?.(name, message),
        }),
      );
    } catch (err) {
      // What an adapter refuses while it is built is a problem of its settings: reported as one (exit 78).
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`config.providers.${name}: ${(err as Error).message}`);
    }
  }
  return senders;
}

/**
 * Refuses, at start, a route step whose provider cannot send the step's channel (a `voice` step on
 * an account without `voice`, an `email` step through an SMS gateway): one ConfigError (exit 78)
 * naming every such step by its place in the config file.
 */
export function checkRouteChannels(
  config: Pick<Config, "route" | "countryRoutes">,
  senders: ReadonlyMap<string, Pick<Sender, "channels">>,
): void {
  const channels = new Map([...senders].map(([name, sender]) => [name, sender.channels]));
  const routes: [string, Config["route"]][] = [
    ["config.route", config.route],
    ...Object.entries(config.countryRoutes).map(([country, steps]): [string, Config["route"]] => [
      `config.countryRoutes.${country}`,
      steps,
    ]),
  ];
  const problems = routes.flatMap(([where, steps]) =>
    routeChannelProblems(steps, channels).map((p) => `${where}[${p.index}].providers: ${p.detail}`),
  );
  if (problems.length === 1) throw new ConfigError(problems[0] as string);
  if (problems.length > 1)
    throw new ConfigError(`invalid configuration (${problems.length} problems)\n  ${problems.join("\n  ")}`);
}
