import { and, asc, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { ApiKey } from "../../core/model.js";
import type { ApiKeyEntry, ServiceStore } from "../../core/store/services.js";
import { toServiceEntry, toServiceRecord, webhookColumns } from "../rows.js";
import { type OpenedPg, rows } from "./open.js";
import { apiKeys, services } from "./schema.js";

/** Services and their API keys on PostgreSQL: what requests read, and the administration. */
export function createPgServiceStore({ db }: OpenedPg): ServiceStore {
  return {
    async getService(id) {
      const [r] = await db.select().from(services).where(eq(services.id, id));
      return r ? toServiceRecord(r) : null;
    },
    async ensureService(s, now) {
      const countryRoutes = s.countryRoutes ?? {};
      await db
        .insert(services)
        .values({ id: s.id, name: s.name, route: s.route, countryRoutes, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: services.id, set: { name: s.name, route: s.route, countryRoutes, updatedAt: now } });
    },

    async findApiKeyByHash(hash) {
      const [r] = await db.select().from(apiKeys).where(eq(apiKeys.secretHash, hash));
      return r ? ({ id: r.id, serviceId: r.serviceId, prefix: r.prefix, revokedAt: r.revokedAt } as ApiKey) : null;
    },
    async insertApiKey(k) {
      await db.insert(apiKeys).values({
        id: k.id,
        serviceId: k.serviceId,
        label: k.label,
        prefix: k.prefix,
        secretHash: k.secretHash,
        createdAt: k.createdAt,
      });
    },
    async countActiveAdminKeys() {
      const [r] = await rows<{ n: number }>(
        db,
        sql`select count(*)::int as n from api_keys where service_id is null and revoked_at is null`,
      );
      return r?.n ?? 0;
    },

    async createService(s, now) {
      await db.insert(services).values({
        id: s.id,
        name: s.name,
        policy: s.policy,
        route: s.route,
        countryRoutes: s.countryRoutes,
        ...webhookColumns(s.webhook),
        settings: s.settings ?? {},
        createdAt: now,
        updatedAt: now,
      });
    },
    async listServices(filter = {}) {
      const list = await db
        .select()
        .from(services)
        .where(filter.id !== undefined ? eq(services.id, filter.id) : undefined)
        .orderBy(asc(services.createdAt), asc(services.id));
      return list.map(toServiceEntry);
    },
    async updateServicePolicy(id, patch, now) {
      // jsonb `||` merges the set fields into the stored overrides in the same statement (JSON drops unset ones).
      const [updated] = await db
        .update(services)
        .set({
          policy: sql`${services.policy} || ${JSON.stringify(patch.policy)}::jsonb`,
          settings: sql`${services.settings} || ${JSON.stringify(patch.settings ?? {})}::jsonb`,
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.route !== undefined ? { route: patch.route } : {}),
          ...(patch.countryRoutes !== undefined ? { countryRoutes: patch.countryRoutes } : {}),
          ...webhookColumns(patch.webhook),
          updatedAt: now,
        })
        .where(eq(services.id, id))
        .returning();
      return updated ? toServiceEntry(updated) : null;
    },
    async listApiKeys(filter = {}) {
      const where: SQL[] = [];
      if (filter.serviceId !== undefined) where.push(eq(apiKeys.serviceId, filter.serviceId));
      return (await db
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
        .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))) satisfies ApiKeyEntry[];
    },
    async revokeApiKey(id, now) {
      const revoked = await db
        .update(apiKeys)
        .set({ revokedAt: now })
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id });
      if (revoked.length) return true;
      const [exists] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, id));
      return exists !== undefined;
    },
  };
}
