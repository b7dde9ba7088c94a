import { randomBytes } from "node:crypto";
import { generateApiKey } from "./api-keys.js";
import { VerifydError } from "./errors.js";
import { type SettingsProblem, templateProblems, testNumberProblems } from "./messages/validate.js";
import type { RouteStep, Service, ServiceRecord, VerificationPolicy } from "./model.js";
import type { Clock, Ids } from "./ports.js";
import { type ProviderChannels, routeChannelProblems } from "./route-providers.js";
import { resolveSettings, type ServiceSettings } from "./service-settings.js";
import { DEFAULT_SERVICE_ID, resolveService } from "./services.js";
import type { ApiKeyEntry, ServiceEntry, ServicePatch, ServiceStore, ServiceWebhookPatch } from "./store/services.js";

export interface AdminDeps {
  store: ServiceStore;
  clock: Clock;
  ids: Pick<Ids, "apiKey">;
  defaults: VerificationPolicy;
  /** @default `svc_` and 32 random hex digits */
  serviceId?: () => string;
  /** Seals a service's event webhook secret (bound to the service id) before it is stored. */
  sealWebhookSecret?: (serviceId: string, secret: string) => Buffer;
  /** Told once a service's event receiver was set or changed (whatever remembers it forgets it). */
  webhookChanged?: (serviceId: string) => void;
  /**
   * The configured providers, which routes may name, with the channels each sends (a step must name
   * providers of its channel); when absent, routes are not checked against them.
   */
  providers?: ProviderChannels;
}

/** A service's event receiver as given to the admin API; the secret in clear, sealed before storage. */
export interface WebhookInput {
  url?: string | null;
  secret?: string | null;
}

export interface NewService {
  name: string;
  policy: Partial<VerificationPolicy>;
  settings?: Partial<ServiceSettings>;
  route?: RouteStep[];
  countryRoutes?: Record<string, RouteStep[]>;
  webhook?: WebhookInput;
}

const randomServiceId = () => `svc_${randomBytes(16).toString("hex")}`;

/** Services (their policies) and their API keys, managed with an admin key. */
export function createAdminService(deps: AdminDeps) {
  const { store, clock, ids, defaults, serviceId = randomServiceId, providers } = deps;
  const resolve = (s: ServiceEntry): Service & { createdAt: number; webhook: { url: string | null; secretSet: boolean } } => ({
    ...resolveService(s, defaults),
    createdAt: s.createdAt,
    webhook: s.webhook ?? { url: null, secretSet: false },
  });
  const webhookPatch = (id: string, input: WebhookInput | undefined): ServiceWebhookPatch | undefined => {
    if (!input) return undefined;
    const patch: ServiceWebhookPatch = {};
    if (input.url !== undefined) patch.url = input.url;
    if (input.secret !== undefined) {
      if (input.secret !== null && !deps.sealWebhookSecret) throw new Error("no webhook secret sealer configured");
      patch.sealedSecret = input.secret === null ? null : (deps.sealWebhookSecret?.(id, input.secret) ?? null);
    }
    return patch;
  };
  const requireService = async (id: string): Promise<ServiceEntry> => {
    const [found] = await store.listServices({ id });
    if (!found) throw new VerifydError("service_not_found", `no service ${id}`);
    return found;
  };

  /** Checks a service as it will be saved: template fit, test codes, route providers. Throws 400 with every problem. */
  const validate = (record: ServiceRecord) => {
    const settings = resolveSettings(record.settings);
    const problems: SettingsProblem[] = [...templateProblems(settings, record.name), ...testNumberProblems(settings)];
    if (providers) {
      const check = (steps: RouteStep[], pointer: string) => {
        steps.forEach((step, i) => {
          for (const p of step.providers)
            if (!providers.has(p))
              problems.push({ pointer: `${pointer}/${i}/providers`, detail: `no provider named ${p} is configured` });
        });
        for (const { index, detail } of routeChannelProblems(steps, providers))
          problems.push({ pointer: `${pointer}/${index}/providers`, detail });
      };
      check(record.route, "/route");
      for (const [country, steps] of Object.entries(record.countryRoutes)) check(steps, `/country_routes/${country}`);
    }
    const first = problems[0];
    if (first) throw new VerifydError("invalid_request", first.detail, { extensions: { errors: problems } });
  };

  return {
    /** A new service takes the default service's route and country routes, unless it brings its own. */
    async createService(input: NewService) {
      const base = await store.getService(DEFAULT_SERVICE_ID);
      const id = serviceId();
      const record: ServiceRecord = {
        id,
        name: input.name,
        policy: input.policy,
        route: input.route ?? base?.route ?? [],
        countryRoutes: input.countryRoutes ?? base?.countryRoutes ?? {},
        settings: input.settings ?? {},
      };
      validate(record);
      const now = clock.now();
      const webhook = webhookPatch(id, input.webhook);
      await store.createService({ ...record, ...(webhook ? { webhook } : {}) }, now);
      deps.webhookChanged?.(id);
      return resolve({
        ...record,
        createdAt: now,
        webhook: { url: webhook?.url ?? null, secretSet: !!webhook?.sealedSecret },
      });
    },
    async listServices() {
      return (await store.listServices()).map(resolve);
    },
    async getService(id: string) {
      return resolve(await requireService(id));
    },
    async updateService(id: string, patch: Omit<ServicePatch, "webhook"> & { webhook?: WebhookInput }) {
      // The merged result is what must hold: a rename or a new WebOTP origin can push a stored template over a segment.
      const current = await requireService(id);
      validate({
        ...current,
        name: patch.name ?? current.name,
        route: patch.route ?? current.route,
        countryRoutes: patch.countryRoutes ?? current.countryRoutes,
        settings: { ...current.settings, ...definedOnly(patch.settings ?? {}) },
      });
      const webhook = webhookPatch(id, patch.webhook);
      const updated = await store.updateServicePolicy(id, { ...patch, webhook }, clock.now());
      if (webhook) deps.webhookChanged?.(id);
      if (!updated) throw new VerifydError("service_not_found", `no service ${id}`);
      return resolve(updated);
    },

    /** The key's secret is in the answer only: verifyd keeps its SHA-256. */
    async createApiKey(input: { serviceId: string; label: string }) {
      await requireService(input.serviceId);
      const { key, prefix, secretHash } = generateApiKey();
      const entry: ApiKeyEntry = {
        id: ids.apiKey(),
        serviceId: input.serviceId,
        label: input.label,
        prefix,
        createdAt: clock.now(),
        revokedAt: null,
      };
      await store.insertApiKey({ ...entry, secretHash });
      return { ...entry, key };
    },
    async listApiKeys(filter: { serviceId?: string }) {
      return store.listApiKeys(filter);
    },
    /** Takes effect within the authenticator's cache time (5 s by default). */
    async revokeApiKey(id: string) {
      if (!(await store.revokeApiKey(id, clock.now()))) throw new VerifydError("api_key_not_found", `no API key ${id}`);
    },
  };
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export type AdminService = ReturnType<typeof createAdminService>;
