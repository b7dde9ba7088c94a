import { and, asc, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { ServiceStore } from "../../core/store/services.js";

type AdminOperations = Pick<
  ServiceStore,
  "createService" | "listServices" | "updateServicePolicy" | "listApiKeys" | "revokeApiKey"
>;

import type { ApiKeyEntry } from "../../core/store/services.js";
import { toServiceEntry, webhookColumns } from "../rows.js";
import type { PgDb } from "./open.js";
import { apiKeys, services } from "./schema.js";

/** The service and API key administration of the PostgreSQL Store. */
export function createPgAdminOperations(db: PgDb): AdminOperations {
  return {
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
