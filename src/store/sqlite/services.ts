import { and, asc, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { ApiKey } from "../../core/model.js";
import type { ApiKeyEntry, ServicePatch, ServiceStore } from "../../core/store/services.js";
import { toServiceEntry, toServiceRecord, webhookColumns } from "../rows.js";
import { atomic } from "./atomic.js";
import type { SqliteStoreContext } from "./context.js";
import { apiKeys, services } from "./schema.js";

/** Services and their API keys on SQLite: what requests read, and the administration. */
export function createSqliteServiceStore({ raw, db }: SqliteStoreContext): ServiceStore {
  // Every authenticated request looks its key up: prepared once.
  const keyByHash = db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.secretHash, sql.placeholder("hash")))
    .prepare();

  return {
    async getService(id) {
      const r = db.select().from(services).where(eq(services.id, id)).get();
      return r ? toServiceRecord(r) : null;
    },
    async ensureService(s, now) {
      db.insert(services)
        .values({ id: s.id, name: s.name, route: s.route, countryRoutes: s.countryRoutes ?? {}, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({
          target: services.id,
          set: { name: s.name, route: s.route, countryRoutes: s.countryRoutes ?? {}, updatedAt: now },
        })
        .run();
    },

    async findApiKeyByHash(hash) {
      const r = keyByHash.get({ hash });
      return r ? ({ id: r.id, serviceId: r.serviceId, prefix: r.prefix, revokedAt: r.revokedAt } as ApiKey) : null;
    },
    async insertApiKey(k) {
      db.insert(apiKeys)
        .values({
          id: k.id,
          serviceId: k.serviceId,
          label: k.label,
          prefix: k.prefix,
          secretHash: k.secretHash,
          createdAt: k.createdAt,
        })
        .run();
    },
    async countActiveAdminKeys() {
      const r = raw.prepare("select count(*) as n from api_keys where service_id is null and revoked_at is null").get() as {
        n: number;
      };
      return r.n;
    },

    async createService(s, now) {
      db.insert(services)
        .values({
          id: s.id,
          name: s.name,
          policy: s.policy,
          route: s.route,
          countryRoutes: s.countryRoutes,
          ...webhookColumns(s.webhook),
          settings: s.settings ?? {},
          createdAt: now,
          updatedAt: now,
        })
        .run();
    },
    async listServices(filter = {}) {
      return db
        .select()
        .from(services)
        .where(filter.id !== undefined ? eq(services.id, filter.id) : undefined)
        .orderBy(asc(services.createdAt), asc(services.id))
        .all()
        .map(toServiceEntry);
    },
    updateServicePolicy: atomic(raw, (id: string, patch: ServicePatch, now: number) => {
      const row = db.select().from(services).where(eq(services.id, id)).get();
      if (!row) return null;
      const policy: Record<string, unknown> = { ...row.policy };
      for (const [field, value] of Object.entries(patch.policy)) if (value !== undefined) policy[field] = value;
      const settings: Record<string, unknown> = { ...row.settings };
      for (const [field, value] of Object.entries(patch.settings ?? {})) if (value !== undefined) settings[field] = value;
      const updated = db
        .update(services)
        .set({
          policy,
          settings,
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.route !== undefined ? { route: patch.route } : {}),
          ...(patch.countryRoutes !== undefined ? { countryRoutes: patch.countryRoutes } : {}),
          ...webhookColumns(patch.webhook),
          updatedAt: now,
        })
        .where(eq(services.id, id))
        .returning()
        .get();
      return updated ? toServiceEntry(updated) : null;
    }),
    async listApiKeys(filter = {}) {
      const where: SQL[] = [];
      if (filter.serviceId !== undefined) where.push(eq(apiKeys.serviceId, filter.serviceId));
      return db
        .select({
          id: apiKeys.id,
          serviceId: apiKeys.serviceId,
          label: apiKeys.label,
          prefix: apiKeys.prefix,
          createdAt: apiKeys.createdAt,
          revokedAt: apiKeys.revokedAt,
        })
        .from(apiKeys)
        .where(and(...where))
        .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
        .all() satisfies ApiKeyEntry[];
    },
    async revokeApiKey(id, now) {
      if (
        db
          .update(apiKeys)
          .set({ revokedAt: now })
          .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
          .run().changes
      )
        return true;
      return db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, id)).get() !== undefined;
    },
  };
}
