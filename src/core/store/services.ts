import type { ApiKey, RouteStep, ServiceRecord, VerificationPolicy } from "../model.js";
import type { ServiceSettings } from "../service-settings.js";

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
  /** Merged field by field like `policy` (a field is replaced whole: `templates` as one document). */
  settings?: Partial<ServiceSettings>;
  route?: RouteStep[];
  countryRoutes?: Record<string, RouteStep[]>;
}

/** Services and their API keys; each operation is atomic. */
export interface ServiceStore {
  getService(id: string): Promise<ServiceRecord | null>;
  /** Creates the service or refreshes its name and route; policy overrides are kept. */
  ensureService(
    service: { id: string; name: string; route: RouteStep[]; countryRoutes?: Record<string, RouteStep[]> },
    now: number,
  ): Promise<void>;

  findApiKeyByHash(secretHash: Buffer): Promise<ApiKey | null>;
  insertApiKey(key: ApiKey & { secretHash: Buffer; createdAt: number; label: string }): Promise<void>;
  countActiveAdminKeys(): Promise<number>;

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
