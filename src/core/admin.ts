import { randomBytes } from "node:crypto";
import { generateApiKey } from "./api-keys.js";
import { VerifydError } from "./errors.js";
import type { Clock, Ids, RouteStep, Service, ServiceRecord, VerificationPolicy } from "./ports.js";
import { DEFAULT_SERVICE_ID, resolveService } from "./services.js";

/** A stored service with its creation time, as the admin API lists it. */
export interface ServiceEntry extends ServiceRecord {
  createdAt: number;
  /** Its own event receiver; the secret is write-only, so only whether one is set. */
  webhook?: { url: string | null; secretSet: boolean };
}

/** A change to a service's event receiver: `null` clears, absent leaves as is. The secret arrives sealed. */
export interface ServiceWebhookPatch {
  url?: string | null;
  sealedSecret?: Buffer | null;
}

/** An API key as the admin API lists it: never its secret or hash. */
export interface ApiKeyEntry {
  id: string;
  serviceId: string | null;
  label: string;
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface ServicePatch {
  name?: string;
  /** Merged into the stored overrides; unset fields are left as they are. */
  policy: Partial<VerificationPolicy>;
  webhook?: ServiceWebhookPatch;
}

/** The service and key administration operations of the Store; each is atomic. */
export interface AdminStore {
  createService(service: ServiceRecord & { webhook?: ServiceWebhookPatch }, now: number): Promise<void>;
  /** Oldest first; `id` narrows to one service. */
  listServices(filter?: { id?: string }): Promise<ServiceEntry[]>;
  /** Merges `patch.policy` into the stored overrides (and renames); null when the service is unknown. */
  updateServicePolicy(id: string, patch: ServicePatch, now: number): Promise<ServiceEntry | null>;
  /** Oldest first; `serviceId` narrows to one service's keys. */
  listApiKeys(filter?: { serviceId?: string }): Promise<ApiKeyEntry[]>;
  /** Sets `revoked_at` once; false when the key is unknown (an already revoked key answers true). */
  revokeApiKey(id: string, now: number): Promise<boolean>;
}

export interface AdminDeps {
  store: AdminStore & {
    getService(id: string): Promise<ServiceRecord | null>;
    insertApiKey(key: {
      id: string;
      serviceId: string | null;
      prefix: string;
      revokedAt: number | null;
      secretHash: Buffer;
      createdAt: number;
      label: string;
    }): Promise<void>;
  };
  clock: Clock;
  ids: Pick<Ids, "apiKey">;
  defaults: VerificationPolicy;
  /** @default `svc_` and 32 random hex digits */
  serviceId?: () => string;
  /** Seals a service's event webhook secret (bound to the service id) before it is stored. */
  sealWebhookSecret?: (serviceId: string, secret: string) => Buffer;
}

/** A service's event receiver as given to the admin API; the secret in clear, sealed before storage. */
export interface WebhookInput {
  url?: string | null;
  secret?: string | null;
}

const randomServiceId = () => `svc_${randomBytes(16).toString("hex")}`;

/** Services (their policies) and their API keys, managed with an admin key. */
export function createAdminService(deps: AdminDeps) {
  const { store, clock, ids, defaults, serviceId = randomServiceId } = deps;
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

  return {
    /** A new service takes the default service's route and country routes. */
    async createService(input: { name: string; policy: Partial<VerificationPolicy>; webhook?: WebhookInput }) {
      const base = await store.getService(DEFAULT_SERVICE_ID);
      const route: RouteStep[] = base?.route ?? [];
      const id = serviceId();
      const record: ServiceRecord = {
        id,
        name: input.name,
        policy: input.policy,
        route,
        countryRoutes: base?.countryRoutes ?? {},
      };
      const now = clock.now();
      const webhook = webhookPatch(id, input.webhook);
      await store.createService({ ...record, ...(webhook ? { webhook } : {}) }, now);
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
      const webhook = webhookPatch(id, patch.webhook);
      const updated = await store.updateServicePolicy(id, { ...patch, webhook }, clock.now());
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

export type AdminService = ReturnType<typeof createAdminService>;
